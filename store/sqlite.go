package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"modernc.org/sqlite"
)

// SQLite settings, applied to every connection through the DSN:
//
//   - WAL lets readers run beside the one writer.
//   - synchronous=FULL: in WAL mode NORMAL syncs only at checkpoints, so a
//     committed transaction can be lost on power failure; FULL syncs the WAL
//     at every commit, which is what "nil means durable" requires. Group
//     commit (see sqliteWriter) spreads that fsync over concurrent writes.
//   - busy_timeout covers another process on the same file (and checkpoints);
//     within this process writes never compete, they go through one
//     connection.
//   - _txlock=immediate takes the write lock at BEGIN, so a transaction never
//     fails to upgrade from reading to writing halfway.
//   - The writer's page cache is 64 MiB (against 2 MiB by default): an
//     append touches pages of five indexes, which would otherwise be read
//     back from the file again and again.
const (
	sqliteBusyMS   = "10000"
	sqliteWriteDSN = "_busy_timeout=" + sqliteBusyMS + "&_journal_mode=WAL&_synchronous=FULL" +
		"&_foreign_keys=1&_txlock=immediate&_pragma=cache_size(-65536)"
	sqliteReadDSN = "_busy_timeout=" + sqliteBusyMS + "&_foreign_keys=1&_query_only=1"
	sqliteMemDSN  = "mode=memory&cache=shared&_busy_timeout=" + sqliteBusyMS +
		"&_foreign_keys=1&_txlock=immediate"
)

var memCount atomic.Int64

// sqliteDriver opens connections without going through database/sql's
// registry, so that nothing depends on the name the driver registers.
var sqliteDriver = &sqlite.Driver{}

type dsnConnector struct{ dsn string }

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return sqliteDriver.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return sqliteDriver }

// ErrInUse is the error of opening a SQLite database that another Chorus
// (or another store of this process) has open: SQLite serves one instance
// only, and two writing the same rooms would undo each other's changes.
var ErrInUse = errors.New("another Chorus is using this database; stop it first, or give this one a database of its own")

// errReadOnly is the error of every write of a store opened by OpenReader.
var errReadOnly = errors.New("store: opened for reading only")

// openSQLite opens the database at path, or a fresh private in-memory one
// for ":memory:". Unless readOnly, it holds the lock file <path>.lock
// until Close, so that a second Chorus on the same file refuses to start.
func openSQLite(ctx context.Context, path string, readOnly bool) (Store, error) {
	if path == ":memory:" {
		if readOnly {
			return nil, errors.New("store: a new memory database has nothing to read")
		}
		return openSQLiteMemory(ctx)
	}
	if path == "" {
		return nil, errors.New("store: sqlite URL without a path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", path, err)
	}
	s, err := openSQLitePath(ctx, abs, readOnly)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite %s: %w", abs, err)
	}
	return s, nil
}

func openSQLitePath(ctx context.Context, abs string, readOnly bool) (_ *sqlStore, err error) {
	// A file: URI escapes whatever the path holds ('?', '#', '%').
	uri := (&url.URL{Scheme: "file", Path: abs}).String()
	var closers []func() error // in the order of opening
	closeAll := func() error {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i]())
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			closeAll()
		}
	}()

	reader := func() *sql.DB {
		r := sql.OpenDB(dsnConnector{uri + "?" + sqliteReadDSN})
		n := max(4, runtime.GOMAXPROCS(0))
		r.SetMaxOpenConns(n)
		r.SetMaxIdleConns(n)
		closers = append(closers, r.Close)
		return r
	}
	if readOnly {
		// A reader must not create the database it is to read.
		if _, err := os.Stat(abs); err != nil {
			return nil, err
		}
		r := reader()
		if err := r.PingContext(ctx); err != nil {
			return nil, err
		}
		return &sqlStore{
			db:       r,
			bytewise: sqliteDialect.bytewise,
			write:    func(context.Context, txFunc) error { return errReadOnly },
			closeFn:  closeAll,
		}, nil
	}

	lock, err := lockFile(abs + ".lock")
	if err != nil {
		return nil, err
	}
	if lock != nil {
		closers = append(closers, lock.Close)
	}
	r := reader()
	w := sql.OpenDB(dsnConnector{uri + "?" + sqliteWriteDSN})
	closers = append(closers, w.Close)
	// SQLite has one writer at a time; one connection makes that explicit
	// and lets the writer batch (see sqliteWriter).
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		return nil, err
	}
	if err := migrate(ctx, w, sqliteDialect); err != nil {
		return nil, err
	}
	if err := r.PingContext(ctx); err != nil {
		return nil, err
	}
	return newSQLiteStore(ctx, r, w, closeAll)
}

// openSQLiteMemory opens a shared-cache in-memory database. Its one pool has
// one connection, used for both reading and writing: in shared-cache mode a
// reader would otherwise meet table locks of the writer (SQLITE_LOCKED,
// which busy_timeout does not wait out). A second connection, never used,
// keeps the database alive should the pool ever drop its connection.
func openSQLiteMemory(ctx context.Context) (Store, error) {
	dsn := fmt.Sprintf("file:chorus-memory-%d?%s", memCount.Add(1), sqliteMemDSN)
	keep, err := sqliteDriver.Open(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite memory: %w", err)
	}
	db := sql.OpenDB(dsnConnector{dsn})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := migrate(ctx, db, sqliteDialect); err != nil {
		db.Close()
		keep.Close()
		return nil, fmt.Errorf("store: sqlite memory: %w", err)
	}
	s, err := newSQLiteStore(ctx, db, db, func() error {
		return errors.Join(db.Close(), keep.Close())
	})
	if err != nil {
		db.Close()
		keep.Close()
		return nil, fmt.Errorf("store: sqlite memory: %w", err)
	}
	return s, nil
}

func newSQLiteStore(ctx context.Context, r, w *sql.DB, closeDBs func() error) (*sqlStore, error) {
	// Prepared before the writer starts: once it holds the one connection
	// in a transaction, preparing on the pool would wait for it forever.
	prepared := map[string]*sql.Stmt{}
	closeStmts := func() {
		for _, st := range prepared {
			st.Close()
		}
	}
	for _, q := range preparedWrites() {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			closeStmts()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		prepared[q] = st
	}
	s := &sqlStore{db: r, prepared: prepared, anonInsert: true, bytewise: sqliteDialect.bytewise}
	wr := newSQLiteWriter(w, s.exec)
	s.sqlite = wr
	s.write = wr.write
	s.closeFn = func() error {
		wr.close()
		closeStmts()
		return closeDBs()
	}
	return s, nil
}

// The statements of group commit.
const (
	qSavepoint  = "SAVEPOINT w"
	qRelease    = "RELEASE w"
	qRollbackTo = "ROLLBACK TO w"
)

// sqliteWriter performs all writes of a SQLite store on its one writing
// connection, from one goroutine. Writes that queue up while a transaction
// runs are then committed together, each inside its own savepoint: one
// fsync for all of them, and still all-or-nothing for each caller.
type sqliteWriter struct {
	db   *sql.DB
	exec func(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error)
	reqs chan *writeReq
	quit chan struct{}
	done chan struct{}
	// commits counts transactions, for tests of grouping.
	commits atomic.Int64
}

type writeReq struct {
	ctx  context.Context
	fn   txFunc
	done chan error
}

// maxGroup bounds the writes committed together, so that a long queue does
// not make the first of them wait for all.
const maxGroup = 64

var errClosed = errors.New("store: closed")

func newSQLiteWriter(db *sql.DB, exec func(context.Context, *sql.Tx, string, ...any) (sql.Result, error)) *sqliteWriter {
	w := &sqliteWriter{
		db:   db,
		exec: exec,
		reqs: make(chan *writeReq),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go w.run()
	return w
}

// write hands fn to the writer and waits for its outcome. Once the writer
// has taken it, the call waits for the commit whatever ctx does, so that an
// error always means the change was not made (short of a failing commit).
func (w *sqliteWriter) write(ctx context.Context, fn txFunc) error {
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errClosed
	}
	return <-req.done
}

func (w *sqliteWriter) close() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	<-w.done
}

func (w *sqliteWriter) run() {
	defer close(w.done)
	group := make([]*writeReq, 0, maxGroup)
	for {
		select {
		case req := <-w.reqs:
			group = append(group[:0], req)
		case <-w.quit:
			return
		}
	collect:
		for len(group) < maxGroup {
			select {
			case req := <-w.reqs:
				group = append(group, req)
			default:
				break collect
			}
		}
		w.commit(group)
	}
}

// commit runs a group of writes in one transaction.
func (w *sqliteWriter) commit(group []*writeReq) {
	live := group[:0]
	for _, req := range group {
		if err := req.ctx.Err(); err != nil {
			req.done <- err
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	fail := func(err error) {
		for _, req := range live {
			req.done <- err
		}
	}
	// The statements run to completion once started: cancelling one
	// caller's context must not interrupt a transaction shared with others.
	w.commits.Add(1)
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		fail(err)
		return
	}
	if len(live) == 1 {
		req := live[0]
		if err := req.fn(context.WithoutCancel(req.ctx), tx); err != nil {
			tx.Rollback()
			req.done <- err
			return
		}
		req.done <- tx.Commit()
		return
	}
	errs := make([]error, len(live))
	for i, req := range live {
		ctx := context.WithoutCancel(req.ctx)
		if _, err := w.exec(ctx, tx, qSavepoint); err != nil {
			tx.Rollback()
			fail(err)
			return
		}
		errs[i] = req.fn(ctx, tx)
		var err error
		if errs[i] != nil {
			_, err = w.exec(ctx, tx, qRollbackTo)
		}
		if err == nil {
			_, err = w.exec(ctx, tx, qRelease)
		}
		if err != nil {
			// The transaction itself is gone (an I/O error, say):
			// nobody's write is in.
			tx.Rollback()
			fail(errors.Join(errs[i], err))
			return
		}
	}
	commitErr := tx.Commit()
	for i, req := range live {
		if errs[i] != nil {
			req.done <- errs[i]
		} else {
			req.done <- commitErr
		}
	}
}
