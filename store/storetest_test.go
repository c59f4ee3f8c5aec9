package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The shared suite: every test in it runs against each backend, on a store
// of its own.

const pgEnv = "CHORUS_TEST_POSTGRES"

type opener func(t testing.TB) Store

// backends returns the stores the suite runs on. PostgreSQL is there when
// CHORUS_TEST_POSTGRES holds a URL that answers; without it the postgres
// subtest skips, or fails under CI=true, where skipping would hide a
// missing setup.
func backends() []struct {
	name string
	open opener
} {
	return []struct {
		name string
		open opener
	}{
		{"sqlite-file", openSQLiteFile},
		{"sqlite-memory", openSQLiteMem},
		{"postgres", openPostgresTest},
	}
}

func openSQLiteFile(t testing.TB) Store {
	t.Helper()
	return mustOpen(t, "sqlite://"+filepath.Join(t.TempDir(), "chorus.db"))
}

func openSQLiteMem(t testing.TB) Store {
	t.Helper()
	return mustOpen(t, "sqlite::memory:")
}

func openPostgresTest(t testing.TB) Store {
	t.Helper()
	return mustOpen(t, pgSchemaURL(t))
}

// sqlOf is the SQL store under s, of either backend.
func sqlOf(s Store) *sqlStore {
	if p, ok := s.(*pgStore); ok {
		return p.sqlStore
	}
	return s.(*sqlStore)
}

func mustOpen(t testing.TB, u string) Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("Open(%q): %v", u, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// pgBaseURL returns CHORUS_TEST_POSTGRES once a connection to it works, or
// ends the test: a skip with the reason, or a failure under CI=true, where
// a missing or unreachable PostgreSQL is a broken setup (the rule of
// internal/integration's require).
func pgBaseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(pgEnv)
	pgReach.Do(func() {
		if u == "" {
			pgReach.err = fmt.Errorf("PostgreSQL tests skipped: set %s=postgres://...", pgEnv)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			pgReach.err = fmt.Errorf("PostgreSQL tests skipped: %s unreachable: %w", pgEnv, err)
			return
		}
		c.Close(ctx)
	})
	if pgReach.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(pgReach.err)
		}
		t.Skip(pgReach.err)
	}
	return u
}

// pgReach remembers whether CHORUS_TEST_POSTGRES answered, so an absent
// server costs one connection attempt, not one per test.
var pgReach struct {
	sync.Once
	err error
}

var pgSchemaSeq struct {
	sync.Mutex
	n int
}

// pgSchemaURL creates an empty schema for one test and returns the URL that
// puts it first on the search_path; the schema goes when the test ends.
func pgSchemaURL(t testing.TB) string {
	t.Helper()
	base := pgBaseURL(t)
	pgSchemaSeq.Lock()
	pgSchemaSeq.n++
	schema := fmt.Sprintf("chorus_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, pgSchemaSeq.n)
	pgSchemaSeq.Unlock()
	pgExec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	return withQuery(t, base, "search_path", schema)
}

func withQuery(t testing.TB, raw, key, value string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", pgEnv, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// pgRun runs fn on a connection of its own to u, failing the test on an
// error.
func pgRun(t testing.TB, u string, fn func(ctx context.Context, c *pgx.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect to %s: %v", pgEnv, err)
	}
	defer c.Close(ctx)
	if err := fn(ctx, c); err != nil {
		t.Fatal(err)
	}
}

func pgExec(t testing.TB, u, sql string) {
	t.Helper()
	pgRun(t, u, func(ctx context.Context, c *pgx.Conn) error {
		if _, err := c.Exec(ctx, sql); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
		return nil
	})
}

var suite = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"RoomRoundTrip", testRoomRoundTrip},
	{"RoomUpdates", testRoomUpdates},
	{"DeleteRoom", testDeleteRoom},
	{"ListRooms", testListRooms},
	{"TombstoneExpiry", testTombstoneExpiry},
	{"PagingForward", testPagingForward},
	{"PagingBackward", testPagingBackward},
	{"Filters", testFilters},
	{"NotFound", testNotFound},
	{"MaxClamp", testMaxClamp},
	{"SeqOrder", testSeqOrder},
	{"Latest", testLatest},
	{"Replace", testReplace},
	{"Expire", testExpire},
	{"AppendAtomic", testAppendAtomic},
	{"Concurrent", testConcurrent},
	{"ConcurrentFailures", testConcurrentFailures},
	{"Cancelled", testCancelled},
	{"RandomQueries", testRandomQueries},
	{"IDs", testIDs},
	{"Get", testGet},
	{"Bounds", testBounds},
	{"LiveRoundTrip", testLiveRoundTrip},
	{"LiveBig", testLiveBig},
	{"Bans", testBans},
	{"PurgeRoom", testPurgeRoom},
}

func TestStore(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			if b.name == "postgres" {
				pgBaseURL(t)
			}
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, b.open(t))
				})
			}
		})
	}
}

var ctx = context.Background()

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// msg makes the i-th test message of a room, one second apart.
func msg(room string, i int) Message {
	return Message{
		Room:   room,
		ID:     fmt.Sprintf("%s-%06d", room, i),
		At:     t0.Add(time.Duration(i) * time.Second),
		From:   fmt.Sprintf("%s/nick%d", room, i%3),
		Stanza: []byte(fmt.Sprintf("<message id='%d'><body>%d</body></message>", i, i)),
	}
}

func msgs(room string, from, to int) []Message {
	var ms []Message
	for i := from; i < to; i++ {
		ms = append(ms, msg(room, i))
	}
	return ms
}

func ids(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func load(t testing.TB, s Store, jid string) *RoomState {
	t.Helper()
	st, err := s.LoadRoom(ctx, jid)
	must(t, err)
	return st
}

func query(t testing.TB, s Store, q Query) Page {
	t.Helper()
	p, err := s.Query(ctx, q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	return p
}

func equal(t testing.TB, what string, got, want any) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	// Long id lists: where they part is what helps.
	if g, ok := got.([]string); ok && len(g) > 20 {
		w := want.([]string)
		i := 0
		for i < len(g) && i < len(w) && g[i] == w[i] {
			i++
		}
		t.Fatalf("%s: %d ids, want %d; first difference at %d: got %q, want %q",
			what, len(g), len(w), i, g[i:min(i+3, len(g))], w[i:min(i+3, len(w))])
	}
	t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
}

func testRoomRoundTrip(t *testing.T, s Store) {
	st := load(t, s, "nobody@muc.example")
	if st != nil {
		t.Fatalf("unknown room: %+v", st)
	}
	data := json.RawMessage(`{"name":"Lounge","subject":"héllo","n":[1,2]}`)
	affs := []Affiliation{
		{JID: "b@example", Affiliation: "admin", Reason: "helps", Nick: "bee"},
		{JID: "a@example", Affiliation: "owner"},
		{JID: "evil.example", Affiliation: "outcast", Reason: "spam"},
	}
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "lounge@muc.example", Data: data, SetAffiliations: affs}))
	st = load(t, s, "lounge@muc.example")
	equal(t, "room", st, &RoomState{
		JID:  "lounge@muc.example",
		Data: data,
		Affiliations: []Affiliation{ // by JID
			{JID: "a@example", Affiliation: "owner"},
			{JID: "b@example", Affiliation: "admin", Reason: "helps", Nick: "bee"},
			{JID: "evil.example", Affiliation: "outcast", Reason: "spam"},
		},
	})
	if other := load(t, s, "other@muc.example"); other != nil {
		t.Fatalf("other room: %+v", other)
	}
}

func testRoomUpdates(t *testing.T, s Store) {
	const r = "r@muc.example"
	// Created without data: {}.
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: r, SetAffiliations: []Affiliation{{JID: "o@x", Affiliation: "owner"}}}))
	st := load(t, s, r)
	equal(t, "data of new room", string(st.Data), "{}")

	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: r, Data: json.RawMessage(`{"v":1}`)}))
	// nil Data keeps it.
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: r, SetAffiliations: []Affiliation{{JID: "m@x", Affiliation: "member", Nick: "em"}}}))
	st = load(t, s, r)
	equal(t, "data kept", string(st.Data), `{"v":1}`)
	equal(t, "affiliations", st.Affiliations, []Affiliation{
		{JID: "m@x", Affiliation: "member", Nick: "em"},
		{JID: "o@x", Affiliation: "owner"},
	})

	// Set replaces an entry whole; delete removes; both in one update.
	must(t, s.UpdateRoom(ctx, RoomUpdate{
		JID:                r,
		Data:               json.RawMessage(`{"v":2}`),
		SetAffiliations:    []Affiliation{{JID: "m@x", Affiliation: "admin", Reason: "promoted"}},
		DeleteAffiliations: []string{"o@x", "never@x"},
	}))
	st = load(t, s, r)
	equal(t, "data replaced", string(st.Data), `{"v":2}`)
	equal(t, "affiliations", st.Affiliations, []Affiliation{{JID: "m@x", Affiliation: "admin", Reason: "promoted"}})

	// A JID both deleted and set ends up set.
	must(t, s.UpdateRoom(ctx, RoomUpdate{
		JID:                r,
		SetAffiliations:    []Affiliation{{JID: "m@x", Affiliation: "member"}},
		DeleteAffiliations: []string{"m@x"},
	}))
	equal(t, "set wins", load(t, s, r).Affiliations, []Affiliation{{JID: "m@x", Affiliation: "member"}})

	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: r, DeleteAffiliations: []string{"m@x"}}))
	st = load(t, s, r)
	if len(st.Affiliations) != 0 {
		t.Fatalf("affiliations left: %+v", st.Affiliations)
	}

	if err := s.UpdateRoom(ctx, RoomUpdate{}); err == nil {
		t.Fatal("UpdateRoom without JID succeeded")
	}
}

func testDeleteRoom(t *testing.T, s Store) {
	affs := []Affiliation{{JID: "o@x", Affiliation: "owner"}}
	for _, r := range []string{"a@muc", "b@muc"} {
		must(t, s.UpdateRoom(ctx, RoomUpdate{JID: r, Data: json.RawMessage(`{"x":1}`), SetAffiliations: affs}))
	}
	must(t, s.Append(ctx, msgs("a@muc", 0, 3)))

	// Without a tombstone the room is gone; its archive stays.
	must(t, s.DeleteRoom(ctx, "a@muc", nil))
	if st := load(t, s, "a@muc"); st != nil {
		t.Fatalf("deleted room: %+v", st)
	}
	if got := query(t, s, Query{Room: "a@muc"}); len(got.Messages) != 3 {
		t.Fatalf("archive after delete: %d messages", len(got.Messages))
	}
	must(t, s.DeleteRoom(ctx, "unknown@muc", nil))

	// With one, only the tombstone is left.
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	ts := &Tombstone{Alt: "new@muc", Reason: "moved", Until: until}
	must(t, s.DeleteRoom(ctx, "b@muc", ts))
	equal(t, "tombstone", load(t, s, "b@muc"), &RoomState{JID: "b@muc", Tombstone: ts})

	// Reviving clears it; the old data and affiliations do not return.
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "b@muc"}))
	equal(t, "revived", load(t, s, "b@muc"), &RoomState{JID: "b@muc", Data: json.RawMessage(`{}`)})

	// A tombstone for a room never stored.
	must(t, s.DeleteRoom(ctx, "c@muc", &Tombstone{Until: until}))
	equal(t, "tombstone of unknown room", load(t, s, "c@muc"), &RoomState{JID: "c@muc", Tombstone: &Tombstone{Until: until}})
	// Deleting without a tombstone removes the tombstone too.
	must(t, s.DeleteRoom(ctx, "c@muc", nil))
	if st := load(t, s, "c@muc"); st != nil {
		t.Fatalf("tombstone left: %+v", st)
	}
}

// roomRows counts rows of the rooms table, tombstones included.
func roomRows(t testing.TB, s Store) int {
	t.Helper()
	var n int
	must(t, sqlOf(s).db.QueryRowContext(ctx, `SELECT COUNT(*) FROM rooms`).Scan(&n))
	return n
}

func testTombstoneExpiry(t *testing.T, s Store) {
	past := time.Now().Add(-time.Minute)
	future := time.Now().Add(time.Hour)
	must(t, s.DeleteRoom(ctx, "old@muc", &Tombstone{Reason: "gone", Until: past}))
	must(t, s.DeleteRoom(ctx, "new@muc", &Tombstone{Reason: "gone", Until: future}))
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "live@muc"}))

	// A tombstone past its time no longer shows, even before Expire.
	if st := load(t, s, "old@muc"); st != nil {
		t.Fatalf("expired tombstone: %+v", st)
	}
	equal(t, "rows", roomRows(t, s), 3)
	n, err := s.Expire(ctx, t0)
	must(t, err)
	equal(t, "messages expired", n, int64(0))
	equal(t, "rows after Expire", roomRows(t, s), 2)
	if st := load(t, s, "new@muc"); st == nil || st.Tombstone == nil {
		t.Fatalf("live tombstone: %+v", st)
	}
	if st := load(t, s, "live@muc"); st == nil || st.Tombstone != nil {
		t.Fatalf("live room: %+v", st)
	}
}

// appendAll archives ms in batches.
func appendAll(t testing.TB, s Store, ms []Message, batch int) {
	t.Helper()
	for i := 0; i < len(ms); i += batch {
		must(t, s.Append(ctx, ms[i:min(i+batch, len(ms))]))
	}
}

// interleave mixes messages of two rooms, as a busy service would store them.
func interleave(a, b []Message) []Message {
	var out []Message
	for i := 0; i < max(len(a), len(b)); i++ {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

func testPagingForward(t *testing.T, s Store) {
	const n = 10000
	want := msgs("big@muc", 0, n)
	appendAll(t, s, interleave(want, msgs("small@muc", 0, 50)), 1000)

	var got []string
	q := Query{Room: "big@muc", Max: 100}
	for pages := 0; ; pages++ {
		if pages > n/100 {
			t.Fatal("paging does not end")
		}
		p := query(t, s, q)
		got = append(got, ids(p.Messages)...)
		if p.Complete {
			equal(t, "last page size", len(p.Messages), 100)
			equal(t, "pages", pages+1, n/100)
			break
		}
		equal(t, "page size", len(p.Messages), 100)
		q.After = p.Messages[len(p.Messages)-1].ID
	}
	equal(t, "ids", got, ids(want))

	// The page after the last message is empty and complete.
	p := query(t, s, Query{Room: "big@muc", After: want[n-1].ID})
	if len(p.Messages) != 0 || !p.Complete {
		t.Fatalf("after the end: %d messages, complete %v", len(p.Messages), p.Complete)
	}

	// Contents survive the trip.
	p = query(t, s, Query{Room: "big@muc", Max: 1, After: want[41].ID})
	equal(t, "message", p.Messages, want[42:43])
}

func testPagingBackward(t *testing.T, s Store) {
	const n = 1050
	want := msgs("r@muc", 0, n)
	appendAll(t, s, interleave(want, msgs("other@muc", 0, 300)), 500)

	p := query(t, s, Query{Room: "r@muc", Last: true, Max: 100})
	if p.Complete {
		t.Fatal("last page complete")
	}
	equal(t, "last page", ids(p.Messages), ids(want[n-100:]))
	got := ids(p.Messages)
	for pages := 1; !p.Complete; pages++ {
		if pages > n/100+1 {
			t.Fatal("paging does not end")
		}
		p = query(t, s, Query{Room: "r@muc", Before: p.Messages[0].ID, Max: 100})
		got = append(ids(p.Messages), got...)
	}
	equal(t, "first page size", len(p.Messages), 50)
	equal(t, "ids", got, ids(want))

	// Before the first message: empty and complete.
	p = query(t, s, Query{Room: "r@muc", Before: want[0].ID})
	if len(p.Messages) != 0 || !p.Complete {
		t.Fatalf("before the start: %d messages, complete %v", len(p.Messages), p.Complete)
	}
	// Last and After together: the newest of those after the anchor.
	p = query(t, s, Query{Room: "r@muc", Last: true, Max: 1000, After: want[9].ID})
	equal(t, "last with after", ids(p.Messages), ids(want[n-1000:]))
	if p.Complete {
		t.Fatal("last page of 1000 out of 1040 complete")
	}
	// A Last page holding everything is complete.
	p = query(t, s, Query{Room: "r@muc", Last: true, Max: 1000, After: want[99].ID})
	equal(t, "last with after, all", ids(p.Messages), ids(want[100:]))
	if !p.Complete {
		t.Fatal("last page of all 950 not complete")
	}
	p = query(t, s, Query{Room: "other@muc", Last: true, Max: 1000})
	if len(p.Messages) != 300 || !p.Complete {
		t.Fatalf("small room: %d messages, complete %v", len(p.Messages), p.Complete)
	}
}

func testFilters(t *testing.T, s Store) {
	all := msgs("r@muc", 0, 30) // one second apart from t0; From cycles nick0..2
	appendAll(t, s, all, 30)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Second) }

	p := query(t, s, Query{Room: "r@muc", Start: at(10), End: at(19)})
	equal(t, "start/end inclusive", ids(p.Messages), ids(all[10:20]))
	if !p.Complete {
		t.Fatal("not complete")
	}
	p = query(t, s, Query{Room: "r@muc", Start: at(25)})
	equal(t, "start", ids(p.Messages), ids(all[25:]))
	p = query(t, s, Query{Room: "r@muc", End: at(2)})
	equal(t, "end", ids(p.Messages), ids(all[:3]))

	var nick1 []Message
	for _, m := range all {
		if m.From == "r@muc/nick1" {
			nick1 = append(nick1, m)
		}
	}
	p = query(t, s, Query{Room: "r@muc", With: "r@muc/nick1"})
	equal(t, "with", ids(p.Messages), ids(nick1))
	p = query(t, s, Query{Room: "r@muc", With: "r@muc/nobody"})
	if len(p.Messages) != 0 || !p.Complete {
		t.Fatalf("with nobody: %+v", p)
	}

	// Filters and paging together: Complete counts matching messages only.
	p = query(t, s, Query{Room: "r@muc", With: "r@muc/nick1", Start: at(5), End: at(20), Max: 3})
	equal(t, "page 1", ids(p.Messages), ids([]Message{all[7], all[10], all[13]}))
	if p.Complete {
		t.Fatal("page 1 complete")
	}
	p = query(t, s, Query{Room: "r@muc", With: "r@muc/nick1", Start: at(5), End: at(20), Max: 3, After: all[13].ID})
	equal(t, "page 2", ids(p.Messages), ids([]Message{all[16], all[19]}))
	if !p.Complete {
		t.Fatal("page 2 not complete")
	}
	// The anchor need not match the filters.
	p = query(t, s, Query{Room: "r@muc", With: "r@muc/nick1", Last: true, Max: 2, Before: all[29].ID})
	equal(t, "backward", ids(p.Messages), ids([]Message{all[25], all[28]}))
	if p.Complete {
		t.Fatal("backward page complete")
	}
	p = query(t, s, Query{Room: "r@muc", With: "r@muc/nick1", Before: all[4].ID})
	equal(t, "backward to start", ids(p.Messages), ids([]Message{all[1]}))
	if !p.Complete {
		t.Fatal("backward to start not complete")
	}
}

func testNotFound(t *testing.T, s Store) {
	appendAll(t, s, msgs("a@muc", 0, 3), 10)
	appendAll(t, s, msgs("b@muc", 0, 3), 10)
	for _, q := range []Query{
		{Room: "a@muc", After: "nope"},
		{Room: "a@muc", Before: "nope"},
		{Room: "a@muc", Last: true, Before: "nope"},
		{Room: "a@muc", After: "b@muc-000001"}, // another room's message
		{Room: "empty@muc", After: "a@muc-000000"},
		{Room: "a@muc", After: "a@muc-000000", With: "nobody", Before: "nope"},
	} {
		if _, err := s.Query(ctx, q); !errors.Is(err, ErrNotFound) {
			t.Errorf("Query(%+v): %v, want ErrNotFound", q, err)
		}
	}
	p := query(t, s, Query{Room: "empty@muc"})
	if len(p.Messages) != 0 || !p.Complete {
		t.Fatalf("empty room: %+v", p)
	}
}

func testMaxClamp(t *testing.T, s Store) {
	appendAll(t, s, msgs("r@muc", 0, 1100), 1100)
	for _, c := range []struct{ max, want int }{{0, 100}, {-5, 1}, {1, 1}, {1000, 1000}, {5000, 1000}} {
		p := query(t, s, Query{Room: "r@muc", Max: c.max})
		if len(p.Messages) != c.want || p.Complete {
			t.Errorf("Max %d: %d messages, complete %v; want %d", c.max, len(p.Messages), p.Complete, c.want)
		}
	}
}

func testSeqOrder(t *testing.T, s Store) {
	// Stored in an order their times disagree with: the archive keeps the
	// order of storing.
	ms := []Message{msg("r@muc", 5), msg("r@muc", 1), msg("r@muc", 3)}
	must(t, s.Append(ctx, ms[:1]))
	must(t, s.Append(ctx, ms[1:]))
	equal(t, "query", ids(query(t, s, Query{Room: "r@muc"}).Messages), ids(ms))
	equal(t, "last", ids(query(t, s, Query{Room: "r@muc", Last: true, Max: 2}).Messages), ids(ms[1:]))
	l, err := s.Latest(ctx, "r@muc", 2)
	must(t, err)
	equal(t, "latest", ids(l), ids(ms[1:]))

	// Times come back at millisecond precision, in UTC; stanzas byte for
	// byte, empty ones included.
	m := Message{Room: "t@muc", ID: "t1", At: time.Date(2030, 1, 2, 3, 4, 5, 678_900_000, time.FixedZone("x", 3600)),
		From: "t@muc/n", Stanza: []byte{0, 1, 2, 0xff, '<'}}
	m2 := Message{Room: "t@muc", ID: "t2", At: t0}
	must(t, s.Append(ctx, []Message{m, m2}))
	p := query(t, s, Query{Room: "t@muc"})
	equal(t, "at", p.Messages[0].At, time.Date(2030, 1, 2, 2, 4, 5, 678_000_000, time.UTC))
	equal(t, "stanza", p.Messages[0].Stanza, m.Stanza)
	if len(p.Messages[1].Stanza) != 0 {
		t.Fatalf("empty stanza: %q", p.Messages[1].Stanza)
	}
}

func testLatest(t *testing.T, s Store) {
	all := msgs("r@muc", 0, 40)
	appendAll(t, s, interleave(all, msgs("o@muc", 0, 40)), 20)
	for _, c := range []struct{ n, from int }{{1, 39}, {10, 30}, {40, 0}, {100, 0}} {
		got, err := s.Latest(ctx, "r@muc", c.n)
		must(t, err)
		equal(t, "latest "+strconv.Itoa(c.n), got, all[c.from:])
	}
	got, err := s.Latest(ctx, "r@muc", 0)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("Latest 0: %d", len(got))
	}
	got, err = s.Latest(ctx, "none@muc", 5)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("Latest of empty room: %d", len(got))
	}
}

func testReplace(t *testing.T, s Store) {
	appendAll(t, s, msgs("r@muc", 0, 3), 3)
	ok, err := s.Replace(ctx, "r@muc", "r@muc-000001", []byte("<retracted/>"))
	must(t, err)
	if !ok {
		t.Fatal("Replace found nothing")
	}
	p := query(t, s, Query{Room: "r@muc"})
	equal(t, "replaced", string(p.Messages[1].Stanza), "<retracted/>")
	equal(t, "others kept", p.Messages[0].Stanza, msg("r@muc", 0).Stanza)
	for _, c := range [][2]string{{"r@muc", "nope"}, {"other@muc", "r@muc-000001"}} {
		ok, err := s.Replace(ctx, c[0], c[1], []byte("x"))
		must(t, err)
		if ok {
			t.Errorf("Replace(%s, %s) found a message", c[0], c[1])
		}
	}
}

func testExpire(t *testing.T, s Store) {
	appendAll(t, s, interleave(msgs("a@muc", 0, 20), msgs("b@muc", 0, 20)), 40)
	cut := t0.Add(10 * time.Second) // messages 0..9 of each room are older
	n, err := s.Expire(ctx, cut)
	must(t, err)
	equal(t, "expired", n, int64(20))
	equal(t, "kept", ids(query(t, s, Query{Room: "a@muc"}).Messages), ids(msgs("a@muc", 10, 20)))
	if _, err := s.Query(ctx, Query{Room: "a@muc", After: "a@muc-000003"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after an expired id: %v", err)
	}
	n, err = s.Expire(ctx, cut)
	must(t, err)
	equal(t, "expired again", n, int64(0))

	// More than one chunk's worth.
	appendAll(t, s, msgs("c@muc", 100, 100+expireChunk+7), 2000)
	n, err = s.Expire(ctx, t0.Add(time.Hour*1000))
	must(t, err)
	equal(t, "expired all", n, int64(expireChunk+7+10+10))
}

func testAppendAtomic(t *testing.T, s Store) {
	appendAll(t, s, msgs("r@muc", 0, 5), 5)
	// A duplicate id fails the whole batch, wherever it is.
	bad := msgs("r@muc", 5, 505)
	bad[400] = msg("r@muc", 2)
	if err := s.Append(ctx, bad); err == nil {
		t.Fatal("duplicate id accepted")
	}
	dup := msgs("r@muc", 5, 8)
	dup = append(dup, dup[0])
	if err := s.Append(ctx, dup); err == nil {
		t.Fatal("id twice in one batch accepted")
	}
	// Ids are unique across rooms too.
	if err := s.Append(ctx, []Message{{Room: "x@muc", ID: "r@muc-000000", At: t0}}); err == nil {
		t.Fatal("id of another room's message accepted")
	}
	if err := s.Append(ctx, []Message{{Room: "x@muc", At: t0}}); err == nil {
		t.Fatal("message without id accepted")
	}
	equal(t, "archive", ids(query(t, s, Query{Room: "r@muc", Max: 1000}).Messages), ids(msgs("r@muc", 0, 5)))
	must(t, s.Append(ctx, nil))
}

func testConcurrent(t *testing.T, s Store) {
	const workers, rounds, batch = 8, 25, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*2)
	for w := range workers {
		wg.Go(func() {
			room := fmt.Sprintf("r%d@muc", w%2)
			for i := range rounds {
				var ms []Message
				for k := range batch {
					m := msg(room, 0)
					m.ID = fmt.Sprintf("w%d-%d-%d", w, i, k)
					ms = append(ms, m)
				}
				if err := s.Append(ctx, ms); err != nil {
					errs <- err
				}
				if err := s.UpdateRoom(ctx, RoomUpdate{
					JID:             room,
					Data:            json.RawMessage(fmt.Sprintf(`{"w":%d}`, w)),
					SetAffiliations: []Affiliation{{JID: fmt.Sprintf("u%d-%d@x", w, i), Affiliation: "member"}},
				}); err != nil {
					errs <- err
				}
				if _, err := s.Query(ctx, Query{Room: room, Last: true, Max: 10}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := 0
	for _, room := range []string{"r0@muc", "r1@muc"} {
		p := query(t, s, Query{Room: room, Max: 1000})
		total += len(p.Messages)
		equal(t, "affiliations of "+room, len(load(t, s, room).Affiliations), workers/2*rounds)
	}
	equal(t, "messages", total, workers*rounds*batch)
}

// testConcurrentFailures mixes failing and succeeding writes at once, which
// a writer that commits queued writes together must keep apart.
func testConcurrentFailures(t *testing.T, s Store) {
	must(t, s.Append(ctx, []Message{msg("r@muc", 0)}))
	const n = 64
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := msg("r@muc", i+1)
			if i%2 == 1 {
				// Fails: the id is taken, after one good row.
				results[i] = s.Append(ctx, []Message{msg("r@muc", 1000+i), msg("r@muc", 0)})
				return
			}
			results[i] = s.Append(ctx, []Message{m})
		})
	}
	wg.Wait()
	want := map[string]bool{"r@muc-000000": true}
	for i, err := range results {
		if (err != nil) != (i%2 == 1) {
			t.Errorf("write %d: %v", i, err)
		}
		if i%2 == 0 {
			want[msg("r@muc", i+1).ID] = true
		}
	}
	got := map[string]bool{}
	for _, id := range ids(query(t, s, Query{Room: "r@muc", Max: 1000}).Messages) {
		got[id] = true
	}
	equal(t, "stored", got, want)
}

func testCancelled(t *testing.T, s Store) {
	c, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Append(c, msgs("r@muc", 0, 1)); err == nil {
		t.Error("Append with a cancelled context succeeded")
	}
	if err := s.UpdateRoom(c, RoomUpdate{JID: "r@muc"}); err == nil {
		t.Error("UpdateRoom with a cancelled context succeeded")
	}
	if _, err := s.Query(c, Query{Room: "r@muc"}); err == nil {
		t.Error("Query with a cancelled context succeeded")
	}
	if st := load(t, s, "r@muc"); st != nil {
		t.Errorf("room stored: %+v", st)
	}
	if p := query(t, s, Query{Room: "r@muc"}); len(p.Messages) != 0 {
		t.Errorf("messages stored: %d", len(p.Messages))
	}
	// The store still works.
	must(t, s.Append(ctx, msgs("r@muc", 0, 1)))
	if !bytes.Equal(query(t, s, Query{Room: "r@muc"}).Messages[0].Stanza, msg("r@muc", 0).Stanza) {
		t.Error("message not stored")
	}
}

// refQuery answers q from all messages in archive order, the slow and
// obvious way.
func refQuery(all []Message, q Query) (Page, error) {
	after, before := -1, len(all)
	find := func(id string) int {
		for i, m := range all {
			if m.ID == id && m.Room == q.Room {
				return i
			}
		}
		return -1
	}
	if q.After != "" {
		if after = find(q.After); after < 0 {
			return Page{}, ErrNotFound
		}
	}
	if q.Before != "" {
		if before = find(q.Before); before < 0 {
			return Page{}, ErrNotFound
		}
	}
	for _, id := range q.IDs {
		if find(id) < 0 {
			return Page{}, ErrNotFound
		}
	}
	var match []Message
	for i, m := range all {
		at := m.At.UnixMilli()
		switch {
		case m.Room != q.Room, i <= after, i >= before,
			!q.Start.IsZero() && at < q.Start.UnixMilli(),
			!q.End.IsZero() && at > q.End.UnixMilli(),
			q.With != "" && m.From != q.With,
			len(q.IDs) > 0 && !slices.Contains(q.IDs, m.ID):
			continue
		}
		match = append(match, m)
	}
	limit := clampMax(q.Max)
	p := Page{Complete: len(match) <= limit}
	switch {
	case p.Complete:
	case q.Before != "" || q.Last:
		match = match[len(match)-limit:]
	default:
		match = match[:limit]
	}
	p.Messages = match
	return p, nil
}

// testRandomQueries compares random queries with refQuery, in a room whose
// times only grow (with ties) and in one where they sometimes go back, which
// the store must notice.
func testRandomQueries(t *testing.T, s Store) {
	rng := rand.New(rand.NewPCG(7, 11))
	var all []Message
	monoAt, disAt := 0, 0
	for i := range 600 {
		var m Message
		if i%2 == 0 {
			m = msg("mono@muc", i)
			monoAt += rng.IntN(3) // 0: same time as the one before
			m.At = t0.Add(time.Duration(monoAt) * time.Second)
		} else {
			m = msg("dis@muc", i)
			disAt += 2
			at := disAt
			if i > 200 && rng.IntN(20) == 0 {
				at -= rng.IntN(100) // a clock that stepped back
			}
			m.At = t0.Add(time.Duration(at) * time.Second)
		}
		m.From = fmt.Sprintf("%s/n%d", m.Room, rng.IntN(4))
		all = append(all, m)
	}
	// In batches that both keep and break the order at their edges.
	for i := 0; i < len(all); i += 37 {
		must(t, s.Append(ctx, all[i:min(i+37, len(all))]))
	}
	var disorder int
	must(t, sqlOf(s).db.QueryRowContext(ctx,
		`SELECT disorder FROM archive_rooms WHERE room = $1`, "mono@muc").Scan(&disorder))
	equal(t, "mono@muc disorder", disorder, 0)
	must(t, sqlOf(s).db.QueryRowContext(ctx,
		`SELECT disorder FROM archive_rooms WHERE room = $1`, "dis@muc").Scan(&disorder))
	equal(t, "dis@muc disorder", disorder, 1)

	someID := func(room string) string {
		switch rng.IntN(10) {
		case 0:
			return "nope"
		case 1:
			return all[rng.IntN(len(all))].ID // maybe another room's
		}
		if room == "none@muc" {
			return all[0].ID
		}
		for {
			if m := all[rng.IntN(len(all))]; m.Room == room {
				return m.ID
			}
		}
	}
	someTime := func() time.Time {
		if rng.IntN(3) == 0 {
			return time.Time{}
		}
		return t0.Add(time.Duration(rng.IntN(700)-50) * time.Second)
	}
	for range 400 {
		q := Query{Room: []string{"mono@muc", "dis@muc", "none@muc"}[rng.IntN(3)], Max: 1 + rng.IntN(40)}
		q.Start, q.End = someTime(), someTime()
		if rng.IntN(3) == 0 {
			q.With = fmt.Sprintf("%s/n%d", q.Room, rng.IntN(5))
		}
		if rng.IntN(4) == 0 {
			for range 1 + rng.IntN(8) {
				q.IDs = append(q.IDs, someID(q.Room))
			}
		}
		switch rng.IntN(5) {
		case 0:
			q.After = someID(q.Room)
		case 1:
			q.Before = someID(q.Room)
		case 2:
			q.Last = true
		case 3:
			q.Last = true
			q.After = someID(q.Room)
		}
		want, wantErr := refQuery(all, q)
		got, err := s.Query(ctx, q)
		if !errors.Is(err, wantErr) {
			t.Fatalf("Query(%+v): error %v, want %v", q, err, wantErr)
		}
		if !reflect.DeepEqual(ids(got.Messages), ids(want.Messages)) || got.Complete != want.Complete {
			t.Fatalf("Query(%+v):\n got %q complete %v\nwant %q complete %v",
				q, ids(got.Messages), got.Complete, ids(want.Messages), want.Complete)
		}
	}
}

// testIDs: the ids filter (XEP-0313 §4.1.3) keeps only the named messages
// of the room, in archive order whatever the order asked, and pages; an id
// the room does not have is an error.
func testIDs(t *testing.T, s Store) {
	all := msgs("r@muc", 0, 20)
	appendAll(t, s, interleave(all, msgs("o@muc", 0, 20)), 40)
	for i, c := range [...]struct {
		q    Query
		want []Message
		done bool
	}{
		0: {Query{IDs: []string{all[7].ID, all[2].ID, all[15].ID}}, []Message{all[2], all[7], all[15]}, true},
		1: {Query{IDs: []string{all[3].ID, all[3].ID}}, []Message{all[3]}, true},
		2: {Query{IDs: []string{all[1].ID, all[2].ID, all[3].ID}, Max: 2}, []Message{all[1], all[2]}, false},
		3: {Query{IDs: []string{all[1].ID, all[2].ID, all[3].ID}, Max: 2, After: all[2].ID}, []Message{all[3]}, true},
		4: {Query{IDs: []string{all[1].ID, all[2].ID, all[3].ID}, Max: 2, Last: true}, []Message{all[2], all[3]}, false},
		5: {Query{IDs: []string{all[1].ID, all[9].ID}, With: all[1].From}, []Message{all[1]}, true},
	} {
		c.q.Room = "r@muc"
		p := query(t, s, c.q)
		equal(t, fmt.Sprintf("case %d", i), ids(p.Messages), ids(c.want))
		if p.Complete != c.done {
			t.Errorf("case %d: complete %v, want %v", i, p.Complete, c.done)
		}
	}
	for i, bad := range [...][]string{0: {"nope"}, 1: {all[3].ID, "nope"}, 2: {"o@muc-000004"}} {
		if _, err := s.Query(ctx, Query{Room: "r@muc", IDs: bad}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown id, case %d: %v, want ErrNotFound", i, err)
		}
	}
}

// testGet: one message by id, only within its room.
func testGet(t *testing.T, s Store) {
	appendAll(t, s, interleave(msgs("a@muc", 0, 5), msgs("b@muc", 0, 5)), 10)
	m, err := s.Get(ctx, "a@muc", "a@muc-000003")
	must(t, err)
	if m == nil {
		t.Fatal("Get found nothing")
	}
	equal(t, "message", *m, msg("a@muc", 3))
	for i, c := range [...][2]string{0: {"a@muc", "nope"}, 1: {"a@muc", "b@muc-000003"}, 2: {"none@muc", "a@muc-000001"}} {
		m, err := s.Get(ctx, c[0], c[1])
		must(t, err)
		if m != nil {
			t.Errorf("case %d: Get(%s, %s) = %+v", i, c[0], c[1], m)
		}
	}
}

// testBounds: the oldest and newest message by archive order, for the
// archive metadata (XEP-0313).
func testBounds(t *testing.T, s Store) {
	first, last, err := s.Bounds(ctx, "r@muc")
	must(t, err)
	if first != nil || last != nil {
		t.Fatalf("empty archive: %+v %+v", first, last)
	}
	// Stored out of time order: archive order decides.
	ms := []Message{msg("r@muc", 5), msg("r@muc", 9), msg("r@muc", 1)}
	appendAll(t, s, interleave(ms, msgs("o@muc", 0, 3)), 6)
	first, last, err = s.Bounds(ctx, "r@muc")
	must(t, err)
	if first == nil || last == nil {
		t.Fatal("no bounds")
	}
	equal(t, "first", *first, ms[0])
	equal(t, "last", *last, ms[2])
	appendAll(t, s, msgs("one@muc", 0, 1), 1)
	first, last, err = s.Bounds(ctx, "one@muc")
	must(t, err)
	equal(t, "one message", []string{first.ID, last.ID}, []string{"one@muc-000000", "one@muc-000000"})
}
