package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// pgConnectTimeout bounds one connection attempt when the URL does not set
// connect_timeout, so that an unreachable server fails Open instead of
// hanging it.
const pgConnectTimeout = 10 * time.Second

func openPostgres(ctx context.Context, rawURL string, readOnly bool) (Store, error) {
	cfg, err := pgConfig(rawURL)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)

	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	s := &pgStore{
		sqlStore: &sqlStore{db: db, bytewise: postgresDialect.bytewise, closeFn: db.Close},
		config:   cfg,
	}
	if readOnly {
		s.readOnly = true
		s.write = func(context.Context, txFunc) error { return errReadOnly }
		return s, nil
	}
	if err := migrate(ctx, db, postgresDialect); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", where, err)
	}
	s.write = func(ctx context.Context, fn txFunc) error { return pgWrite(ctx, db, s.fenced(fn)) }
	return s, nil
}

// pgStore is the PostgreSQL store: the shared SQL, and the leases of a hot
// standby (Leaser).
type pgStore struct {
	*sqlStore
	// config is the store's connection configuration, for the dedicated
	// connection of a lease.
	config *pgx.ConnConfig
	// readOnly is set for OpenReader's store, which takes no lease: its
	// generation would fence the active instance.
	readOnly bool
	// fence, when set, is the generation every write must still find
	// (Fence).
	fence atomic.Pointer[fence]
}

// pgConfig parses a postgres URL, bounding each connection attempt by
// pgConnectTimeout unless the URL sets connect_timeout.
func pgConfig(rawURL string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// pgx masks the password in its message.
		return nil, fmt.Errorf("store: bad postgres URL: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = pgConnectTimeout
	}
	return cfg, nil
}

// pgRetries is how often a transaction that lost a deadlock or a
// serialization conflict is tried again; both leave nothing applied.
const pgRetries = 3

func pgWrite(ctx context.Context, db *sql.DB, fn txFunc) error {
	var err error
	for range pgRetries {
		if err = pgWriteOnce(ctx, db, fn); !retryable(err) {
			return err
		}
	}
	return err
}

func pgWriteOnce(ctx context.Context, db *sql.DB, fn txFunc) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	return false
}
