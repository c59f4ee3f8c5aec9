package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrFenced is the error of a write refused because another instance has
// taken over the domain since this store's lease began (Acquire, Fence):
// the write did not happen, and this instance must stop serving the domain.
var ErrFenced = errors.New("store: fenced: another instance has taken over the domain")

// Leaser is what the PostgreSQL store adds for a hot standby: several
// Chorus instances may run for one domain on one PostgreSQL, exactly one
// of them active. A SQLite store is no Leaser: it serves one instance only
// (see ErrInUse).
type Leaser interface {
	// Acquire waits until this instance may be the domain's active one:
	// it holds a PostgreSQL session-level advisory lock keyed by the domain
	// on a connection of its own, and bumps the domain's generation in
	// the leader table. From then on every write of the store must find
	// that generation still there (Fence), so that the writes of an
	// instance taken over are refused by the database. ctx ends the wait.
	Acquire(ctx context.Context, domain string) (*Lease, error)
	// Fence makes every later write of the store run only while the
	// domain's generation is still generation, failing with ErrFenced
	// otherwise; generation 0 lifts the fence. Acquire sets it.
	Fence(domain string, generation int64)
}

var _ Leaser = (*pgStore)(nil)

// Lease is the active role for a domain, held by one connection.
type Lease struct {
	Domain string
	// Generation counts the leases of the domain, 1 for the first.
	Generation int64

	conn *pgx.Conn
	// stop ends the watch; done is closed when it has ended.
	stop context.CancelFunc
	done chan struct{}

	lostOnce sync.Once
	lost     chan struct{}
	err      error // why it was lost, set before lost is closed

	releaseOnce sync.Once
	releaseErr  error
}

// Lost is closed once the lease is no longer held: its connection failed
// (a takeover may follow at once), or Release.
func (l *Lease) Lost() <-chan struct{} { return l.lost }

// Err tells why the lease was lost, once Lost is closed.
func (l *Lease) Err() error {
	select {
	case <-l.lost:
		return l.err
	default:
		return nil
	}
}

var errReleased = errors.New("store: lease released")

func (l *Lease) markLost(err error) {
	l.lostOnce.Do(func() {
		l.err = err
		close(l.lost)
	})
}

// Release gives the lease up: a waiting Acquire elsewhere gets it. The
// store's fence stays, harmless until another instance takes over.
func (l *Lease) Release() error {
	l.releaseOnce.Do(func() {
		l.stop()
		<-l.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		select {
		case <-l.lost:
		default:
			// Unlocked before the connection goes, so that the next
			// instance need not wait for the server to end the session.
			_, err = l.conn.Exec(ctx, `SELECT pg_advisory_unlock(`+qLeaseKey+`)`, l.Domain)
		}
		l.releaseErr = errors.Join(err, l.conn.Close(ctx))
		l.markLost(errReleased)
	})
	return l.releaseErr
}

// qLeaseKey is the advisory lock key of a domain ($1): 64 bits of a hash of
// the domain and the schema, so that deployments in two schemas of one
// database stay apart.
const qLeaseKey = `hashtextextended('chorus:' || COALESCE(current_schema(), '') || ':' || $1, 0)`

const qBumpGeneration = `INSERT INTO leader (domain, generation) VALUES ($1, 1)
	ON CONFLICT (domain) DO UPDATE SET generation = leader.generation + 1
	RETURNING generation`

// How the connection of a lease is watched: waiting on it shows at once a
// backend that ended (the server reports it or closes the socket); a probe
// after each quiet second shows a server that no longer answers.
const (
	leaseQuiet        = time.Second
	leaseProbeTimeout = 2 * time.Second
)

func (s *pgStore) Acquire(ctx context.Context, domain string) (*Lease, error) {
	if domain == "" {
		return nil, errors.New("store: acquire: empty domain")
	}
	if s.readOnly {
		return nil, errReadOnly
	}
	conn, err := pgx.ConnectConfig(ctx, s.config.Copy())
	if err != nil {
		return nil, fmt.Errorf("store: acquire %s: %w", domain, err)
	}
	gen, err := lead(ctx, conn, domain)
	if err != nil {
		// A cancelled wait goes on in the server until told, and would
		// take the lock for a moment when it comes free.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.PgConn().CancelRequest(cctx)
		conn.Close(cctx)
		return nil, fmt.Errorf("store: acquire %s: %w", domain, err)
	}
	watch, stop := context.WithCancel(context.Background())
	l := &Lease{Domain: domain, Generation: gen, conn: conn, stop: stop,
		done: make(chan struct{}), lost: make(chan struct{})}
	s.Fence(domain, gen)
	go func() {
		defer close(l.done)
		if err := watchLease(watch, conn); watch.Err() == nil {
			l.markLost(fmt.Errorf("store: lease of %s lost: %w", domain, err))
		}
	}()
	return l, nil
}

// lead takes the domain's lock on conn, waiting for it, and bumps its
// generation. The bump waits for the writes of the previous holder still
// under way (they hold the leader row FOR SHARE); any later one of them
// finds the new generation and is fenced.
func lead(ctx context.Context, conn *pgx.Conn, domain string) (int64, error) {
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+qLeaseKey+`)`, domain); err != nil {
		return 0, err
	}
	var gen int64
	err := conn.QueryRow(ctx, qBumpGeneration, domain).Scan(&gen)
	return gen, err
}

// watchLease returns why conn failed, or nil once ctx ends.
func watchLease(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, leaseQuiet)
		err := conn.PgConn().WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, leaseProbeTimeout)
		_, err = conn.Exec(pctx, `SELECT 1`)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

type fence struct {
	domain     string
	generation int64
}

func (s *pgStore) Fence(domain string, generation int64) {
	if generation == 0 {
		s.fence.Store(nil)
		return
	}
	s.fence.Store(&fence{domain, generation})
}

// qFence reads the domain's generation and keeps it from changing until the
// transaction ends: a takeover's bump waits for the write to commit, and a
// write that starts after the bump sees the new generation.
const qFence = `SELECT generation FROM leader WHERE domain = $1 FOR SHARE`

// fenced runs fn only while the store's fence holds: first in the
// transaction, the generation is checked under a lock.
func (s *pgStore) fenced(fn txFunc) txFunc {
	return func(ctx context.Context, tx *sql.Tx) error {
		if f := s.fence.Load(); f != nil {
			var gen int64
			err := tx.QueryRowContext(ctx, qFence, f.domain).Scan(&gen)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return ErrFenced
			case err != nil:
				return err
			case gen != f.generation:
				return ErrFenced
			}
		}
		return fn(ctx, tx)
	}
}
