package store

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOpenBadURL(t *testing.T) {
	for _, u := range []string{"", "nothing", "mysql://u@h/db", "file:///tmp/x.db", "sqlite:", "sqlite://"} {
		s, err := Open(ctx, u)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	for _, u := range []string{
		"postgres://chorus:secret@127.0.0.1:1/chorus?sslmode=disable",
		"postgresql://chorus:secret@127.0.0.1:1/chorus?connect_timeout=2",
	} {
		s, err := Open(ctx, u)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error shows the password: %v", err)
		}
		t.Logf("%v", err)
	}
	// A server that never answers (the kernel completes the handshake, no
	// one reads): Open, with no deadline of its own, gives up because of
	// connect_timeout (go test's -timeout would catch a hang).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := Open(context.Background(), "postgres://u:secret@"+ln.Addr().String()+"/x?sslmode=disable&connect_timeout=1")
	if err == nil {
		s.Close()
		t.Fatal("Open of a server that never answers succeeded")
	}
	if !isTimeout(err) {
		t.Errorf("Open of a server that never answers: %v, want a timeout", err)
	}
	if _, err := Open(ctx, "postgres://u:secret@[::1/x"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad postgres URL: %v", err)
	}
}

// isTimeout reports whether err ends a connection attempt that ran out of
// time.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// TestPostgresConnectTimeout checks that every connection attempt is
// bounded: by connect_timeout when the URL sets it, else pgConnectTimeout.
func TestPostgresConnectTimeout(t *testing.T) {
	for i, tc := range [...]struct {
		url  string
		want time.Duration
	}{
		0: {"postgres://u@h/db", pgConnectTimeout},
		1: {"postgres://u@h/db?connect_timeout=1", time.Second},
		2: {"postgres://u@h/db?sslmode=disable&connect_timeout=30", 30 * time.Second},
	} {
		cfg, err := pgConfig(tc.url)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if cfg.ConnectTimeout != tc.want {
			t.Errorf("%d: connect timeout %v, want %v", i, cfg.ConnectTimeout, tc.want)
		}
	}
}

func TestOpenCorruptSQLite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "garbage.db")
	garbage := []byte(strings.Repeat("this is not an SQLite database\x00\xff", 200))
	if err := os.WriteFile(p, garbage, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, "sqlite://"+p)
	if err == nil {
		s.Close()
		t.Fatal("Open of a garbage file succeeded")
	}
	t.Logf("%v", err)
	if b, _ := os.ReadFile(p); string(b) != string(garbage) {
		t.Error("garbage file changed")
	}

	// Neither a directory nor a missing directory is a database.
	if s, err := Open(ctx, "sqlite://"+dir); err == nil {
		s.Close()
		t.Error("Open of a directory succeeded")
	}
	if s, err := Open(ctx, "sqlite://"+filepath.Join(dir, "no", "such.db")); err == nil {
		s.Close()
		t.Error("Open in a missing directory succeeded")
	}
}

func TestOpenSQLiteURLForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("sub", 0o700); err != nil {
		t.Fatal(err)
	}
	for u, file := range map[string]string{
		"sqlite://" + filepath.Join(dir, "abs.db"): "abs.db",
		"sqlite://sub/rel.db":                      "sub/rel.db",
		"sqlite:plain.db":                          "plain.db",
		"SQLite:odd name?#%.db":                    "odd name?#%.db",
	} {
		s := mustOpen(t, u)
		must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "r@muc"}))
		must(t, s.Close())
		if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestOpenMemoryPrivate(t *testing.T) {
	a, b := openSQLiteMem(t), openSQLiteMem(t)
	must(t, a.UpdateRoom(ctx, RoomUpdate{JID: "r@muc"}))
	if st := load(t, b, "r@muc"); st != nil {
		t.Fatal("two memory stores share a database")
	}
}

// TestReopen opens one file twice: the migrations run once, and what the
// first store made durable is there for the second.
func TestReopen(t *testing.T) {
	u := "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")
	s := mustOpen(t, u)
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "r@muc", SetAffiliations: []Affiliation{{JID: "o@x", Affiliation: "owner"}}}))
	must(t, s.Append(ctx, msgs("r@muc", 0, 10)))
	must(t, s.Close())

	s = mustOpen(t, u)
	if st := load(t, s, "r@muc"); st == nil || len(st.Affiliations) != 1 {
		t.Fatalf("room after reopen: %+v", st)
	}
	equal(t, "archive after reopen", ids(query(t, s, Query{Room: "r@muc"}).Messages), ids(msgs("r@muc", 0, 10)))
	var n, v int
	must(t, s.(*sqlStore).db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &v))
	equal(t, "migrations", n, v)
	equal(t, "schema version", v, schemaVersion())

	// The settings durability depends on are in force.
	w := s.(*sqlStore)
	var mode string
	must(t, w.db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
	equal(t, "journal_mode", mode, "wal")
	must(t, s.Close())
}

func TestSQLitePragmas(t *testing.T) {
	p := filepath.Join(t.TempDir(), "chorus.db")
	s := mustOpen(t, "sqlite://"+p)
	wr := make(chan [3]int, 1)
	// Read the writer connection's settings through the writer itself.
	must(t, s.(*sqlStore).write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var r [3]int
		for i, p := range []string{"synchronous", "foreign_keys", "busy_timeout"} {
			if err := tx.QueryRowContext(ctx, "PRAGMA "+p).Scan(&r[i]); err != nil {
				return err
			}
		}
		wr <- r
		return nil
	}))
	equal(t, "synchronous, foreign_keys, busy_timeout", <-wr, [3]int{2, 1, 10000})
}

func TestNewerSchemaRefused(t *testing.T) {
	u := "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")
	s := mustOpen(t, u)
	must(t, s.(*sqlStore).write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES (9999, 0)`)
		return err
	}))
	must(t, s.Close())
	if s, err := Open(ctx, u); err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	} else {
		t.Logf("%v", err)
	}
}

func TestClosed(t *testing.T) {
	s, err := Open(ctx, "sqlite::memory:")
	must(t, err)
	must(t, s.Close())
	must(t, s.Close())
	done := make(chan error, 1)
	go func() { done <- s.Append(context.Background(), msgs("r@muc", 0, 1)) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Append after Close succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Append after Close hangs")
	}
}

func TestPostgresReopen(t *testing.T) {
	u := pgSchemaURL(t)
	s := mustOpen(t, u)
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "r@muc"}))
	must(t, s.Close())
	// Two at once: the migration lock keeps them from applying a step twice.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			s, err := Open(context.Background(), u)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	must(t, <-errs)
	must(t, <-errs)
	s = mustOpen(t, u)
	if st := load(t, s, "r@muc"); st == nil {
		t.Fatal("room lost")
	}
}

func TestPostgresFreshConcurrentMigrate(t *testing.T) {
	u := pgSchemaURL(t)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := Open(context.Background(), u)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 3 {
		must(t, <-errs)
	}
}

// TestSQLiteGroupCommit holds the writer busy while writes queue up, then
// checks that they went in together and that a failing one among them took
// only itself down.
func TestSQLiteGroupCommit(t *testing.T) {
	for _, b := range []struct {
		name string
		open opener
	}{{"file", openSQLiteFile}, {"memory", openSQLiteMem}} {
		t.Run(b.name, func(t *testing.T) {
			s := b.open(t).(*sqlStore)
			must(t, s.Append(ctx, msgs("r@muc", 0, 1)))
			release := make(chan struct{})
			blocked := make(chan error, 1)
			go func() {
				blocked <- s.write(ctx, func(context.Context, *sql.Tx) error {
					<-release
					return nil
				})
			}()
			for s.sqlite.commits.Load() < 2 {
				time.Sleep(time.Millisecond)
			}
			before := s.sqlite.commits.Load()

			const n = 20
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					if i%4 == 3 {
						errs[i] = s.Append(ctx, []Message{msg("r@muc", 100+i), msg("r@muc", 0)})
						return
					}
					errs[i] = s.Append(ctx, []Message{msg("r@muc", 100+i)})
				})
			}
			time.Sleep(200 * time.Millisecond) // let them all queue
			close(release)
			must(t, <-blocked)
			wg.Wait()

			stored := 1
			for i, err := range errs {
				if (err != nil) != (i%4 == 3) {
					t.Errorf("write %d: %v", i, err)
				}
				if err == nil {
					stored++
				}
			}
			p := query(t, s, Query{Room: "r@muc", Max: 1000})
			equal(t, "stored", len(p.Messages), stored)
			if c := s.sqlite.commits.Load() - before; c >= n {
				t.Errorf("%d writes took %d transactions", n, c)
			} else {
				t.Logf("%d writes took %d transactions", n, c)
			}
		})
	}
}

// schemaVersion is the version the embedded migrations lead to.
func schemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// TestSQLiteSingleInstance: a second store on one SQLite file is refused
// while the first is open, with an error that says why; a reader may look
// beside it.
func TestSQLiteSingleInstance(t *testing.T) {
	p := filepath.Join(t.TempDir(), "chorus.db")
	u := "sqlite://" + p
	s := mustOpen(t, u)
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "r@muc"}))

	s2, err := Open(ctx, u)
	if err == nil {
		s2.Close()
		t.Fatal("a second Open of the same file succeeded")
	}
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "another Chorus is using this database") ||
		!strings.Contains(err.Error(), p) {
		t.Fatalf("second Open: %v", err)
	}
	t.Log(err)

	r, err := OpenReader(ctx, u)
	must(t, err)
	if st := load(t, r, "r@muc"); st == nil {
		t.Error("the reader does not see the room")
	}
	if err := r.UpdateRoom(ctx, RoomUpdate{JID: "x@muc"}); err == nil {
		t.Error("the reader wrote")
	}
	must(t, r.Close())
	if _, err := OpenReader(ctx, "sqlite://"+filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Error("a reader opened a database that does not exist")
	}

	// Once the first is closed, the file is free again.
	must(t, s.Close())
	s2 = mustOpen(t, u)
	if st := load(t, s2, "r@muc"); st == nil {
		t.Error("room lost")
	}
}
