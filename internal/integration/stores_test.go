package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the variable holding a PostgreSQL URL for tests.
const PostgresEnv = "CHORUS_TEST_POSTGRES"

// Backend is a store a persistence test runs against.
type Backend struct {
	Name  string
	fresh func(t *testing.T) string
}

// URL returns a fresh database for the calling (sub)test: a file, or a
// schema of its own. Call it once per test, before starting anything else:
// where the backend is missing it skips the test with the reason, or fails
// it under CI=true (the rule of require).
func (b Backend) URL(t *testing.T) string {
	t.Helper()
	return b.fresh(t)
}

// Backends returns the stores a persistence test runs against, SQLite and
// PostgreSQL (CHORUS_TEST_POSTGRES), each to be run as a subtest.
func Backends(t *testing.T) []Backend {
	t.Helper()
	return []Backend{
		{Name: "sqlite", fresh: func(t *testing.T) string {
			return "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")
		}},
		{Name: "postgres", fresh: func(t *testing.T) string {
			t.Helper()
			base := os.Getenv(PostgresEnv)
			if base == "" {
				require(t, fmt.Errorf("PostgreSQL persistence tests skipped: set %s=postgres://...", PostgresEnv))
			}
			return freshSchema(t, base)
		}},
	}
}

// freshSchema makes a schema dropped when the test ends and returns base
// with that schema first on its search path.
func freshSchema(t *testing.T, base string) string {
	b := make([]byte, 6)
	rand.Read(b)
	schema := "chorus_it_" + hex.EncodeToString(b)
	exec := func(sql string) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			require(t, fmt.Errorf("PostgreSQL persistence tests skipped: %s unreachable: %w", PostgresEnv, err))
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatalf("postgres: %s: %v", sql, err)
		}
	}
	exec("CREATE SCHEMA " + schema)
	t.Cleanup(func() { exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return fmt.Sprint(u)
}
