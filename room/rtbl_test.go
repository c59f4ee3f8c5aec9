package room

import (
	"sync"
	"testing"
)

// listSet is a Blocklist of bare JIDs for tests.
type listSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (l *listSet) Listed(bare string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.m[bare]
}

func (l *listSet) set(bare string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[bare] = on
}

func blocklistHarness(t *testing.T) (*harness, *listSet) {
	h := newHarness(t)
	l := &listSet{m: map[string]bool{}}
	h.g.svc.blocklist = l
	return h, l
}

// TestBlocklistRefusesJoin: a listed user is refused with auth/forbidden,
// in an existing room and when it would create one; a member of the room
// and a service admin are let in.
func TestBlocklistRefusesJoin(t *testing.T) {
	h, l := blocklistHarness(t)
	h.createRoom()
	l.set("juliet@localhost", true)
	out := h.send(juliet, join("Juliet"))
	if len(out) != 1 || out[0].Attr("to") != juliet || condition(out[0]) != "auth/forbidden" {
		t.Fatalf("listed user: %v", out)
	}
	if h.g.Refusals().Blocklist != 1 {
		t.Errorf("refusals: %+v", h.g.Refusals())
	}
	// Creating a room is entering it too.
	out = h.send(juliet, `<presence to='other@conference.localhost/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	if len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("listed user creating a room: %v", out)
	}
	// The room's affiliations win.
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	if out := h.send(juliet, join("Juliet")); codes(pick(out, juliet, "presence")[len(pick(out, juliet, "presence"))-1]) != "110" {
		t.Errorf("listed member refused: %v", out)
	}
	l.set("admin@localhost", true)
	if out := h.send(admin, `<presence to='third@conference.localhost/Admin'><x xmlns='http://jabber.org/protocol/muc'/></presence>`); len(pick(out, admin, "presence")) == 0 || condition(out[0]) == "auth/forbidden" {
		t.Errorf("listed service admin refused: %v", out)
	}
	l.set("juliet@localhost", false)
	if out := h.send(nurse, join("Nurse")); codes(pick(out, nurse, "presence")[len(pick(out, nurse, "presence"))-1]) != "110" {
		t.Errorf("unlisted user refused: %v", out)
	}
}

// TestBlocklistedRemovesOccupants: occupants who become listed are removed
// with status 301, as if banned, and everyone is told; affiliated ones
// stay; once off the list the user may enter again.
func TestBlocklistedRemovesOccupants(t *testing.T) {
	h, l := blocklistHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send(nurse, join("Nurse"))
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	if outs := h.g.Blocklisted(); len(outs) != 0 {
		t.Errorf("nobody listed, yet: %v", Flatten(outs))
	}
	l.set("juliet@localhost", true)
	l.set("nurse@localhost", true)
	out := Flatten(h.g.Blocklisted())
	if len(out) != 3 {
		t.Fatalf("removal: %v", out)
	}
	for _, p := range out {
		if p.Attr("from") != room1+"/Juliet" || p.Attr("type") != "unavailable" || codes(p) != "301" && codes(p) != "301,110" {
			t.Errorf("removal presence: %v", p)
		}
	}
	if got := codes(pick(out, juliet, "presence")[0]); got != "301,110" {
		t.Errorf("self-presence codes %q", got)
	}
	r := h.g.rooms[room1]
	if len(r.occupants) != 2 || r.byNick[nickKey("Nurse")] == nil {
		t.Errorf("occupants left: %d", len(r.occupants))
	}
	l.set("juliet@localhost", false)
	if out := h.send(juliet, join("Juliet")); codes(pick(out, juliet, "presence")[len(pick(out, juliet, "presence"))-1]) != "110" {
		t.Errorf("unlisted again, refused: %v", out)
	}
}
