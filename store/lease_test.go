package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgQuery returns the one integer sql answers on a connection of its own.
func pgQuery(t testing.TB, u, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	pgRun(t, u, func(ctx context.Context, c *pgx.Conn) error {
		if err := c.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
		return nil
	})
	return n
}

// waitLockWaiter returns once a connection waits for the domain's lease
// lock, or with waiting false once none does; the timeout only bounds a
// wait that would otherwise never end.
func waitLockWaiter(t *testing.T, u, domain string, waiting bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for (pgQuery(t, u, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
		AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = `+qLeaseKey, domain) > 0) != waiting {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for the lock is still %v", !waiting)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type acquired struct {
	l   *Lease
	err error
}

func acquireAsync(s Store, domain string) chan acquired {
	ch := make(chan acquired, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l, err := s.(Leaser).Acquire(ctx, domain)
		ch <- acquired{l, err}
	}()
	return ch
}

func mustAcquire(t *testing.T, s Store, domain string) *Lease {
	t.Helper()
	a := <-acquireAsync(s, domain)
	must(t, a.err)
	t.Cleanup(func() { a.l.Release() })
	return a.l
}

func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: not closed", what)
	}
}

// TestPostgresLeaseWaits: a second Acquire of a domain waits for the first
// lease's Release, then takes the next generation.
func TestPostgresLeaseWaits(t *testing.T) {
	u := pgSchemaURL(t)
	a, b := mustOpen(t, u), mustOpen(t, u)
	const domain = "muc.example"
	l1 := mustAcquire(t, a, domain)
	equal(t, "first generation", l1.Generation, int64(1))

	second := acquireAsync(b, domain)
	waitLockWaiter(t, u, domain, true)
	select {
	case got := <-second:
		t.Fatalf("second Acquire did not wait: %+v", got)
	default:
	}
	// Another domain is not held up.
	mustAcquire(t, b, "other.example").Release()

	must(t, l1.Release())
	waitClosed(t, "Lost after Release", l1.Lost())
	var got acquired
	select {
	case got = <-second:
	case <-time.After(30 * time.Second):
		t.Fatal("second Acquire still waits after Release")
	}
	must(t, got.err)
	defer got.l.Release()
	equal(t, "second generation", got.l.Generation, l1.Generation+1)
	select {
	case <-got.l.Lost():
		t.Fatalf("new lease lost: %v", got.l.Err())
	default:
	}
	// The released instance's store was not taken over by anyone else
	// but b: its writes are fenced, b's land.
	if err := a.UpdateRoom(ctx, RoomUpdate{JID: "r@muc"}); !errors.Is(err, ErrFenced) {
		t.Errorf("write of the released instance: %v", err)
	}
	must(t, b.UpdateRoom(ctx, RoomUpdate{JID: "r@muc"}))
}

// TestPostgresAcquireCancel: a cancelled Acquire leaves nothing behind that
// holds the lock.
func TestPostgresAcquireCancel(t *testing.T) {
	u := pgSchemaURL(t)
	a, b := mustOpen(t, u), mustOpen(t, u)
	const domain = "muc.example"
	l1 := mustAcquire(t, a, domain)
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.(Leaser).Acquire(cctx, domain)
		done <- err
	}()
	waitLockWaiter(t, u, domain, true)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire: %v", err)
	}
	// The server stopped waiting too: nothing would take the lock for a
	// moment once it comes free.
	waitLockWaiter(t, u, domain, false)
	must(t, l1.Release())
	l2 := mustAcquire(t, b, domain)
	equal(t, "generation after a cancelled wait", l2.Generation, int64(2))
}

// TestPostgresTakeover: the active instance's connection is cut; its lease
// is reported lost, the standby takes over, and from then on the database
// refuses every write of the old instance while the new one's land.
func TestPostgresTakeover(t *testing.T) {
	u := pgSchemaURL(t)
	a, b := mustOpen(t, u), mustOpen(t, u)
	const domain = "muc.example"
	l1 := mustAcquire(t, a, domain)
	must(t, a.UpdateRoom(ctx, RoomUpdate{JID: "old@muc"}))
	must(t, a.Append(ctx, msgs("old@muc", 0, 1)))

	standby := acquireAsync(b, domain)
	waitLockWaiter(t, u, domain, true)

	// From a third connection, as a failing network or an operator would.
	start := time.Now()
	equal(t, "terminated", pgQuery(t, u, `SELECT COUNT(*) FROM pg_terminate_backend($1) WHERE pg_terminate_backend`,
		int32(l1.conn.PgConn().PID())), int64(1))
	waitClosed(t, "Lost after the backend ended", l1.Lost())
	t.Logf("lease lost %v after the backend was terminated: %v", time.Since(start).Round(time.Millisecond), l1.Err())
	if l1.Err() == nil || errors.Is(l1.Err(), errReleased) {
		t.Errorf("Err of a lost lease: %v", l1.Err())
	}
	got := <-standby
	must(t, got.err)
	defer got.l.Release()
	equal(t, "standby's generation", got.l.Generation, int64(2))

	live := a.(LiveStore)
	for name, write := range map[string]func(Store) error{
		"UpdateRoom": func(s Store) error { return s.UpdateRoom(ctx, RoomUpdate{JID: "old@muc", Data: []byte(`{}`)}) },
		"DeleteRoom": func(s Store) error { return s.DeleteRoom(ctx, "old@muc", &Tombstone{Until: t0}) },
		"Append":     func(s Store) error { return s.Append(ctx, msgs("old@muc", 1, 3)) },
		"Replace": func(s Store) error {
			_, err := s.Replace(ctx, "old@muc", msg("old@muc", 0).ID, []byte("<x/>"))
			return err
		},
		"Expire": func(s Store) error {
			_, err := s.Expire(ctx, time.Now())
			return err
		},
		"SaveLive": func(s Store) error {
			return s.(LiveStore).SaveLive(ctx, []LiveRoom{liveRoom("old@muc", false, 1)}, nil)
		},
	} {
		if err := write(a); !errors.Is(err, ErrFenced) {
			t.Errorf("%s through the old instance: %v, want ErrFenced", name, err)
		}
		if err := write(b); err != nil {
			t.Errorf("%s through the new instance: %v", name, err)
		}
	}
	// What the old instance tried is not there; the new one's is.
	rooms, err := live.LoadLive(ctx)
	must(t, err)
	equal(t, "live state", rooms, []LiveRoom{liveRoom("old@muc", false, 1)})

	// Fence(…, 0) lifts the fence: a store without a lease writes as
	// a single instance does.
	a.(Leaser).Fence(domain, 0)
	must(t, a.UpdateRoom(ctx, RoomUpdate{JID: "free@muc"}))

	// A reader takes no lease: its generation would fence the active one.
	r, err := OpenReader(ctx, u)
	must(t, err)
	defer r.Close()
	if _, err := r.(Leaser).Acquire(ctx, domain); !errors.Is(err, errReadOnly) {
		t.Errorf("Acquire through a reader: %v", err)
	}
}
