package room

import (
	"testing"

	"chorus/stanza"
)

// affList asks for one affiliation list as romeo (the owner) and returns
// its items.
func affList(h *harness, aff string) []*stanza.Element {
	h.t.Helper()
	out := h.send(romeo, `<iq type='get' id='l' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='`+aff+`'/></query></iq>`)
	if len(out) != 1 || out[0].Attr("type") != "result" {
		h.t.Fatalf("list %s: %v", aff, out)
	}
	return out[0].FirstChild().ChildrenNamed(NSMUCAdmin, "item")
}

// TestAffiliationByNick: an affiliation change may name an occupant by
// nick instead of JID (some clients do); the room grants it to that
// occupant's bare JID and reserves no nick with it. Naming nobody is a bad
// request.
func TestAffiliationByNick(t *testing.T) {
	for i, tc := range [...]struct {
		item, want string
	}{
		0: {`<item affiliation='member' nick='Juliet'/>`, "result"},
		1: {`<item affiliation='member' nick='Nobody'/>`, "modify/bad-request"},
		2: {`<item affiliation='member'/>`, "modify/bad-request"},
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(juliet, join("Juliet"))
		res := pick(h.send(romeo, admin1(tc.item)), romeo, "iq")
		if len(res) != 1 {
			t.Fatalf("%d: %v", i, res)
		}
		if got := res[0].Attr("type"); got != tc.want && condition(res[0]) != tc.want {
			t.Errorf("%d: got %v, want %s", i, res[0], tc.want)
		}
		if tc.want != "result" {
			continue
		}
		items := affList(h, "member")
		if len(items) != 1 || items[0].Attr("jid") != "juliet@localhost" || items[0].Attr("nick") != "" {
			t.Errorf("%d: members %v", i, items)
		}
	}
}

// TestAffiliationChangeKeepsReservedNick: changing a member's affiliation
// without naming a nick keeps the nick the member reserved (XEP-0045
// §9.3 lets the admin reserve one with the membership); naming a nick
// replaces it.
func TestAffiliationChangeKeepsReservedNick(t *testing.T) {
	for i, tc := range [...]struct {
		change, nick string
	}{
		0: {`<item affiliation='admin' jid='juliet@localhost'/>`, "Jules"},
		1: {`<item affiliation='admin' jid='juliet@localhost' nick='Julia'/>`, "Julia"},
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost' nick='Jules'/>`))
		if res := pick(h.send(romeo, admin1(tc.change)), romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
			t.Fatalf("%d: %v", i, res)
		}
		items := affList(h, "admin")
		if len(items) != 1 || items[0].Attr("nick") != tc.nick {
			t.Errorf("%d: admins %v, want nick %q", i, items, tc.nick)
		}
	}
}
