// Package store keeps what must survive a restart: persistent rooms (their
// configuration, subject, vCard, affiliations with reasons and reserved
// nicks, tombstones) and the rooms' message archive (XEP-0313).
//
// One Store interface has two backends sharing one SQL schema and its
// versioned migrations: SQLite (pure Go, the default, nothing to install)
// and PostgreSQL for deployments that have one. Open picks the backend from
// the URL (sqlite:///path or postgres://...).
//
// The migrations are the files migrations/NNNN_name.sql, embedded and
// applied in order at Open, each in its own transaction, and recorded in
// schema_migrations. A released migration never changes; a new one gets the
// next number. {{autoid}} and {{blob}} stand for the column types that
// differ between the two databases.
//
// Besides persistent rooms, the store keeps the live state (LiveStore): who
// is in which room, and temporary rooms while they have occupants, so that
// a restart or a standby taking over puts everyone back.
//
// A SQLite database serves one Chorus at a time (a lock file beside it,
// ErrInUse). On PostgreSQL several instances may share one database for a
// domain, one active: a Lease (Leaser) makes an instance the active one,
// and the database refuses the writes of an instance taken over
// (ErrFenced).
//
// A write that returns nil is on disk: SQLite runs in WAL mode with
// synchronous=FULL and commits writes that queue up together; PostgreSQL
// relies on the server's synchronous_commit (on by default).
package store
