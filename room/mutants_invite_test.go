package room

import "testing"

func inviteReq(to string) string {
	return `<message to='` + room1 + `'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='` + to + `'/></x></message>`
}

// TestInviteIntoMembersOnlyGrantsMembership: an invitation into a
// members-only room makes the invitee a member (XEP-0045 §9.3), with a
// reason naming the inviter by nick; it never lowers an admin, nor
// rewrites a member's record.
func TestInviteIntoMembersOnlyGrantsMembership(t *testing.T) {
	for i, tc := range [...]struct {
		before      string // admin item for nurse@localhost, if any
		aff, reason string // nurse's record after the invitation
	}{
		0: {"", "member", "Invited by Romeo"},
		1: {`<item affiliation='member' jid='nurse@localhost'><reason>old friend</reason></item>`, "member", "old friend"},
		2: {`<item affiliation='admin' jid='nurse@localhost'/>`, "admin", ""},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_membersonly", "1")
		if tc.before != "" {
			h.send(romeo, admin1(tc.before))
		}
		if out := h.send(romeo, inviteReq("nurse@localhost")); len(pick(out, "nurse@localhost", "message")) != 1 {
			t.Fatalf("%d: invitation not sent: %v", i, out)
		}
		r := h.g.rooms[room1]
		if got := r.affiliation("nurse@localhost").String(); got != tc.aff {
			t.Errorf("%d: affiliation %s, want %s", i, got, tc.aff)
		}
		if got := r.affs["nurse@localhost"].reason; got != tc.reason {
			t.Errorf("%d: reason %q, want %q", i, got, tc.reason)
		}
	}
}

// TestInvitationNamesInviter: in a semi-anonymous room the invitee learns
// the inviter's occupant JID only, unless the invitee will be a moderator
// there and so may see real JIDs (XEP-0045 §7.8.2); in a non-anonymous
// room it gets the real JID.
func TestInvitationNamesInviter(t *testing.T) {
	for i, tc := range [...]struct {
		whois, aff, from string
	}{
		0: {"moderators", "", room1 + "/Romeo"},
		1: {"moderators", "member", room1 + "/Romeo"},
		2: {"moderators", "admin", romeo},
		3: {"anyone", "", romeo},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_whois", tc.whois)
		if tc.aff != "" {
			h.send(romeo, admin1(`<item affiliation='`+tc.aff+`' jid='nurse@localhost'/>`))
		}
		m := pick(h.send(romeo, inviteReq("nurse@localhost")), "nurse@localhost", "message")
		if len(m) != 1 {
			t.Fatalf("%d: %v", i, m)
		}
		if got := child(m[0], NSMUCUser, "x", NSMUCUser, "invite").Attr("from"); got != tc.from {
			t.Errorf("%d: invite from %q, want %q", i, got, tc.from)
		}
	}
}

// TestInviteFromAnotherSession: an occupant may invite from a session
// that is not in the room (its other device); someone with no session in
// the room and no affiliation may not (XEP-0045 §7.8.2 invitations come
// from occupants).
func TestInviteFromAnotherSession(t *testing.T) {
	for i, tc := range [...]struct {
		from string
		ok   bool
	}{
		0: {"juliet@localhost/phone", true},
		1: {"nurse@localhost/kitchen", false},
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(juliet, join("Juliet"))
		out := h.send(tc.from, inviteReq("friar@localhost"))
		if sent := len(pick(out, "friar@localhost", "message")) == 1; sent != tc.ok {
			t.Errorf("%d: invitation sent %v, want %v: %v", i, sent, tc.ok, out)
		}
	}
}

// TestDeclineBody: a decline without a body gets one for clients that
// do not understand muc#user, with the reason when there is one.
func TestDeclineBody(t *testing.T) {
	for i, tc := range [...]struct {
		decline, body string
	}{
		0: {`<decline to='romeo@localhost'><reason>Busy</reason></decline>`, "juliet@localhost declined your invitation to the room " + room1 + " (Busy)"},
		1: {`<decline to='romeo@localhost'/>`, "juliet@localhost declined your invitation to the room " + room1},
	} {
		h := newHarness(t)
		h.createRoom()
		out := pick(h.send(juliet, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'>`+tc.decline+`</x></message>`), "romeo@localhost", "message")
		if len(out) != 1 || out[0].ChildText(NSClient, "body") != tc.body {
			t.Errorf("%d: %v", i, out)
		}
	}
}

// TestInvitationKeepsTheSendersText: the room relays an invitation with
// the sender's own body and without the MUC payloads the sender put in
// (the room writes its own muc#user element).
func TestInvitationKeepsTheSendersText(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(romeo, `<message to='`+room1+`'><body>Come and see</body><x xmlns='http://jabber.org/protocol/muc'/>`+
		`<x xmlns='http://jabber.org/protocol/muc#user'><invite to='nurse@localhost'/></x></message>`)
	m := pick(out, "nurse@localhost", "message")
	if len(m) != 1 || m[0].ChildText(NSClient, "body") != "Come and see" {
		t.Fatalf("invitation %v", out)
	}
	if m[0].Child(NSMUC, "x") != nil || len(m[0].ChildrenNamed(NSMUCUser, "x")) != 1 {
		t.Errorf("MUC payloads relayed: %v", m[0])
	}
}

// TestWhoMayInvite: visitors may not invite (a moderated room gives them
// no voice); when the owner turns invitations off (muc#roomconfig_
// allowinvites), only admins and owners may.
func TestWhoMayInvite(t *testing.T) {
	for i, tc := range [...]struct {
		fields []string
		aff    string // given to juliet@localhost before she joins
		ok     bool
	}{
		0: {[]string{"muc#roomconfig_moderatedroom", "1"}, "", false},
		1: {[]string{"muc#roomconfig_moderatedroom", "1"}, "member", true},
		2: {[]string{"muc#roomconfig_allowinvites", "0"}, "member", false},
		3: {[]string{"muc#roomconfig_allowinvites", "0"}, "admin", true},
		4: {[]string{"muc#roomconfig_allowinvites", "1"}, "", true},
	} {
		h := newHarness(t)
		h.createRoom(tc.fields...)
		if tc.aff != "" {
			h.send(romeo, admin1(`<item affiliation='`+tc.aff+`' jid='juliet@localhost'/>`))
		}
		h.send(juliet, join("Juliet"))
		out := h.send(juliet, inviteReq("friar@localhost"))
		if sent := len(pick(out, "friar@localhost", "message")) == 1; sent != tc.ok {
			t.Errorf("%d: invitation sent %v, want %v: %v", i, sent, tc.ok, out)
		}
		if !tc.ok && (len(out) != 1 || condition(out[0]) != "auth/forbidden") {
			t.Errorf("%d: refusal %v", i, out)
		}
	}
}

// TestMembersOnlyInviteNeedsMembership: the members-only feature's own
// check (XEP-0045 §9.3) refuses an invitation from someone who is not a
// member, even when the room's state would let one be in it: the room
// is made members-only here behind the back of the change that would
// have removed them.
func TestMembersOnlyInviteNeedsMembership(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.g.rooms[room1].cfg.MembersOnly = true
	out := h.send(juliet, inviteReq("nurse@localhost"))
	if len(pick(out, "nurse@localhost", "message")) != 0 {
		t.Fatalf("a non-member's invitation went out: %v", out)
	}
	if e := pick(out, juliet, "message"); len(e) != 1 || condition(e[0]) != "auth/forbidden" {
		t.Fatalf("refusal = %v", out)
	}
}
