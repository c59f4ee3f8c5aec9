package room

import (
	"fmt"
	"testing"
)

// TestRoomFullAtItsBound: XEP-0045 §7.2.10 at the bound: the room's own
// limit and the service's ceiling, the lower of the two, each taken
// exactly. A full room still lets in another session of an occupant
// (it is not a new occupant), and admins and owners, but not members.
func TestRoomFullAtItsBound(t *testing.T) {
	for i, tc := range [...]struct {
		room, service int // 0: none
		third         bool
	}{
		0: {2, 0, false},
		1: {0, 2, false},
		2: {3, 2, false},
		3: {2, 3, false},
		4: {3, 0, true},
		5: {0, 3, true},
		6: {0, 0, true},
		7: {3, 4, true},
	} {
		h := newLimitedHarness(t, Limits{MaxOccupants: tc.service})
		if tc.room == 0 {
			h.createRoom()
		} else {
			h.createRoom("muc#roomconfig_maxusers", fmt.Sprint(tc.room))
		}
		if out := h.send(juliet, join("Juliet")); codes(out[0]) != "" || out[0].Attr("type") == "error" {
			t.Fatalf("%d: second occupant refused: %v", i, out)
		}
		out := h.send(nurse, join("Nurse"))
		if in := out[0].Attr("type") != "error"; in != tc.third {
			t.Errorf("%d: third occupant admitted %v, want %v: %v", i, in, tc.third, out)
		}
		if !tc.third && condition(out[0]) != "cancel/service-unavailable" {
			t.Errorf("%d: refusal %v", i, out[0])
		}
	}
}

// TestFullRoomAdmits: who still enters a full room.
func TestFullRoomAdmits(t *testing.T) {
	for i, tc := range [...]struct {
		aff  string // given to nurse@localhost before the room fills
		from string
		in   bool
	}{
		0: {"", "juliet@localhost/phone", true}, // another session of an occupant
		1: {"member", nurse, false},
		2: {"admin", nurse, true},
		3: {"owner", nurse, true},
		4: {"", nurse, false},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_maxusers", "2")
		if tc.aff != "" {
			h.send(romeo, admin1(`<item affiliation='`+tc.aff+`' jid='nurse@localhost'/>`))
		}
		h.send(juliet, join("Juliet"))
		nick := "Nurse"
		if tc.from != nurse {
			nick = "Juliet"
		}
		out := pick(h.send(tc.from, join(nick)), tc.from, "presence")
		if len(out) == 0 {
			t.Fatalf("%d: no answer", i)
		}
		if in := out[len(out)-1].Attr("type") != "error"; in != tc.in {
			t.Errorf("%d: admitted %v, want %v: %v", i, in, tc.in, out)
		}
	}
}
