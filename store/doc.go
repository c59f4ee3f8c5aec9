// Package store keeps what must survive a restart: persistent rooms (their
// configuration, subject, vCard, affiliations with reasons and reserved
// nicks, tombstones) and the rooms' message archive (XEP-0313).
//
// One Store interface has two backends sharing one SQL schema and its
// versioned migrations: SQLite (pure Go, the default, nothing to install)
// and PostgreSQL for deployments that have one. Open picks the backend from
// the URL (sqlite:///path or postgres://...).
package store
