package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ServiceBan is one service-wide ban: a bare JID, or a domain for every
// user of it.
type ServiceBan struct {
	JID    string    `json:"jid"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"` // kept to the millisecond
}

// BanStore keeps the service-wide bans. Both backends implement it; like
// LiveStore it stands apart from Store so that wrappers and stubs of Store
// keep building.
type BanStore interface {
	// SaveBan inserts or replaces the ban of b.JID.
	SaveBan(ctx context.Context, b ServiceBan) error
	// DeleteBan removes the ban of jid; false when there was none.
	DeleteBan(ctx context.Context, jid string) (bool, error)
	// LoadBans returns every ban, in JID order.
	LoadBans(ctx context.Context) ([]ServiceBan, error)
}

// Purger deletes part of one room's archive, for operators. Both backends
// implement it.
type Purger interface {
	// PurgeRoom deletes the archived messages of room older than before
	// (all of them when before is zero) and returns how many went.
	PurgeRoom(ctx context.Context, room string, before time.Time) (int64, error)
}

var (
	_ BanStore = (*sqlStore)(nil)
	_ Purger   = (*sqlStore)(nil)
)

func (s *sqlStore) SaveBan(ctx context.Context, b ServiceBan) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO service_bans (jid, reason, at) VALUES ($1, $2, $3)
			ON CONFLICT (jid) DO UPDATE SET reason = excluded.reason, at = excluded.at`, b.JID, b.Reason, ms(b.At))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: save ban %s: %w", b.JID, err)
	}
	return nil
}

func (s *sqlStore) DeleteBan(ctx context.Context, jid string) (bool, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM service_bans WHERE jid = $1`, jid)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: delete ban %s: %w", jid, err)
	}
	return n > 0, nil
}

func (s *sqlStore) LoadBans(ctx context.Context) ([]ServiceBan, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT jid, reason, at FROM service_bans ORDER BY jid `+s.bytewise)
	if err != nil {
		return nil, fmt.Errorf("store: load bans: %w", err)
	}
	defer rows.Close()
	var bans []ServiceBan
	for rows.Next() {
		var b ServiceBan
		var at int64
		if err := rows.Scan(&b.JID, &b.Reason, &at); err != nil {
			return nil, fmt.Errorf("store: load bans: %w", err)
		}
		b.At = fromMS(at)
		bans = append(bans, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: load bans: %w", err)
	}
	return bans, nil
}

func (s *sqlStore) PurgeRoom(ctx context.Context, room string, before time.Time) (int64, error) {
	cutoff := int64(1<<63 - 1)
	if !before.IsZero() {
		cutoff = ms(before)
	}
	// In chunks, as Expire, so that a large purge does not hold SQLite's
	// write lock for long.
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM archive WHERE seq IN
				(SELECT seq FROM archive WHERE room = $1 AND at < $2 LIMIT $3)`, room, cutoff, expireChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: purge %s: %w", room, err)
		}
		total += n
		if n < expireChunk {
			return total, nil
		}
	}
}
