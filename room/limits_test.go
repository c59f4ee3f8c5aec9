package room

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func newLimitedHarness(t *testing.T, l Limits) *harness {
	h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	n := 0
	h.g = NewRegistry(Options{Domain: "conference.localhost", Admins: []string{"admin@localhost"},
		Now: h.clock, NewID: func() string { n++; return fmt.Sprint("id", n) }, Limits: l})
	return h
}

func TestMessageRate(t *testing.T) {
	h := newLimitedHarness(t, Limits{MessageRate: 1, MessageBurst: 3})
	h.createRoom()
	msg := `<message type='groupchat' to='` + room1 + `'><body>x</body></message>`
	for i := 0; i < 3; i++ {
		if out := h.send(romeo, msg); len(out) != 1 || out[0].Attr("type") != "groupchat" {
			t.Fatalf("message %d within the burst refused: %v", i, out)
		}
	}
	out := h.send(romeo, msg)
	if len(out) != 1 || condition(out[0]) != "wait/policy-violation" {
		t.Fatalf("burst exceeded: %v", out)
	}
	// Private messages share the bucket.
	if out := h.send(romeo, `<message type='chat' to='`+room1+`/Romeo'><body>x</body></message>`); condition(out[0]) != "wait/policy-violation" {
		t.Errorf("pm over the rate: %v", out)
	}
	h.advance(2 * time.Second)
	if out := h.send(romeo, msg); out[0].Attr("type") != "groupchat" {
		t.Errorf("not refilled: %v", out)
	}
}

func TestLengthLimits(t *testing.T) {
	h := newLimitedHarness(t, Limits{MaxNick: 5, MaxSubject: 10, MaxBody: 20})
	h.createRoom()
	if out := h.send(juliet, join("Julietta")); condition(out[0]) != "modify/policy-violation" {
		t.Errorf("long nick: %v", out)
	}
	if out := h.send(romeo, `<presence to='`+room1+`/RomeoMontague'/>`); condition(out[0]) != "modify/policy-violation" {
		t.Errorf("long nick change: %v", out)
	}
	long := strings.Repeat("é", 21)
	if out := h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>`+long+`</body></message>`); condition(out[0]) != "modify/policy-violation" {
		t.Errorf("long body: %v", out)
	}
	if out := h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>`+strings.Repeat("é", 20)+`</body></message>`); out[0].Attr("type") != "groupchat" {
		t.Errorf("body at the limit (20 characters, 40 bytes) refused: %v", out)
	}
	if out := h.send(romeo, `<message type='groupchat' to='`+room1+`'><subject>`+long+`</subject></message>`); condition(out[0]) != "modify/policy-violation" {
		t.Errorf("long subject: %v", out)
	}
}

func TestRoomsPerUser(t *testing.T) {
	h := newLimitedHarness(t, Limits{RoomsPerUser: 2})
	for i := 0; i < 2; i++ {
		if out := h.send(romeo, strings.Replace(join("R"), "room@", fmt.Sprintf("r%d@", i), 1)); codes(out[0]) != "201,110" {
			t.Fatalf("room %d: %v", i, out)
		}
	}
	out := h.send(romeo, strings.Replace(join("R"), "room@", "r2@", 1))
	if len(out) != 1 || condition(out[0]) != "wait/resource-constraint" {
		t.Errorf("third room: %v", out)
	}
	if out := h.send(admin, strings.Replace(join("A"), "room@", "r3@", 1)); codes(out[0]) != "201,110" {
		t.Errorf("admins are exempt: %v", out)
	}
	// Leaving a room frees its slot.
	h.send(romeo, `<presence type='unavailable' to='r0@conference.localhost/R'/>`)
	if out := h.send(romeo, strings.Replace(join("R"), "room@", "r4@", 1)); codes(out[0]) != "201,110" {
		t.Errorf("slot not freed: %v", out)
	}
}

func TestMaxOccupantsCeiling(t *testing.T) {
	h := newLimitedHarness(t, Limits{MaxOccupants: 2})
	h.createRoom("muc#roomconfig_maxusers", "none")
	h.send(juliet, join("Juliet"))
	if out := h.send(nurse, join("Nurse")); condition(out[0]) != "cancel/service-unavailable" {
		t.Errorf("ceiling not applied: %v", out)
	}
}

func TestSessionCheckRemovesGhosts(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	pings := Flatten(h.g.CheckSessions())
	if len(pings) != 2 {
		t.Fatalf("pings: %v", pings)
	}
	for _, p := range pings {
		if p.Child(NSPing, "ping") == nil || p.Attr("from") != room1 {
			t.Errorf("ping %v", p)
		}
	}
	var toJuliet, toRomeo string
	for _, p := range pings {
		if p.Attr("to") == juliet {
			toJuliet = p.Attr("id")
		} else {
			toRomeo = p.Attr("id")
		}
	}
	// Romeo's client answers; Juliet's session is gone and her server says so.
	if out := h.send(romeo, `<iq type='result' id='`+toRomeo+`' to='`+room1+`'/>`); len(out) != 0 {
		t.Errorf("answer to a result: %v", out)
	}
	out := h.send(juliet, `<iq type='error' id='`+toJuliet+`' to='`+room1+`'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	if p := pick(out, romeo, "presence"); len(p) != 1 || codes(p[0]) != "333" {
		t.Errorf("ghost not removed: %v", out)
	}
	// A client that does not do pings stays.
	h.send(nurse, join("Nurse"))
	out = h.send(nurse, `<iq type='error' id='`+ghostPrefix+`x' to='`+room1+`'><error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	if len(out) != 0 || h.g.rooms[room1].occupantByNick("Nurse") == nil {
		t.Errorf("live client removed: %v", out)
	}
}
