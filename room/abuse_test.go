package room

import (
	"strings"
	"testing"
	"time"

	"chorus/stanza"
)

func invite(to ...string) string {
	s := `<message to='` + room1 + `'><x xmlns='http://jabber.org/protocol/muc#user'>`
	for _, j := range to {
		s += `<invite to='` + j + `'><reason>spam</reason></invite>`
	}
	return s + `</x></message>`
}

// relayed counts the invitations in out.
func relayed(out []Out) int {
	n := 0
	for _, st := range Flatten(out) {
		if st.Local == "message" && st.Child(NSMUCUser, "x").Child(NSMUCUser, "invite") != nil {
			n++
		}
	}
	return n
}

// TestInvitationAmplification attacks an open room as a relay for spam:
// an outsider sends invitations, several per stanza, as fast as it can.
func TestInvitationAmplification(t *testing.T) {
	h := newLimitedHarness(t, Limits{MessageRate: 1, MessageBurst: 5})
	h.createRoom()
	h.send(juliet, join("Juliet"))

	// An outsider: neither occupant nor affiliated.
	total := 0
	for i := 0; i < 200; i++ {
		out := h.g.Handle(mustStanza(tybalt, invite("victim@localhost")))
		total += relayed(out)
		if i == 0 {
			if f := Flatten(out); len(f) != 1 || condition(f[0]) != "auth/forbidden" {
				t.Fatalf("outsider's invitation: %v", f)
			}
		}
	}
	if total != 0 {
		t.Errorf("%d of 200 invitations from an outsider relayed", total)
	}

	// An occupant: only the first invitation of a stanza, and each one
	// spends a message token.
	out := h.send(juliet, invite("a@localhost", "b@localhost", "c@localhost"))
	if got := pick(out, "a@localhost", "message"); len(got) != 1 {
		t.Errorf("first invitation: %v", out)
	}
	if n := len(out); n != 1 {
		t.Errorf("one stanza made the room send %d: %v", n, out)
	}
	total = 1
	for i := 0; i < 50; i++ {
		total += relayed(h.g.Handle(mustStanza(juliet, invite("victim@localhost"))))
	}
	if total != 5 {
		t.Errorf("%d invitations relayed in one instant, want the burst of 5", total)
	}
	// Messages share the bucket.
	if out := h.send(juliet, groupchatX); len(out) != 1 || condition(out[0]) != "wait/policy-violation" {
		t.Errorf("message after the invitations used the burst: %v", out)
	}

	// An affiliated user who is not in the room may invite.
	h.advance(time.Minute)
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	if out := h.send(nurse, invite("friend@localhost")); len(pick(out, "friend@localhost", "message")) != 1 {
		t.Errorf("member's invitation: %v", out)
	}
}

// TestInvitationToOutcastNotRelayed: the room does not carry messages to
// people banned from it.
func TestInvitationToOutcastNotRelayed(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='outcast' jid='tybalt@localhost'/>`))
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, invite("tybalt@localhost/sword"))
	if len(pick(out, "tybalt@localhost/sword", "message")) != 0 {
		t.Errorf("invitation relayed to an outcast: %v", out)
	}
	if len(out) != 1 || condition(out[0]) != "cancel/not-allowed" {
		t.Errorf("inviter's answer: %v", out)
	}
}

// TestVoiceRequestFlood: one visitor's requests reach the moderators once
// per interval; the others are refused to the visitor alone.
func TestVoiceRequestFlood(t *testing.T) {
	h := newLimitedHarness(t, Limits{VoiceRequestInterval: 300 * time.Second})
	h.createRoom("muc#roomconfig_moderatedroom", "1")
	h.send(juliet, join("Juliet"))
	const ask = `<message to='` + room1 + `'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>` +
		`<field var='muc#role'><value>participant</value></field></x></message>`
	forms := 0
	for i := 0; i < 100; i++ {
		out := h.send(juliet, ask)
		forms += len(pick(out, romeo, "message"))
		if i > 0 && (len(out) != 1 || condition(out[0]) != "wait/policy-violation") {
			t.Fatalf("request %d: %v", i, out)
		}
	}
	if forms != 1 {
		t.Errorf("moderators got %d voice requests, want 1", forms)
	}
	// Leaving and rejoining does not reset it; the interval does.
	h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	h.send(juliet, join("Juliet"))
	if out := h.send(juliet, ask); len(pick(out, romeo, "message")) != 0 {
		t.Errorf("rejoining reset the interval: %v", out)
	}
	h.advance(300 * time.Second) // the interval is over at its very end
	if out := h.send(juliet, ask); len(pick(out, romeo, "message")) != 1 {
		t.Errorf("request after the interval: %v", out)
	}
}

// TestVoiceRequestIntervalZeroDisables: 0 means no interval.
func TestVoiceRequestIntervalZeroDisables(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_moderatedroom", "1")
	h.send(juliet, join("Juliet"))
	const ask = `<message to='` + room1 + `'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field></x></message>`
	for i := 0; i < 3; i++ {
		if out := h.send(juliet, ask); len(pick(out, romeo, "message")) != 1 {
			t.Fatalf("request %d: %v", i, out)
		}
	}
}

// TestOccupantIDCannotBeForged: every stanza the room sends from an
// occupant carries the room's occupant id for that occupant and no other,
// whatever the sender put in it (XEP-0421 §4).
func TestOccupantIDCannotBeForged(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send(nurse, join("Nurse"))
	r := h.g.rooms[room1]
	romeoID, julietID := r.occupantID("romeo@localhost"), r.occupantID("juliet@localhost")
	forged := `<occupant-id xmlns='urn:xmpp:occupant-id:0' id='` + romeoID + `'/>`

	check := func(what string, out []Out, from string, wantID string) {
		t.Helper()
		n := 0
		for _, st := range Flatten(out) {
			if st.Attr("from") != from || st.Attr("type") == "error" {
				continue
			}
			n++
			ids := st.ChildrenNamed(NSOccupantID, "occupant-id")
			if len(ids) != 1 || ids[0].Attr("id") != wantID {
				t.Errorf("%s: %v carries %d occupant ids, want exactly the room's %s", what, st, len(ids), wantID)
			}
		}
		if n == 0 {
			t.Errorf("%s: nothing sent from %s: %v", what, from, Flatten(out))
		}
	}
	jfrom := room1 + "/Juliet"
	check("private message", h.g.Handle(mustStanza(juliet,
		`<message type='chat' to='`+room1+`/Nurse'><body>I am Romeo</body>`+forged+`</message>`)), jfrom, julietID)
	check("groupchat", h.g.Handle(mustStanza(juliet,
		`<message type='groupchat' to='`+room1+`'><body>I am Romeo</body>`+forged+`</message>`)), jfrom, julietID)
	check("presence", h.g.Handle(mustStanza(juliet,
		`<presence to='`+room1+`/Juliet'><show>away</show>`+forged+`</presence>`)), jfrom, julietID)
	h.send(romeo, config("muc#roomconfig_changesubject", "1"))
	check("subject", h.g.Handle(mustStanza(juliet,
		`<message type='groupchat' to='`+room1+`'><subject>Romeo's</subject>`+forged+`</message>`)), jfrom, julietID)
	// One of several sessions leaving gets its own unavailable presence.
	h.send("juliet@localhost/phone", join("Juliet"))
	check("one session leaving", h.g.Handle(mustStanza("juliet@localhost/phone",
		`<presence type='unavailable' to='`+room1+`/Juliet'>`+forged+`</presence>`)), jfrom, julietID)
	// History sent to a newcomer keeps the room's ids.
	out := h.g.Handle(mustStanza(benvolio, join("Benvolio")))
	for _, st := range pick(Flatten(out), benvolio, "message") {
		if st.Attr("from") != jfrom {
			continue
		}
		if ids := st.ChildrenNamed(NSOccupantID, "occupant-id"); len(ids) != 1 || ids[0].Attr("id") != julietID {
			t.Errorf("history: %v", st)
		}
	}
	// Invitations come from the room: no occupant id of the sender's.
	for _, st := range Flatten(h.g.Handle(mustStanza(juliet, strings.Replace(invite("friend@localhost"), "</x>", "</x>"+forged, 1)))) {
		if st.Child(NSOccupantID, "occupant-id") != nil {
			t.Errorf("invitation carries a sender's occupant id: %v", st)
		}
	}
}

// mustStanza parses a stanza and sets its sender.
func mustStanza(from, s string) *stanza.Element {
	st := stanza.MustParse(s)
	st.SetAttr("from", from)
	return st
}
