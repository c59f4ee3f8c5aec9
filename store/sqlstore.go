package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// txFunc is one unit of writing, run inside a transaction it must not end.
type txFunc func(ctx context.Context, tx *sql.Tx) error

// sqlStore is the Store both backends share: the SQL is the same, only how
// writes reach the database differs (sqliteWriter, pgWrite).
type sqlStore struct {
	// db serves reads. For SQLite it is a pool of read-only connections
	// beside the single writing one.
	db *sql.DB
	// write runs fn in a transaction and commits it durably.
	write func(ctx context.Context, fn txFunc) error
	// sqlite is the writer of a SQLite store, nil for PostgreSQL.
	sqlite *sqliteWriter
	// prepared holds the write statements of SQLite, prepared once on its
	// writing connection; PostgreSQL's driver caches statements itself.
	prepared map[string]*sql.Stmt
	// anonInsert makes Append's INSERTs use ? placeholders (SQLite).
	anonInsert bool
	// bytewise is the backend's collation clause that orders text as Go
	// does (dialect.bytewise).
	bytewise string
	// closeFn releases everything.
	closeFn   func() error
	closeOnce sync.Once
	closeErr  error
}

// readTx is what a multi-statement read uses: one snapshot. SQLite ignores
// the isolation level (its transactions are serializable already).
var readTx = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

func (s *sqlStore) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.closeFn() })
	return s.closeErr
}

// The write statements, named so that SQLite can prepare them in advance.
const (
	// A tombstone has data NULL, so a revived room without new data starts
	// from {} like a new one.
	// $4 and $5, public and name, are NULL when the record is kept.
	qUpsertRoom = `INSERT INTO rooms (jid, data, public, name, updated)
		VALUES ($1, COALESCE($2, '{}'), COALESCE($4, 0), COALESCE($5, ''), $3)
		ON CONFLICT (jid) DO UPDATE SET
			data = COALESCE($2, rooms.data, '{}'),
			public = COALESCE($4, rooms.public),
			name = COALESCE($5, rooms.name),
			tombstone_alt = NULL,
			tombstone_reason = NULL,
			tombstone_until = NULL,
			updated = excluded.updated`
	qDeleteAffiliation  = `DELETE FROM affiliations WHERE room = $1 AND jid = $2`
	qDeleteAffiliations = `DELETE FROM affiliations WHERE room = $1`
	qUpsertAffiliation  = `INSERT INTO affiliations (room, jid, affiliation, reason, nick)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (room, jid) DO UPDATE SET
			affiliation = excluded.affiliation,
			reason = excluded.reason,
			nick = excluded.nick`
	qDeleteRoom = `DELETE FROM rooms WHERE jid = $1`
	qTombstone  = `INSERT INTO rooms
		(jid, data, tombstone_alt, tombstone_reason, tombstone_until, updated)
		VALUES ($1, NULL, $2, $3, $4, $5)
		ON CONFLICT (jid) DO UPDATE SET
			data = NULL,
			public = 0,
			name = '',
			tombstone_alt = excluded.tombstone_alt,
			tombstone_reason = excluded.tombstone_reason,
			tombstone_until = excluded.tombstone_until,
			updated = excluded.updated`
	// $4 is the at of the batch's first message of the room: older than
	// what the room has means out of order.
	qArchiveRoom = `INSERT INTO archive_rooms (room, max_at, disorder)
		VALUES ($1, $2, $3)
		ON CONFLICT (room) DO UPDATE SET
			disorder = CASE WHEN archive_rooms.disorder = 1 OR excluded.disorder = 1
				OR $4 < archive_rooms.max_at THEN 1 ELSE 0 END,
			max_at = CASE WHEN excluded.max_at > archive_rooms.max_at
				THEN excluded.max_at ELSE archive_rooms.max_at END`
	qReplace        = `UPDATE archive SET stanza = $1 WHERE room = $2 AND id = $3`
	qExpireMessages = `DELETE FROM archive WHERE seq IN
		(SELECT seq FROM archive WHERE at < $1 LIMIT $2)`
	qExpireTombstones = `DELETE FROM rooms
		WHERE tombstone_until IS NOT NULL AND tombstone_until <= $1`
)

// preparedWrites lists what SQLite prepares at Open: every statement a write
// runs, so that none is parsed again per call.
func preparedWrites() []string {
	qs := []string{qUpsertRoom, qDeleteAffiliation, qDeleteAffiliations, qUpsertAffiliation,
		qDeleteRoom, qTombstone, qArchiveRoom, qReplace, qExpireMessages, qExpireTombstones,
		qSavepoint, qRelease, qRollbackTo}
	for _, n := range insertSizes() {
		qs = append(qs, batchStatement(true, qAppend, 5, n, ""))
	}
	return append(qs, liveBatches()...)
}

// exec runs a write statement in tx, through its prepared statement when
// there is one.
func (s *sqlStore) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.prepared[query]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func (s *sqlStore) LoadRoom(ctx context.Context, jid string) (*RoomState, error) {
	tx, err := s.db.BeginTx(ctx, readTx)
	if err != nil {
		return nil, fmt.Errorf("store: load room: %w", err)
	}
	defer tx.Rollback()

	var (
		data          sql.NullString
		tAlt, tReason sql.NullString
		tUntil        sql.NullInt64
		st            = &RoomState{JID: jid}
		affs          []Affiliation
		errLoad       = func(err error) error { return fmt.Errorf("store: load room %s: %w", jid, err) }
	)
	err = tx.QueryRowContext(ctx, `SELECT data, tombstone_alt, tombstone_reason, tombstone_until
		FROM rooms WHERE jid = $1`, jid).Scan(&data, &tAlt, &tReason, &tUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, errLoad(err)
	}
	if tUntil.Valid {
		until := fromMS(tUntil.Int64)
		// A tombstone that has run out is as good as gone, even before
		// Expire removes it.
		if !time.Now().Before(until) {
			return nil, nil
		}
		st.Tombstone = &Tombstone{Alt: tAlt.String, Reason: tReason.String, Until: until}
		return st, nil
	}
	st.Data = []byte(data.String)
	rows, err := tx.QueryContext(ctx, `SELECT jid, affiliation, reason, nick
		FROM affiliations WHERE room = $1 ORDER BY jid`, jid)
	if err != nil {
		return nil, errLoad(err)
	}
	defer rows.Close()
	for rows.Next() {
		var a Affiliation
		if err := rows.Scan(&a.JID, &a.Affiliation, &a.Reason, &a.Nick); err != nil {
			return nil, errLoad(err)
		}
		affs = append(affs, a)
	}
	if err := rows.Err(); err != nil {
		return nil, errLoad(err)
	}
	st.Affiliations = affs
	return st, nil
}

func (s *sqlStore) UpdateRoom(ctx context.Context, u RoomUpdate) error {
	if u.JID == "" {
		return errors.New("store: update room: empty JID")
	}
	var data, public, name any // NULL keeps the stored record
	if u.Data != nil {
		data, name = string(u.Data), u.Name
		public = 0
		if u.Public {
			public = 1
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, qUpsertRoom, u.JID, data, ms(time.Now()), public, name); err != nil {
			return err
		}
		// Deletes go first so that a JID named in both lists ends up set.
		for _, jid := range u.DeleteAffiliations {
			if _, err := s.exec(ctx, tx, qDeleteAffiliation, u.JID, jid); err != nil {
				return err
			}
		}
		for _, a := range u.SetAffiliations {
			if _, err := s.exec(ctx, tx, qUpsertAffiliation, u.JID, a.JID, a.Affiliation, a.Reason, a.Nick); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: update room %s: %w", u.JID, err)
	}
	return nil
}

func (s *sqlStore) DeleteRoom(ctx context.Context, jid string, t *Tombstone) error {
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := s.exec(ctx, tx, qDeleteAffiliations, jid); err != nil {
			return err
		}
		if t == nil {
			_, err := s.exec(ctx, tx, qDeleteRoom, jid)
			return err
		}
		_, err := s.exec(ctx, tx, qTombstone, jid, t.Alt, t.Reason, ms(t.Until), ms(time.Now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete room %s: %w", jid, err)
	}
	return nil
}

func (s *sqlStore) ListRooms(ctx context.Context, q RoomListQuery) (RoomList, error) {
	var list RoomList
	limit := clampMax(q.Max)
	where := "tombstone_until IS NULL"
	if q.PublicOnly {
		where += " AND public = 1"
	}
	jid := "jid " + s.bytewise
	// One snapshot, so that the count and the page agree.
	tx, err := s.db.BeginTx(ctx, readTx)
	if err != nil {
		return list, fmt.Errorf("store: list rooms: %w", err)
	}
	defer tx.Rollback()
	errList := func(err error) (RoomList, error) { return RoomList{}, fmt.Errorf("store: list rooms: %w", err) }
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rooms WHERE `+where).Scan(&list.Total); err != nil {
		return errList(err)
	}
	page, args, backward := where, []any{}, q.Before != "" || q.Last
	switch {
	case q.After != "":
		page += " AND " + jid + " > $1"
		args = append(args, q.After)
	case q.Before != "":
		page += " AND " + jid + " < $1"
		args = append(args, q.Before)
	}
	order := "ASC"
	if backward {
		order = "DESC"
	}
	args = append(args, limit)
	rows, err := tx.QueryContext(ctx, `SELECT jid, name, public FROM rooms WHERE `+page+
		` ORDER BY `+jid+` `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return errList(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r RoomSummary
		var public int
		if err := rows.Scan(&r.JID, &r.Name, &public); err != nil {
			return errList(err)
		}
		r.Public = public != 0
		list.Rooms = append(list.Rooms, r)
	}
	if err := rows.Err(); err != nil {
		return errList(err)
	}
	if backward {
		slices.Reverse(list.Rooms)
	}
	if len(list.Rooms) > 0 {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM rooms WHERE `+where+` AND `+jid+` < $1`,
			list.Rooms[0].JID).Scan(&list.Index); err != nil {
			return errList(err)
		}
	}
	return list, nil
}

// maxInsertRows bounds the rows of one INSERT (and the values of one IN
// list). A batch goes in as statements of power-of-two sizes, so that few
// distinct statements exist to prepare (SQLite) or to cache per connection
// (PostgreSQL).
const maxInsertRows = 128

// insertSizes are the row counts of the batch statements.
func insertSizes() []int {
	var sizes []int
	for n := 1; n <= maxInsertRows; n *= 2 {
		sizes = append(sizes, n)
	}
	return sizes
}

var batchSQL sync.Map // batchKey -> statement text

type batchKey struct {
	head, tail string
	cols, rows int
	anon       bool
}

// batchStatement is head, then rows groups of cols placeholders ("(?,?)"
// each, or a bare "?" when cols is 1) separated by commas, then tail. With
// anon it uses plain ? placeholders: SQLite looks numbered ones up in a
// list, which makes preparing and binding a statement with hundreds of them
// quadratic.
func batchStatement(anon bool, head string, cols, rows int, tail string) string {
	k := batchKey{head, tail, cols, rows, anon}
	if v, ok := batchSQL.Load(k); ok {
		return v.(string)
	}
	var b strings.Builder
	b.WriteString(head)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		if cols > 1 {
			b.WriteByte('(')
		}
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			if anon {
				b.WriteByte('?')
			} else {
				fmt.Fprintf(&b, "$%d", i*cols+c+1)
			}
		}
		if cols > 1 {
			b.WriteByte(')')
		}
	}
	b.WriteString(tail)
	v, _ := batchSQL.LoadOrStore(k, b.String())
	return v.(string)
}

// execBatch runs head...tail (see batchStatement) over args, cols values a
// row, in statements of at most maxInsertRows rows.
func (s *sqlStore) execBatch(ctx context.Context, tx *sql.Tx, head string, cols int, tail string, args []any) error {
	for rest := args; len(rest) > 0; {
		n := maxInsertRows
		for n*cols > len(rest) {
			n /= 2
		}
		if _, err := s.exec(ctx, tx, batchStatement(s.anonInsert, head, cols, n, tail), rest[:n*cols]...); err != nil {
			return err
		}
		rest = rest[n*cols:]
	}
	return nil
}

const qAppend = `INSERT INTO archive (room, id, at, from_jid, stanza) VALUES `

func (s *sqlStore) Append(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	for _, m := range msgs {
		if m.Room == "" || m.ID == "" {
			return errors.New("store: append: message without room or id")
		}
	}
	order := archiveOrder(msgs)
	args := make([]any, 0, 5*len(msgs))
	for _, m := range msgs {
		stanza := m.Stanza
		if stanza == nil {
			stanza = []byte{} // NULL is not a stanza
		}
		args = append(args, m.Room, m.ID, ms(m.At), m.From, stanza)
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// archive_rooms first: on PostgreSQL its row lock orders concurrent
		// appends to a room before they take their seq numbers, so the
		// disorder check sees them in seq order. Rooms go in name order so
		// that two multi-room appends cannot deadlock.
		for _, o := range order {
			if _, err := s.exec(ctx, tx, qArchiveRoom, o.room, o.maxAt, o.disorder, o.firstAt); err != nil {
				return err
			}
		}
		return s.execBatch(ctx, tx, qAppend, 5, "", args)
	})
	if err != nil {
		return fmt.Errorf("store: append: %w", err)
	}
	return nil
}

// roomOrder sums up one room's messages of an Append for archive_rooms.
type roomOrder struct {
	room           string
	firstAt, maxAt int64
	disorder       int // 1 when at decreases within the batch
}

func archiveOrder(msgs []Message) []roomOrder {
	byRoom := map[string]*roomOrder{}
	for _, m := range msgs {
		at := ms(m.At)
		o := byRoom[m.Room]
		if o == nil {
			byRoom[m.Room] = &roomOrder{room: m.Room, firstAt: at, maxAt: at}
			continue
		}
		if at < o.maxAt {
			o.disorder = 1
		}
		o.maxAt = max(o.maxAt, at)
	}
	out := make([]roomOrder, 0, len(byRoom))
	for _, o := range byRoom {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b roomOrder) int { return strings.Compare(a.room, b.room) })
	return out
}

// timeWindow turns Start/End into the seq range holding exactly the room's
// messages within them, when the room's times never went backwards. ok is
// false when they did (or the room has no archive); empty is true when no
// message lies in the window.
func (s *sqlStore) timeWindow(ctx context.Context, room string, start, end time.Time) (lo, hi sql.NullInt64, ok, empty bool, err error) {
	var disorder sql.NullInt64
	cols := []string{"(SELECT disorder FROM archive_rooms WHERE room = $1)"}
	args := []any{room}
	dest := []any{&disorder}
	if !start.IsZero() {
		args = append(args, ms(start))
		cols = append(cols, `(SELECT seq FROM archive WHERE room = $1 AND at >= $`+strconv.Itoa(len(args))+
			` ORDER BY at, seq LIMIT 1)`)
		dest = append(dest, &lo)
	}
	if !end.IsZero() {
		args = append(args, ms(end))
		cols = append(cols, `(SELECT seq FROM archive WHERE room = $1 AND at <= $`+strconv.Itoa(len(args))+
			` ORDER BY at DESC, seq DESC LIMIT 1)`)
		dest = append(dest, &hi)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT `+strings.Join(cols, ", "), args...).Scan(dest...); err != nil {
		return lo, hi, false, false, err
	}
	if !disorder.Valid || disorder.Int64 != 0 {
		return lo, hi, false, false, nil
	}
	empty = (!start.IsZero() && !lo.Valid) || (!end.IsZero() && !hi.Valid) ||
		(lo.Valid && hi.Valid && lo.Int64 > hi.Int64)
	return lo, hi, true, empty, nil
}

// clampMax applies Query's bounds on Max.
func clampMax(n int) int {
	switch {
	case n == 0:
		return 100
	case n < 1:
		return 1
	case n > 1000:
		return 1000
	}
	return n
}

func (s *sqlStore) Query(ctx context.Context, q Query) (Page, error) {
	limit := clampMax(q.Max)
	var (
		where = []string{"room = $1"}
		args  = []any{q.Room}
	)
	cond := func(expr string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(expr, "?", "$"+strconv.Itoa(len(args))))
	}
	emptyWindow := false
	if !q.Start.IsZero() || !q.End.IsZero() {
		lo, hi, ok, empty, err := s.timeWindow(ctx, q.Room, q.Start, q.End)
		if err != nil {
			return Page{}, fmt.Errorf("store: query %s: %w", q.Room, err)
		}
		switch {
		case ok && empty:
			emptyWindow = true
		case ok:
			if lo.Valid {
				cond("seq >= ?", lo.Int64)
			}
			if hi.Valid {
				cond("seq <= ?", hi.Int64)
			}
		default:
			if !q.Start.IsZero() {
				cond("at >= ?", ms(q.Start))
			}
			if !q.End.IsZero() {
				cond("at <= ?", ms(q.End))
			}
		}
	}
	if q.With != "" {
		cond("from_jid = ?", q.With)
	}
	if len(q.IDs) > 0 {
		in := make([]string, len(q.IDs))
		for i, id := range q.IDs {
			args = append(args, id)
			in[i] = "$" + strconv.Itoa(len(args))
		}
		list := "(" + strings.Join(in, ", ") + ")"
		where = append(where, "id IN "+list)
		ok, err := s.allExist(ctx, q.Room, args[len(args)-len(q.IDs):])
		if err != nil {
			return Page{}, fmt.Errorf("store: query %s: %w", q.Room, err)
		}
		if !ok {
			return Page{}, ErrNotFound
		}
	}
	// An unknown anchor makes its subquery NULL and the page empty; only
	// then is it worth asking whether the anchor exists.
	if q.After != "" {
		cond("seq > (SELECT seq FROM archive WHERE room = $1 AND id = ?)", q.After)
	}
	if q.Before != "" {
		cond("seq < (SELECT seq FROM archive WHERE room = $1 AND id = ?)", q.Before)
	}
	backward := q.Before != "" || q.Last
	order := "ASC"
	if backward {
		order = "DESC"
	}
	args = append(args, limit+1)
	text := `SELECT id, at, from_jid, stanza FROM archive WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY seq ` + order + ` LIMIT $` + strconv.Itoa(len(args))

	var msgs []Message
	if !emptyWindow {
		var err error
		msgs, err = s.scanMessages(ctx, q.Room, text, args...)
		if err != nil {
			return Page{}, fmt.Errorf("store: query %s: %w", q.Room, err)
		}
	}
	if len(msgs) == 0 {
		for _, id := range []string{q.After, q.Before} {
			if id == "" {
				continue
			}
			ok, err := s.exists(ctx, q.Room, id)
			if err != nil {
				return Page{}, fmt.Errorf("store: query %s: %w", q.Room, err)
			}
			if !ok {
				return Page{}, ErrNotFound
			}
		}
	}
	p := Page{Complete: len(msgs) <= limit}
	if !p.Complete {
		msgs = msgs[:limit]
	}
	if backward {
		slices.Reverse(msgs)
	}
	p.Messages = msgs
	return p, nil
}

// allExist reports whether the room has a message for each of ids.
func (s *sqlStore) allExist(ctx context.Context, room string, ids []any) (bool, error) {
	distinct := map[any]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	in := make([]string, len(ids))
	for i := range ids {
		in[i] = "$" + strconv.Itoa(i+2)
	}
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM archive WHERE room = $1 AND id IN (`+
		strings.Join(in, ", ")+`)`, append([]any{room}, ids...)...).Scan(&n)
	return n == len(distinct), err
}

func (s *sqlStore) exists(ctx context.Context, room, id string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM archive WHERE room = $1 AND id = $2`, room, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

func (s *sqlStore) scanMessages(ctx context.Context, room, text string, args ...any) ([]Message, error) {
	rows, err := s.db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []Message
	for rows.Next() {
		m := Message{Room: room}
		var at int64
		if err := rows.Scan(&m.ID, &at, &m.From, &m.Stanza); err != nil {
			return nil, err
		}
		m.At = fromMS(at)
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

func (s *sqlStore) Latest(ctx context.Context, room string, n int) ([]Message, error) {
	if n <= 0 {
		return nil, nil
	}
	msgs, err := s.scanMessages(ctx, room, `SELECT id, at, from_jid, stanza FROM archive
		WHERE room = $1 ORDER BY seq DESC LIMIT $2`, room, n)
	if err != nil {
		return nil, fmt.Errorf("store: latest %s: %w", room, err)
	}
	slices.Reverse(msgs)
	return msgs, nil
}

func (s *sqlStore) Replace(ctx context.Context, room, id string, stanza []byte) (bool, error) {
	if stanza == nil {
		stanza = []byte{}
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, qReplace, stanza, room, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: replace %s in %s: %w", id, room, err)
	}
	return n > 0, nil
}

// expireChunk bounds the rows one transaction of Expire deletes, so that a
// large purge does not hold SQLite's write lock for long.
const expireChunk = 5000

func (s *sqlStore) Expire(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
			res, err := s.exec(ctx, tx, qExpireMessages, ms(before), expireChunk)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: expire: %w", err)
		}
		total += n
		if n < expireChunk {
			break
		}
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, qExpireTombstones, ms(time.Now()))
		return err
	})
	if err != nil {
		return total, fmt.Errorf("store: expire tombstones: %w", err)
	}
	return total, nil
}

func (s *sqlStore) Get(ctx context.Context, room, id string) (*Message, error) {
	msgs, err := s.scanMessages(ctx, room, `SELECT id, at, from_jid, stanza FROM archive
		WHERE room = $1 AND id = $2`, room, id)
	if err != nil {
		return nil, fmt.Errorf("store: get %s in %s: %w", id, room, err)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	return &msgs[0], nil
}

func (s *sqlStore) Bounds(ctx context.Context, room string) (first, last *Message, err error) {
	// One snapshot, so that an expiry between the two reads cannot leave
	// a first without a last.
	tx, err := s.db.BeginTx(ctx, readTx)
	if err != nil {
		return nil, nil, fmt.Errorf("store: bounds %s: %w", room, err)
	}
	defer tx.Rollback()
	var out [2]*Message
	for i, order := range []string{"ASC", "DESC"} {
		m := Message{Room: room}
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT id, at, from_jid, stanza FROM archive
			WHERE room = $1 ORDER BY seq `+order+` LIMIT 1`, room).Scan(&m.ID, &at, &m.From, &m.Stanza)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("store: bounds %s: %w", room, err)
		}
		m.At = fromMS(at)
		out[i] = &m
	}
	return out[0], out[1], nil
}
