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
		if text := errorText(res[0]); text != tc.text {
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

// TestMultiValueFieldAtItsBound: a multi-valued field takes exactly
// maxFieldValues values, one more is refused.
func TestMultiValueFieldAtItsBound(t *testing.T) {
	for i, tc := range [...]struct {
		n  int
		ok bool
	}{
		0: {maxFieldValues, true},
		1: {maxFieldValues + 1, false},
	} {
		h := newHarness(t)
		h.createRoom()
		values := strings.TrimSuffix(strings.Repeat("moderator</value><value>", tc.n), "</value><value>")
		res := pick(h.send(romeo, config("muc#roomconfig_presencebroadcast", values)), romeo, "iq")
		if ok := len(res) == 1 && res[0].Attr("type") == "result"; ok != tc.ok {
			t.Errorf("%d: %d values accepted %v, want %v: %v", i, tc.n, ok, tc.ok, res)
		}
	}
}

// configValue returns the value of a field of the room's configuration
// form as its owner gets it.
func configValue(h *harness, v string) string {
	h.t.Helper()
	out := h.send(romeo, `<iq type='get' id='g' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`)
	for _, f := range out[0].FirstChild().FirstChild().Children() {
		if f.Attr("var") == v {
			return f.ChildText("jabber:x:data", "value")
		}
	}
	h.t.Fatalf("no field %s in %v", v, out)
	return ""
}

// TestMaxUsersCappedInForm: the service's ceiling on occupants shows in
// the room's form: a larger room limit, or none, is stored as the
// ceiling; a smaller one stays.
func TestMaxUsersCappedInForm(t *testing.T) {
	for i, tc := range [...]struct {
		set, want string
	}{
		0: {"50", "20"},
		1: {"none", "20"},
		2: {"10", "10"},
		3: {"20", "20"},
	} {
		h := newLimitedHarness(t, Limits{MaxOccupants: 20})
		h.createRoom("muc#roomconfig_maxusers", tc.set)
		if got := configValue(h, "muc#roomconfig_maxusers"); got != tc.want {
			t.Errorf("%d: maxusers %s, want %s", i, got, tc.want)
		}
	}
}

// TestAnonymityInDisco: disco#info names the room's anonymity
// (XEP-0045 §6.4): muc_nonanonymous when anyone sees real JIDs,
// muc_semianonymous otherwise, never both.
func TestAnonymityInDisco(t *testing.T) {
	for i, tc := range [...]struct {
		whois, has, hasNot string
	}{
		0: {"anyone", "muc_nonanonymous", "muc_semianonymous"},
		1: {"moderators", "muc_semianonymous", "muc_nonanonymous"},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_whois", tc.whois)
		info := h.send(juliet, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)[0].String()
		if !strings.Contains(info, "'"+tc.has+"'") || strings.Contains(info, "'"+tc.hasNot+"'") {
			t.Errorf("%d: %s", i, info)
		}
	}
}

// TestPresenceBroadcastChangeAnnounced: when the owner stops broadcasting
// a role (XEP-0045 §10.2 muc#roomconfig_presencebroadcast), the
// participants see its occupants go; when it is broadcast again they come back; a form
// that leaves it as it was announces nothing.
func TestPresenceBroadcastChangeAnnounced(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send(nurse, join("Nurse"))
	out := h.send(romeo, config("muc#roomconfig_presencebroadcast", "moderator"))
	if p := pick(out, nurse, "presence"); len(p) != 1 || p[0].Attr("type") != "unavailable" || p[0].Attr("from") != room1+"/Juliet" {
		t.Errorf("participants hidden: %v", out)
	}
	out = h.send(romeo, config("muc#roomconfig_presencebroadcast", "moderator"))
	if p := pick(out, nurse, "presence"); len(p) != 0 {
		t.Errorf("unchanged broadcast announced: %v", out)
	}
	out = h.send(romeo, config("muc#roomconfig_presencebroadcast", "moderator</value><value>participant"))
	if p := pick(out, nurse, "presence"); len(p) != 1 || p[0].Attr("type") != "" || p[0].Attr("from") != room1+"/Juliet" {
		t.Errorf("participants shown again: %v", out)
	}
}

// TestDestroyNotice: each occupant of a destroyed room gets the owner's
// reason and the alternate room's password when given (XEP-0045 §10.9),
// and no empty elements when not.
func TestDestroyNotice(t *testing.T) {
	for i, tc := range [...]struct {
		destroy          string
		reason, password string
	}{
		0: {`<destroy jid='alt@conference.localhost'><reason>Moved</reason><password>pw</password></destroy>`, "Moved", "pw"},
		1: {`<destroy jid='alt@conference.localhost'/>`, "", ""},
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(juliet, join("Juliet"))
		out := h.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'>`+tc.destroy+`</query></iq>`)
		p := pick(out, juliet, "presence")
		if len(p) != 1 {
			t.Fatalf("%d: %v", i, out)
		}
		d := child(p[0], NSMUCUser, "x", NSMUCUser, "destroy")
		if d.Attr("jid") != "alt@conference.localhost" {
			t.Errorf("%d: %v", i, p[0])
		}
		for _, e := range [...]struct{ name, want string }{{"reason", tc.reason}, {"password", tc.password}} {
			el := d.Child(NSMUCUser, e.name)
			if (el != nil) != (e.want != "") || (el != nil && el.Text() != e.want) {
				t.Errorf("%d: %s in %v", i, e.name, p[0])
			}
		}
	}
}

// TestNewRoomStartsCapped: a room being created starts with the service's
// ceiling as its limit, so the form its owner first sees shows it.
func TestNewRoomStartsCapped(t *testing.T) {
	h := newLimitedHarness(t, Limits{MaxOccupants: 20})
	h.send(romeo, join("Romeo"))
	if got := configValue(h, "muc#roomconfig_maxusers"); got != "20" {
		t.Errorf("maxusers of a new room %s, want 20", got)
	}
}
