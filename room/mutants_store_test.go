package room

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"chorus/store"
)

// brokenStore is a memStore whose archive reads fail or return what a
// damaged database could.
type brokenStore struct {
	*memStore
	queryErr error  // Query fails with it
	getErr   error  // Get fails with it
	getBytes []byte // Get finds a message with this stanza
}

func (b *brokenStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	if b.queryErr != nil {
		return store.Page{}, b.queryErr
	}
	return b.memStore.Query(ctx, q)
}

func (b *brokenStore) Get(ctx context.Context, room, id string) (*store.Message, error) {
	switch {
	case b.getErr != nil:
		return nil, b.getErr
	case b.getBytes != nil:
		return &store.Message{Room: room, ID: id, Stanza: b.getBytes}, nil
	}
	return b.memStore.Get(ctx, room, id)
}

// TestArchiveReadFailures: when the store cannot answer, an archive query
// (XEP-0313) and a moderation (XEP-0425) get wait/internal-server-error,
// never an empty answer that looks like "no such message", and the
// operator hears of the failure. A stored message that no longer parses
// is as good as absent: item-not-found.
func TestArchiveReadFailures(t *testing.T) {
	for i, tc := range [...]struct {
		broken   brokenStore
		query    string
		want     string
		reported int
	}{
		0: {brokenStore{queryErr: errFail}, mamQuery("m", ""), "wait/internal-server-error", 1},
		1: {brokenStore{getErr: errFail}, moderateReq(room1, "gone-id", "spam"), "wait/internal-server-error", 1},
		2: {brokenStore{getBytes: []byte("<message")}, moderateReq(room1, "torn-id", "spam"), "cancel/item-not-found", 0},
		3: {brokenStore{queryErr: store.ErrNotFound}, mamQuery("m", ""), "cancel/item-not-found", 0},
	} {
		st := tc.broken
		st.memStore = newMemStore()
		var errs []error
		h := newStoreHarness(t, &st, &errs)
		h.createRoom("muc#roomconfig_persistentroom", "1")
		out := pick(h.send(romeo, tc.query), romeo, "iq")
		if len(out) != 1 || condition(out[0]) != tc.want {
			t.Errorf("%d: got %v, want %s", i, out, tc.want)
		}
		if len(errs) != tc.reported {
			t.Errorf("%d: %d store errors reported, want %d: %v", i, len(errs), tc.reported, errs)
		}
	}
}

// TestMAMBadDate: a start or end that is not an XEP-0082 date is a bad
// request naming the field.
func TestMAMBadDate(t *testing.T) {
	for i, field := range [...]string{0: "start", 1: "end"} {
		h := newStoreHarness(t, newMemStore(), nil)
		h.createRoom("muc#roomconfig_persistentroom", "1")
		out := h.send(romeo, mamForm("d", "", field, "yesterday"))
		if len(out) != 1 || condition(out[0]) != "modify/bad-request" {
			t.Fatalf("%d: %v", i, out)
		}
		if text := errorText(out[0]); text != "Bad date in "+field {
			t.Errorf("%d: text %q", i, text)
		}
	}
}

// TestAdminDestroyStoreUnreadable: a service admin destroying a room the
// store cannot load learns that nothing was done, and why; the operator
// hears of the failure.
func TestAdminDestroyStoreUnreadable(t *testing.T) {
	st := newMemStore()
	var errs []error
	h := newStoreHarness(t, st, &errs)
	st.failReads = true
	outs, found, err := h.g.Destroy("stored@conference.localhost", "", "")
	if err == nil || err.Error() != "room: The room could not be loaded" || !found || len(outs) != 0 {
		t.Errorf("destroy of an unreadable room: %v %v %v", outs, found, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], errFail) {
		t.Errorf("store errors reported: %v", errs)
	}
}

// TestRoomJIDsPagesThroughStore: the administrators' list of rooms reads
// the store page after page, so no room beyond the first page is missed.
func TestRoomJIDsPagesThroughStore(t *testing.T) {
	for i, n := range [...]int{0: MaxRoomPage - 1, 1: MaxRoomPage, 2: MaxRoomPage + 1, 3: 2*MaxRoomPage + 3} {
		st := newMemStore()
		for k := range n {
			j := fmt.Sprintf("r%05d@conference.localhost", k)
			st.list[j] = store.RoomSummary{JID: j}
		}
		h := newStoreHarness(t, st, nil)
		h.createRoom() // a live room, not stored
		got, err := h.g.RoomJIDs()
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if len(got) != n+1 || got[n] != room1 || got[0] != "r00000@conference.localhost" {
			t.Errorf("%d: %d rooms, want %d (first %q, last %q)", i, len(got), n+1, got[0], got[len(got)-1])
		}
	}
}

// TestStatsCountsRooms: the gauges count every live room, its occupants
// and their sessions.
func TestStatsCountsRooms(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send("juliet@localhost/phone", join("Juliet"))
	other := "other@conference.localhost"
	h.send(nurse, strings.Replace(join("Nurse"), room1, other, 1))
	if got, want := h.g.Stats(), (Stats{Rooms: 2, Occupants: 3, Sessions: 4}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

// TestTombstoneNotForgottenWhenStoreFails: an admin may bring a destroyed
// room back, but only once the store has dropped its tombstone; when the
// store refuses, the admin is told to wait and the room stays gone.
func TestTombstoneNotForgottenWhenStoreFails(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`)
	st.fail = true
	if out := h.send(admin, join("Admin")); len(out) != 1 || condition(out[0]) != "wait/internal-server-error" {
		t.Fatalf("recreation while the store fails: %v", out)
	}
	if out := h.send(juliet, join("Juliet")); len(out) != 1 || condition(out[0]) != "cancel/gone" {
		t.Errorf("tombstone lost: %v", out)
	}
	st.fail = false
	if out := h.send(admin, join("Admin")); len(out) == 0 || codes(out[0]) != "201,110" {
		t.Errorf("admin could not recreate the room: %v", out)
	}
}

// TestDamagedStoredRoomIsNotServed: a stored room whose record does not
// parse (here its vCard) is not served half-restored: a join is told to
// wait and the operator hears of it.
func TestDamagedStoredRoomIsNotServed(t *testing.T) {
	for i, data := range [...]string{0: `{"VCard":"<vCard"}`, 1: `{"Config":`} {
		st := newMemStore()
		st.rooms[room1] = &store.RoomState{JID: room1, Data: []byte(data)}
		var errs []error
		h := newStoreHarness(t, st, &errs)
		if out := h.send(juliet, join("Juliet")); len(out) != 1 || condition(out[0]) != "wait/internal-server-error" {
			t.Errorf("%d: join of a damaged room: %v", i, out)
		}
		if len(errs) != 1 {
			t.Errorf("%d: store errors reported: %v", i, errs)
		}
	}
}

// TestRestoredHistoryFollowsConfig: a stored room loaded again takes its
// history from the archive only as far as its configuration keeps one: a
// history length of 0 gives joiners none, however much is archived.
func TestRestoredHistoryFollowsConfig(t *testing.T) {
	for i, tc := range [...]struct {
		length string
		want   int
	}{
		0: {"0", 0},
		1: {"1", 1},
		2: {"5", 2},
	} {
		st := newMemStore()
		h := newStoreHarness(t, st, nil)
		h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_enablelogging", "1", "muc#roomconfig_historylength", tc.length)
		sayIn(t, h, romeo, room1, "one")
		sayIn(t, h, romeo, room1, "two")
		h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
		h.g.Close()
		h2 := newStoreHarness(t, st, nil)
		got := 0
		for _, m := range pick(h2.send(juliet, join("Juliet")), juliet, "message") {
			if m.Child(NSClient, "body") != nil {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("%d: %d history messages after a restart, want %d", i, got, tc.want)
		}
	}
}

// TestMAMEmptyArchive: a query of an archive with nothing in it is
// answered by a complete, empty page (XEP-0313 §4.2).
func TestMAMEmptyArchive(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	out := h.send(romeo, mamQuery("e", ""))
	ids, fin := resultIDs(out)
	if len(out) != 1 || len(ids) != 0 || fin == nil || fin.Attr("complete") != "true" {
		t.Errorf("empty archive: %v", out)
	}
}
