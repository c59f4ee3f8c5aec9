package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The live state's batch statements (see batchStatement): the head and the
// values a row of each.
const (
	qDeleteLive     = `DELETE FROM live_rooms WHERE jid IN (`
	qInsertLiveRoom = `INSERT INTO live_rooms (jid, temporary, data, updated) VALUES `
	qInsertLiveAff  = `INSERT INTO live_affiliations (room, jid, affiliation, reason, nick) VALUES `
	qInsertLiveSess = `INSERT INTO live_sessions (room, full_jid, pos, nick, role, presence, joined) VALUES `
	liveRoomCols    = 4
	liveAffCols     = 5
	liveSessCols    = 7
)

var _ LiveStore = (*sqlStore)(nil)

// liveBatches lists the shapes of the live state's statements, for SQLite
// to prepare.
func liveBatches() []string {
	var qs []string
	for _, n := range insertSizes() {
		qs = append(qs,
			batchStatement(true, qDeleteLive, 1, n, ")"),
			batchStatement(true, qInsertLiveRoom, liveRoomCols, n, ""),
			batchStatement(true, qInsertLiveAff, liveAffCols, n, ""),
			batchStatement(true, qInsertLiveSess, liveSessCols, n, ""))
	}
	return qs
}

func (s *sqlStore) SaveLive(ctx context.Context, batch []LiveRoom, gone []string) error {
	// The last entry of a room wins; every room named goes first, which
	// also takes its sessions and affiliations with it (ON DELETE CASCADE).
	last := make(map[string]int, len(batch))
	for i, r := range batch {
		if r.JID == "" {
			return errors.New("store: save live: room without JID")
		}
		last[r.JID] = i
	}
	drop := make([]string, 0, len(last)+len(gone))
	for jid := range last {
		drop = append(drop, jid)
	}
	for _, jid := range gone {
		if _, ok := last[jid]; !ok {
			drop = append(drop, jid)
			last[jid] = -1
		}
	}
	// Name order, so that two calls lock their rows in the same order.
	slices.Sort(drop)
	dropArgs := make([]any, len(drop))
	for i, jid := range drop {
		dropArgs[i] = jid
	}

	now := ms(time.Now())
	var roomArgs, affArgs, sessArgs []any
	for _, jid := range drop {
		i := last[jid]
		if i < 0 || len(batch[i].Sessions) == 0 {
			continue
		}
		r := batch[i]
		var data any // NULL
		if r.Data != nil {
			data = string(r.Data)
		}
		temporary := 0
		if r.Temporary {
			temporary = 1
		}
		roomArgs = append(roomArgs, r.JID, temporary, data, now)
		for _, a := range r.Affiliations {
			affArgs = append(affArgs, r.JID, a.JID, a.Affiliation, a.Reason, a.Nick)
		}
		seen := make(map[string]bool, len(r.Sessions))
		for pos, se := range r.Sessions {
			if se.FullJID == "" || seen[se.FullJID] {
				return fmt.Errorf("store: save live %s: session with an empty or repeated full JID %q", r.JID, se.FullJID)
			}
			seen[se.FullJID] = true
			var presence any // NULL
			if se.Presence != nil {
				presence = se.Presence
			}
			sessArgs = append(sessArgs, r.JID, se.FullJID, pos, se.Nick, se.Role, presence, ms(se.Joined))
		}
	}
	if len(drop) == 0 {
		return nil
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := s.execBatch(ctx, tx, qDeleteLive, 1, ")", dropArgs); err != nil {
			return err
		}
		if err := s.execBatch(ctx, tx, qInsertLiveRoom, liveRoomCols, "", roomArgs); err != nil {
			return err
		}
		if err := s.execBatch(ctx, tx, qInsertLiveAff, liveAffCols, "", affArgs); err != nil {
			return err
		}
		return s.execBatch(ctx, tx, qInsertLiveSess, liveSessCols, "", sessArgs)
	})
	if err != nil {
		return fmt.Errorf("store: save live: %w", err)
	}
	return nil
}

func (s *sqlStore) LoadLive(ctx context.Context) ([]LiveRoom, error) {
	rooms, err := s.loadLive(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: load live: %w", err)
	}
	return rooms, nil
}

func (s *sqlStore) loadLive(ctx context.Context) ([]LiveRoom, error) {
	// One snapshot, so that sessions and their rooms agree.
	tx, err := s.db.BeginTx(ctx, readTx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	var rooms []LiveRoom
	index := map[string]int{}
	err = scanRows(ctx, tx, `SELECT jid, temporary, data FROM live_rooms ORDER BY jid `+s.bytewise,
		func(rows *sql.Rows) error {
			var r LiveRoom
			var temporary int
			var data sql.NullString
			if err := rows.Scan(&r.JID, &temporary, &data); err != nil {
				return err
			}
			r.Temporary = temporary != 0
			if data.Valid {
				r.Data = []byte(data.String)
			}
			index[r.JID] = len(rooms)
			rooms = append(rooms, r)
			return nil
		})
	if err != nil {
		return nil, err
	}
	// A child row always has its room (the foreign keys), read in the
	// same snapshot.
	err = scanRows(ctx, tx, `SELECT room, jid, affiliation, reason, nick FROM live_affiliations
		ORDER BY room, jid `+s.bytewise, func(rows *sql.Rows) error {
		var room string
		var a Affiliation
		if err := rows.Scan(&room, &a.JID, &a.Affiliation, &a.Reason, &a.Nick); err != nil {
			return err
		}
		r := &rooms[index[room]]
		r.Affiliations = append(r.Affiliations, a)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = scanRows(ctx, tx, `SELECT room, full_jid, nick, role, presence, joined FROM live_sessions
		ORDER BY room, pos`, func(rows *sql.Rows) error {
		var room string
		var se LiveSession
		var joined int64
		if err := rows.Scan(&room, &se.FullJID, &se.Nick, &se.Role, &se.Presence, &joined); err != nil {
			return err
		}
		se.Joined = fromMS(joined)
		r := &rooms[index[room]]
		r.Sessions = append(r.Sessions, se)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rooms, nil
}

// scanRows runs a query in tx and hands each row to scan.
func scanRows(ctx context.Context, tx *sql.Tx, query string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
