package room

import (
	"strings"
	"testing"
)

// TestConfigRefusalsSayWhy: every field of muc#roomconfig that the owner
// may get wrong is refused with not-acceptable and a text naming the field
// (XEP-0045 §10.2: the service SHOULD say why it refused the form), and the
// refused form changes nothing.
func TestConfigRefusalsSayWhy(t *testing.T) {
	many := strings.TrimSuffix(strings.Repeat("moderator,", maxFieldValues+1), ",")
	for i, tc := range [...]struct {
		field, value string
		cond, text   string
	}{
		0: {"muc#roomconfig_persistentroom", "maybe", "cancel/not-acceptable", "Field muc#roomconfig_persistentroom must be a boolean"},
		1: {"muc#roomconfig_allowinvites", "maybe", "cancel/not-acceptable", "Field muc#roomconfig_allowinvites must be a boolean"},
		2: {"muc#roomconfig_passwordprotectedroom", "maybe", "cancel/not-acceptable", "Field muc#roomconfig_passwordprotectedroom must be a boolean"},
		3: {"muc#roomconfig_historylength", "-1", "cancel/not-acceptable", "History length must be a number from 0 to 1000"},
		4: {"muc#roomconfig_historylength", "1001", "cancel/not-acceptable", "History length must be a number from 0 to 1000"},
		5: {"muc#roomconfig_maxusers", "-3", "cancel/not-acceptable", "muc#roomconfig_maxusers must be a positive number or none"},
		6: {"muc#roomconfig_allowpm", "everybody", "cancel/not-acceptable", "muc#roomconfig_allowpm must be anyone, participants, moderators or none"},
		7: {"muc#roomconfig_presencebroadcast", "wizard", "cancel/not-acceptable", "Unknown role in muc#roomconfig_presencebroadcast"},
		8: {"muc#roomconfig_presencebroadcast", many, "modify/not-acceptable", "Field muc#roomconfig_presencebroadcast has too many values"},
	} {
		h := newHarness(t)
		h.createRoom()
		before := h.g.rooms[room1].cfg
		values := strings.Join(strings.Split(tc.value, ","), `</value><value>`)
		res := pick(h.send(romeo, config(tc.field, values)), romeo, "iq")
		if len(res) != 1 {
			t.Fatalf("%d: %v", i, res)
		}
		if got := condition(res[0]); got != tc.cond {
			t.Errorf("%d: got %s, want %s", i, got, tc.cond)
		}
		if _, text := stanzaErrorOf(res[0]); text != tc.text {
			t.Errorf("%d: text %q, want %q", i, text, tc.text)
		}
		if h.g.rooms[room1].cfg != before {
			t.Errorf("%d: a refused form changed the room", i)
		}
	}
}

// TestOwnerSetWithoutPayload: a muc#owner set with nothing in the query is
// a bad request, not an instant room (XEP-0045 §10.1.2 wants an empty
// submitted form for that).
func TestOwnerSetWithoutPayload(t *testing.T) {
	h := newHarness(t)
	h.send(romeo, join("Romeo"))
	out := h.send(romeo, `<iq type='set' id='e' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`)
	if len(out) != 1 || condition(out[0]) != "modify/bad-request" {
		t.Fatalf("empty owner set: %v", out)
	}
	// The room is still locked: Juliet cannot enter.
	if out := h.send(juliet, join("Juliet")); condition(out[0]) != "cancel/item-not-found" {
		t.Errorf("empty owner set unlocked the room: %v", out)
	}
}

// TestStanzaErrorString: the Go error of a stanza error is its condition,
// and its text after a colon when it has one (what the logs show).
func TestStanzaErrorString(t *testing.T) {
	for i, tc := range [...]struct {
		e    *stanzaError
		want string
	}{
		0: {errForbidden, "forbidden"},
		1: {errForbidden.withText("Go away"), "forbidden: Go away"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%d: got %q, want %q", i, got, tc.want)
		}
	}
}
