package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Open opens the store a URL names, creating or upgrading its schema:
//
//	sqlite:///abs/path.db        SQLite file at an absolute path
//	sqlite://rel/path.db         SQLite file relative to the working directory
//	sqlite:rel.db                the same
//	sqlite::memory:              a private in-memory SQLite database (tests)
//	postgres://user:pw@host/db   PostgreSQL (postgresql:// too); pgx's URL
//	                             parameters apply, e.g. sslmode, search_path,
//	                             connect_timeout (10 s when not given)
//
// Open fails when the database cannot be reached or is not a database;
// it never falls back to another store.
//
// A SQLite file serves one Chorus at a time: Open fails with ErrInUse while
// another store has it open (see OpenReader).
func Open(ctx context.Context, url string) (Store, error) {
	return open(ctx, url, false)
}

// OpenReader opens the store a URL names for reading beside the Chorus that
// uses it (tests, inspection): it takes no lock, changes no schema, and
// each of its writes fails.
func OpenReader(ctx context.Context, url string) (Store, error) {
	return open(ctx, url, true)
}

func open(ctx context.Context, url string, readOnly bool) (Store, error) {
	scheme, rest, ok := strings.Cut(url, ":")
	if !ok {
		return nil, fmt.Errorf("store: URL %q has no scheme (sqlite: or postgres:)", url)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		if p, ok := strings.CutPrefix(rest, "//"); ok {
			rest = p
		}
		return openSQLite(ctx, rest, readOnly)
	case "postgres", "postgresql":
		return openPostgres(ctx, url, readOnly)
	case "":
		return nil, errors.New("store: empty URL")
	}
	return nil, fmt.Errorf("store: unknown URL scheme %q (want sqlite: or postgres:)", scheme)
}
