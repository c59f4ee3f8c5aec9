package room

import "testing"

// TestAffiliationChangeSetsRole: an affiliation change gives the occupant
// the role of the new affiliation (XEP-0045 §5.1.2, §9.3, §10.6): up when
// the default role is higher, down when the affiliation is lowered, and a
// role a moderator granted is kept when the affiliation stays the same or
// rises to one whose default is lower than that role.
func TestAffiliationChangeSetsRole(t *testing.T) {
	for i, tc := range [...]struct {
		moderated bool
		before    []string // admin items sent first
		change    string
		role      string
	}{
		0: {true, nil, `<item affiliation='member' jid='juliet@localhost'/>`, "participant"},
		1: {false, nil, `<item affiliation='admin' jid='juliet@localhost'/>`, "moderator"},
		2: {false, []string{`<item affiliation='admin' jid='juliet@localhost'/>`}, `<item affiliation='member' jid='juliet@localhost'/>`, "participant"},
		3: {false, []string{`<item affiliation='member' jid='juliet@localhost'/>`, `<item role='moderator' nick='Juliet'/>`},
			`<item affiliation='member' jid='juliet@localhost'><reason>still a member</reason></item>`, "moderator"},
		4: {true, []string{`<item role='moderator' nick='Juliet'/>`}, `<item affiliation='member' jid='juliet@localhost'/>`, "moderator"},
		5: {false, []string{`<item affiliation='admin' jid='juliet@localhost'/>`}, `<item affiliation='none' jid='juliet@localhost'/>`, "participant"},
		6: {true, []string{`<item affiliation='member' jid='juliet@localhost'/>`}, `<item affiliation='none' jid='juliet@localhost'/>`, "visitor"},
	} {
		h := newHarness(t)
		if tc.moderated {
			h.createRoom("muc#roomconfig_moderatedroom", "1")
		} else {
			h.createRoom()
		}
		h.send(juliet, join("Juliet"))
		for _, it := range tc.before {
			if res := pick(h.send(romeo, admin1(it)), romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
				t.Fatalf("%d: %s: %v", i, it, res)
			}
		}
		out := h.send(romeo, admin1(tc.change))
		if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
			t.Fatalf("%d: %v", i, out)
		}
		if got := h.g.rooms[room1].occupantByNick("Juliet").Role.String(); got != tc.role {
			t.Errorf("%d: role %s, want %s", i, got, tc.role)
		}
		p := pick(out, juliet, "presence")
		if len(p) != 1 || child(p[0], NSMUCUser, "x", NSMUCUser, "item").Attr("role") != tc.role {
			t.Errorf("%d: presence to Juliet %v", i, p)
		}
	}
}
