package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

func jidsOf(rs []RoomSummary) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.JID)
	}
	return out
}

func listRooms(t testing.TB, s Store, q RoomListQuery) RoomList {
	t.Helper()
	l, err := s.ListRooms(ctx, q)
	if err != nil {
		t.Fatalf("ListRooms(%+v): %v", q, err)
	}
	return l
}

// testListRooms: rooms come in bytewise JID order (whatever the database's
// collation), tombstones never, and pages carry the total and the index of
// their first room.
func testListRooms(t *testing.T, s Store) {
	// Upper case, digits and non-ASCII sort differently under language
	// collations than bytewise.
	all := []string{"B@muc", "a@muc", "b@muc", "z9@muc", "zz@muc", "ä@muc", "é@muc"}
	public := map[string]bool{"B@muc": true, "b@muc": true, "zz@muc": true, "ä@muc": true, "é@muc": true}
	for _, j := range slices.Backward(all) {
		must(t, s.UpdateRoom(ctx, RoomUpdate{JID: j, Data: json.RawMessage(`{}`), Public: public[j], Name: "name of " + j}))
	}
	// A tombstone, and a room that was public before it was destroyed.
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "c@muc", Data: json.RawMessage(`{}`), Public: true}))
	must(t, s.DeleteRoom(ctx, "c@muc", &Tombstone{Until: time.Now().Add(time.Hour)}))
	must(t, s.DeleteRoom(ctx, "d@muc", &Tombstone{Until: time.Now().Add(time.Hour)}))
	// An update without data keeps what the list shows.
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "zz@muc", SetAffiliations: []Affiliation{{JID: "o@x", Affiliation: "owner"}}}))

	sorted := slices.Clone(all)
	slices.Sort(sorted)
	var pub []string
	for _, j := range sorted {
		if public[j] {
			pub = append(pub, j)
		}
	}
	for i, tc := range [...]struct {
		q     RoomListQuery
		want  []string
		total int
		index int
	}{
		0: {q: RoomListQuery{}, want: sorted, total: 7},
		1: {q: RoomListQuery{PublicOnly: true}, want: pub, total: 5},
		2: {q: RoomListQuery{PublicOnly: true, Max: 2}, want: pub[:2], total: 5},
		3: {q: RoomListQuery{PublicOnly: true, Max: 2, After: pub[1]}, want: pub[2:4], total: 5, index: 2},
		4: {q: RoomListQuery{PublicOnly: true, Max: 2, After: pub[3]}, want: pub[4:], total: 5, index: 4},
		5: {q: RoomListQuery{PublicOnly: true, Max: 2, After: pub[4]}, want: []string{}, total: 5},
		6: {q: RoomListQuery{PublicOnly: true, Max: 2, Last: true}, want: pub[3:], total: 5, index: 3},
		7: {q: RoomListQuery{PublicOnly: true, Max: 2, Before: pub[3]}, want: pub[1:3], total: 5, index: 1},
		8: {q: RoomListQuery{PublicOnly: true, Max: 2, Before: pub[1]}, want: pub[:1], total: 5},
		// Anchors need not be stored rooms: paging goes on past a room
		// destroyed meanwhile.
		9:  {q: RoomListQuery{PublicOnly: true, After: "c@muc"}, want: []string{"zz@muc", "ä@muc", "é@muc"}, total: 5, index: 2},
		10: {q: RoomListQuery{After: "a@muc", Max: 1}, want: []string{"b@muc"}, total: 7, index: 2},
	} {
		l := listRooms(t, s, tc.q)
		if got := jidsOf(l.Rooms); !slices.Equal(got, tc.want) || l.Total != tc.total || l.Index != tc.index {
			t.Errorf("%d: %+v: got %v total %d index %d, want %v total %d index %d", i, tc.q, got, l.Total, l.Index, tc.want, tc.total, tc.index)
		}
	}
	l := listRooms(t, s, RoomListQuery{After: "zz@muc", Max: 1})
	if len(l.Rooms) != 1 || l.Rooms[0] != (RoomSummary{JID: "ä@muc", Name: "name of ä@muc", Public: true}) {
		t.Errorf("summary: %+v", l.Rooms)
	}
	if l := listRooms(t, s, RoomListQuery{Max: 1, After: "z9@muc"}); l.Rooms[0].Name != "name of zz@muc" || !l.Rooms[0].Public {
		t.Errorf("update without data changed the listing: %+v", l.Rooms)
	}
	// Made private: gone from the public list.
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "b@muc", Data: json.RawMessage(`{}`)}))
	if l := listRooms(t, s, RoomListQuery{PublicOnly: true}); l.Total != 4 || slices.Contains(jidsOf(l.Rooms), "b@muc") {
		t.Errorf("private room listed: %+v", l)
	}
	// Revived from a tombstone without data: not public.
	must(t, s.UpdateRoom(ctx, RoomUpdate{JID: "c@muc"}))
	if l := listRooms(t, s, RoomListQuery{PublicOnly: true}); l.Total != 4 {
		t.Errorf("revived room listed as public: %+v", l)
	}
}

// TestMigrateRoomList: rows stored before the room list columns existed
// get them from their record.
func TestMigrateRoomList(t *testing.T) {
	ms, err := loadMigrations()
	must(t, err)
	for _, b := range []struct {
		name string
		open func(t *testing.T) (*sql.DB, string, dialect)
	}{
		{"sqlite", func(t *testing.T) (*sql.DB, string, dialect) {
			path := filepath.Join(t.TempDir(), "old.db")
			db := sql.OpenDB(dsnConnector{"file:" + path + "?" + sqliteWriteDSN})
			return db, "sqlite://" + path, sqliteDialect
		}},
		{"postgres", func(t *testing.T) (*sql.DB, string, dialect) {
			u := pgSchemaURL(t)
			cfg, err := pgx.ParseConfig(u)
			must(t, err)
			return stdlib.OpenDB(*cfg), u, postgresDialect
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			db, u, d := b.open(t)
			defer db.Close()
			c := context.Background()
			// The schema as the first migration left it.
			for {
				done, err := migrateStep(c, db, d, ms[:1])
				must(t, err)
				if done {
					break
				}
			}
			for i, data := range []string{
				0: `{"config":{"name":"Lounge","public":true}}`,
				1: `{"config":{"public":false}}`,
				2: `{"config":{"name":"Hidden"}}`,
			} {
				_, err := db.ExecContext(c, `INSERT INTO rooms (jid, data, updated) VALUES ($1, $2, 0)`, fmt.Sprintf("r%d@muc", i), data)
				must(t, err)
			}
			_, err := db.ExecContext(c, `INSERT INTO rooms (jid, data, tombstone_until, updated) VALUES ('gone@muc', NULL, $1, 0)`, time.Now().Add(time.Hour).UnixMilli())
			must(t, err)
			s := mustOpen(t, u)
			got := listRooms(t, s, RoomListQuery{})
			want := []RoomSummary{{JID: "r0@muc", Name: "Lounge", Public: true}, {JID: "r1@muc"}, {JID: "r2@muc", Name: "Hidden"}}
			if !slices.Equal(got.Rooms, want) || got.Total != 3 {
				t.Errorf("after migration: %+v", got)
			}
		})
	}
}

// TestListRoomsLanguageCollation: on a PostgreSQL whose text sorts by
// language rules (here the rooms' JID column, as a database created with
// such a locale would have it), rooms still page in bytewise order, which
// is the order the room package merges live rooms in.
func TestListRoomsLanguageCollation(t *testing.T) {
	u := pgSchemaURL(t)
	s := mustOpen(t, u)
	pgExec(t, u, `ALTER TABLE rooms ALTER COLUMN jid TYPE TEXT COLLATE "en-x-icu"`)
	jids := []string{"a@muc", "B@muc", "b@muc", "Z@muc", "ä@muc"}
	for _, j := range jids {
		must(t, s.UpdateRoom(ctx, RoomUpdate{JID: j, Data: json.RawMessage(`{}`), Public: true}))
	}
	slices.Sort(jids)
	var got []string
	for q := (RoomListQuery{Max: 2}); ; {
		l := listRooms(t, s, q)
		if len(l.Rooms) == 0 {
			break
		}
		if l.Index != len(got) {
			t.Errorf("index %d after %d rooms", l.Index, len(got))
		}
		got = append(got, jidsOf(l.Rooms)...)
		q.After = l.Rooms[len(l.Rooms)-1].JID
	}
	if !slices.Equal(got, jids) {
		t.Errorf("paged %v, want %v", got, jids)
	}
}
