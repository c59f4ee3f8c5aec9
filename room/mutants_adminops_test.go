package room

import (
	"context"
	"testing"
	"time"

	"chorus/store"
)

// TestAdminRoomShowsPasswordProtection: the room details say whether a
// password guards the room, both ways.
func TestAdminRoomShowsPasswordProtection(t *testing.T) {
	for _, tc := range []struct {
		fields []string
		want   bool
	}{
		{nil, false},
		{[]string{"muc#roomconfig_passwordprotectedroom", "1", "muc#roomconfig_roomsecret", "pw"}, true},
	} {
		h := newHarness(t)
		h.createRoom(tc.fields...)
		d, err := h.g.AdminRoom(room1)
		if err != nil {
			t.Fatal(err)
		}
		if d.PasswordProtected != tc.want {
			t.Errorf("fields %v: PasswordProtected = %v, want %v", tc.fields, d.PasswordProtected, tc.want)
		}
	}
}

// TestAdminCreateOverTombstone: an operator who creates a room that was
// destroyed brings it back for good: once it has left memory, a join
// enters it instead of being told it is gone.
func TestAdminCreateOverTombstone(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy><reason>closed</reason></destroy></query></iq>`)
	if _, err := h.g.AdminCreate(room1, "nurse@localhost", CreateOptions{Persistent: true}); err != nil {
		t.Fatal(err)
	}
	r := h.g.rooms[room1]
	if r == nil {
		t.Fatal("created room not live")
	}
	h.g.mu.Lock()
	delete(h.g.rooms, room1) // as when it leaves memory, empty
	h.g.mu.Unlock()
	out := h.send(juliet, join("Juliet"))
	if p := pick(out, juliet, "presence"); len(p) == 0 || p[0].Attr("type") == "error" {
		t.Fatalf("join of the recreated room: %v", out)
	}
}

// TestAdminCreateTakesServiceLimit: a room an operator creates gets the
// service's occupant limit, as one created by a join does.
func TestAdminCreateTakesServiceLimit(t *testing.T) {
	h := newLimitedHarness(t, Limits{MaxOccupants: 7})
	if _, err := h.g.AdminCreate(room1, "nurse@localhost", CreateOptions{Persistent: true}); err != nil {
		t.Fatal(err)
	}
	d, err := h.g.AdminRoom(room1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Config.MaxUsers != 7 {
		t.Errorf("MaxUsers = %d, want the service limit 7", d.Config.MaxUsers)
	}
}

// TestUnbanIsStored: a lifted ban is gone from the store too, so a
// restart does not bring it back; without a store, unbanning still works.
func TestUnbanIsStored(t *testing.T) {
	h, st := newSQLHarness(t)
	if _, err := h.g.Ban("spammer@localhost", "spam"); err != nil {
		t.Fatal(err)
	}
	if err := h.g.Unban("spammer@localhost"); err != nil {
		t.Fatal(err)
	}
	g2 := NewRegistry(Options{Domain: "conference.localhost", Store: st, Bans: st.(store.BanStore)})
	t.Cleanup(g2.Close)
	if err := g2.LoadBans(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bans, _ := g2.Bans(); len(bans) != 0 {
		t.Fatalf("bans after unban and restart = %+v", bans)
	}

	m := newHarness(t)
	if _, err := m.g.Ban("spammer@localhost", ""); err != nil {
		t.Fatal(err)
	}
	if err := m.g.Unban("spammer@localhost"); err != nil {
		t.Fatalf("unban without a store: %v", err)
	}
}

// TestPurgeEverythingBefore: a cut after the newest message purges the
// whole history and archive, including what the archive had queued and
// not yet written.
func TestPurgeEverythingBefore(t *testing.T) {
	h, st := newSQLHarness(t)
	roomWithJuliet(h)
	h.send(juliet, `<message to='`+room1+`' type='groupchat'><body>one</body></message>`)
	h.send(juliet, `<message to='`+room1+`' type='groupchat'><body>two</body></message>`)
	n, err := h.g.Purge(room1, h.clock().Add(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("purge = %d, %v; want 2", n, err)
	}
	h.g.archive.sync()
	if page, err := st.Query(context.Background(), store.Query{Room: room1}); err != nil || len(page.Messages) != 0 {
		t.Fatalf("archive after purge = %+v, %v", page, err)
	}
	if hist := pick(h.send(nurse, join("Nurse")), nurse, "message"); len(hist) != 1 || hist[0].Child(NSClient, "subject") == nil {
		t.Fatalf("history after purge = %v", hist)
	}
}
