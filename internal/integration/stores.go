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

// Backend is a store URL for one test, on a fresh database.
type Backend struct {
	Name string
	URL  string
}

// Backends returns the stores a persistence test runs against: SQLite
// always, PostgreSQL when CHORUS_TEST_POSTGRES is set (required under
// CI=true). Each gets a fresh database: a file, or a schema of its own.
func Backends(t *testing.T) []Backend {
	t.Helper()
	bs := []Backend{{Name: "sqlite", URL: "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")}}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the persistence tests on PostgreSQL too", PostgresEnv)
		}
		t.Logf("PostgreSQL persistence tests skipped: set %s=postgres://...", PostgresEnv)
		return bs
	}
	return append(bs, Backend{Name: "postgres", URL: freshSchema(t, base)})
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
			t.Fatalf("postgres: %v", err)
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
