package room

import (
	"strings"
	"testing"
)

// TestConfigFieldBounds attacks the configuration form with values of any
// size and shape: each is refused with not-acceptable and changes nothing.
func TestConfigFieldBounds(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	for i, tc := range [...]struct {
		fields []string
		ok     bool
	}{
		0:  {[]string{"muc#roomconfig_roomname", long(100 << 10)}, false},
		1:  {[]string{"muc#roomconfig_roomname", long(maxNameChars)}, true},
		2:  {[]string{"muc#roomconfig_roomname", long(maxNameChars + 1)}, false},
		3:  {[]string{"muc#roomconfig_roomdesc", long(maxDescChars)}, true},
		4:  {[]string{"muc#roomconfig_roomdesc", long(maxDescChars + 1)}, false},
		5:  {[]string{"muc#roomconfig_roomsecret", long(maxFieldChars + 1)}, false},
		6:  {[]string{"muc#roomconfig_roomsecret", long(maxFieldChars)}, true},
		7:  {[]string{"muc#roomconfig_lang", long(maxFieldChars + 1)}, false},
		8:  {[]string{"muc#roomconfig_historylength", strings.Repeat("1", maxFieldChars+1)}, false},
		9:  {[]string{"muc#roomconfig_persistentroom", "1</value><value>0"}, false}, // a boolean with two values
		10: {[]string{"muc#roomconfig_roomname", "a</value><value>b"}, false},
		11: {[]string{"muc#roomconfig_persistentroom", "1"}, true},
	} {
		h := newHarness(t)
		h.createRoom()
		before := h.g.rooms[room1].cfg
		out := h.send(romeo, config(tc.fields...))
		res := pick(out, romeo, "iq")
		if len(res) != 1 {
			t.Fatalf("%d: %v", i, out)
		}
		if tc.ok {
			if res[0].Attr("type") != "result" {
				t.Errorf("%d: refused: %v", i, res[0])
			}
			continue
		}
		if want := "modify/not-acceptable"; condition(res[0]) != want && (i != 8 || condition(res[0]) != "cancel/not-acceptable") {
			t.Errorf("%d: got %v, want not-acceptable", i, res[0])
		}
		if h.g.rooms[room1].cfg != before {
			t.Errorf("%d: a refused form changed the room", i)
		}
	}
}

// TestCreationPasswordBounded: the password given when creating a room
// becomes the room's, so it has the form's bound.
func TestCreationPasswordBounded(t *testing.T) {
	h := newHarness(t)
	out := h.send(romeo, join("Romeo", "<password>"+strings.Repeat("p", maxFieldChars+1)+"</password>"))
	if len(out) != 1 || condition(out[0]) != "modify/not-acceptable" {
		t.Fatalf("creation with a huge password: %v", out)
	}
	if h.g.rooms[room1] != nil && h.g.rooms[room1].created {
		t.Error("the room was created")
	}
}

// TestServiceAdminCannotBeBanned: an owner's change to a service admin's
// affiliation would be recorded and do nothing (admins own every room);
// it is refused instead of reported as done.
func TestServiceAdminCannotBeBanned(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	for i, aff := range []string{"outcast", "none", "member", "admin"} {
		out := h.send(romeo, admin1(`<item affiliation='`+aff+`' jid='admin@localhost'/>`))
		if len(out) != 1 || condition(out[0]) != "cancel/not-allowed" {
			t.Errorf("%d: %s for a service admin: %v", i, aff, out)
		}
	}
	if out := h.send(admin, join("Admin")); codes(pick(out, admin, "presence")[len(pick(out, admin, "presence"))-1]) != "110" {
		t.Errorf("the admin can no longer enter: %v", out)
	}
}
