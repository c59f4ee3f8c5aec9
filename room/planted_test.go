package room

import (
	"strings"
	"testing"

	"chorus/stanza"
)

// Tests for rules whose breakage once went unnoticed by every other test:
// each was planted as a bug in the room code, and each of these fails
// when it is planted again.

// TestNickChangeOntoTakenNickIsConflict: XEP-0045 §7.6: a change to a nick
// that is in use by another user, or reserved by another user affiliated
// with the room, MUST be denied with a presence error of type cancel and
// condition <conflict/>. The occupant keeps its nick, and the one who holds
// the nick keeps it too.
func TestNickChangeOntoTakenNickIsConflict(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	// Nurse is a member whose nick is "Angelica" (§9.3: a nick given with
	// the membership becomes the user's nick in the room) and who is away;
	// Tybalt is inside.
	if out := h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost' nick='Angelica'/>`)); out[len(out)-1].Attr("type") != "result" {
		t.Fatalf("reserving a nick: %v", out)
	}
	const tybalt = "tybalt@localhost/sword"
	h.send(tybalt, join("Tybalt"))
	h.send(juliet, join("Juliet"))
	for i, nick := range [...]string{
		0: "Tybalt",   // in use by another user
		1: "Angelica", // reserved by another user, who is not in the room
		2: "Romeo",    // in use by the owner
	} {
		out := h.send(juliet, `<presence to='`+room1+`/`+nick+`'/>`)
		if len(out) != 1 || out[0].Attr("to") != juliet || out[0].Attr("type") != "error" || condition(out[0]) != "cancel/conflict" {
			t.Errorf("%d: change to %s: got %v, want one cancel/conflict error to Juliet", i, nick, out)
		}
	}
	// Nothing changed hands: a private message from Juliet to each nick
	// still reaches the user who held it, and comes from Juliet as Juliet.
	for i, tc := range [...]struct{ nick, to string }{
		0: {"Tybalt", tybalt},
		1: {"Romeo", romeo},
	} {
		out := h.send(juliet, `<message type='chat' to='`+room1+`/`+tc.nick+`'><body>hi</body></message>`)
		if len(out) != 1 || out[0].Attr("to") != tc.to || out[0].Attr("from") != room1+"/Juliet" {
			t.Errorf("%d: message to %s: got %v, want it from Juliet to %s", i, tc.nick, out, tc.to)
		}
	}
	// A free nick is no conflict: the same request succeeds (§7.6, status
	// 303 to the others), so the refusals above are about the nick.
	out := h.send(juliet, `<presence to='`+room1+`/Jules'/>`)
	if toR := pick(out, romeo, "presence"); len(toR) != 2 || codes(toR[0]) != "303" {
		t.Errorf("change to a free nick: %v", out)
	}
}

// archiveReadable reports whether a MAM query from from is answered with a
// result (true) or refused with auth/forbidden (false); anything else
// fails the test.
func archiveReadable(t *testing.T, h *harness, i int, from string) bool {
	t.Helper()
	out := h.send(from, mamQuery("q", ""))
	if len(out) == 0 {
		t.Fatalf("%d: no answer to %s", i, from)
	}
	last := out[len(out)-1]
	switch {
	case last.Attr("type") == "result":
		return true
	case last.Attr("type") == "error" && condition(last) == "auth/forbidden":
		return false
	}
	t.Fatalf("%d: answer to %s: %v", i, from, out)
	return false
}

// TestOutcastCannotReadArchive: XEP-0313 §6.1.2: a MUC archive MUST check
// that the requester has the right to enter the room at the time of the
// query; an open room's archive can be read by any user who is not an
// outcast, even one who never entered. An outcast is banned and not
// allowed to enter (XEP-0045 §5.2, §9.1).
func TestOutcastCannotReadArchive(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_enablelogging", "1")
	h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>hello</body></message>`)
	h.send(romeo, admin1(`<item affiliation='outcast' jid='juliet@localhost'/>`))
	for i, tc := range [...]struct {
		from string
		want bool
	}{
		0: {nurse, true},                     // unaffiliated, open room
		1: {juliet, false},                   // outcast
		2: {"juliet@localhost/other", false}, // any session of the outcast
	} {
		if got := archiveReadable(t, h, i, tc.from); got != tc.want {
			t.Errorf("%d: %s may read the archive: %v, want %v", i, tc.from, got, tc.want)
		}
	}
}

// TestPasswordRoomArchiveNeedsEntry: XEP-0045 §7.2.5: without the right
// password the service MUST deny access to a password-protected room; and
// XEP-0313 §6.1.2: the archive is for those with the right to enter at the
// time of the query. A user outside may not read it; inside, having given
// the password, may; after leaving, or after a wrong password, may not.
func TestPasswordRoomArchiveNeedsEntry(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_enablelogging", "1",
		"muc#roomconfig_passwordprotectedroom", "1", "muc#roomconfig_roomsecret", "cauldronburn")
	h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>hello</body></message>`)
	for i, tc := range [...]struct {
		step func()
		want bool
	}{
		0: {func() {}, false},
		1: {func() { h.send(juliet, join("Juliet", `<password>cauldronburn</password>`)) }, true},
		2: {func() { h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`) }, false},
	} {
		tc.step()
		if got := archiveReadable(t, h, i, juliet); got != tc.want {
			t.Errorf("%d: Juliet may read the archive: %v, want %v", i, got, tc.want)
		}
	}
	// Without the password she never gets in, so never gets to read.
	h.send(juliet, join("Juliet", `<password>wrong</password>`))
	if archiveReadable(t, h, 3, juliet) {
		t.Error("3: read the archive after a refused entry")
	}
}

// presenceItemJID returns the jid of the <item/> in presence p.
func presenceItemJID(p *stanza.Element) string {
	return child(p, NSMUCUser, "x", NSMUCUser, "item").Attr("jid")
}

// TestModeratorMemberSeesRealJIDs: XEP-0045 §7.2.4: in a semi-anonymous
// room the service MUST include the new occupant's full JID only in the
// presence it sends to occupants with a role of "moderator". A member made
// moderator (§9.6) has that role, so sees real JIDs; before, it did not.
func TestModeratorMemberSeesRealJIDs(t *testing.T) {
	h := newHarness(t)
	h.createRoom() // semi-anonymous by default
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	h.send(juliet, join("Juliet"))
	const tybalt = "tybalt@localhost/sword"
	out := h.send(nurse, join("Nurse"))
	if ps := pick(out, juliet, "presence"); len(ps) != 1 || presenceItemJID(ps[0]) != "" {
		t.Fatalf("a member participant sees: %v", ps)
	}
	// §9.6: the owner grants Juliet moderator status.
	out = h.send(romeo, `<iq type='set' id='m' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Juliet' role='moderator'/></query></iq>`)
	if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		t.Fatalf("granting moderator: %v", out)
	}
	for i, tc := range [...]struct {
		from, nick string
	}{
		0: {tybalt, "Tybalt"}, // someone entering after
		1: {nurse, "Nurse"},   // someone already inside, changing presence
	} {
		out := h.send(tc.from, `<presence to='`+room1+`/`+tc.nick+`'>`+
			`<x xmlns='http://jabber.org/protocol/muc'/><status>here</status></presence>`)
		ps := pick(out, juliet, "presence")
		if len(ps) != 1 || presenceItemJID(ps[0]) != tc.from {
			t.Errorf("%d: moderator Juliet sees %s as %v, want jid %s", i, tc.nick, ps, tc.from)
		}
	}
}

// TestAllowPMParticipantsAndNone: XEP-0045 §7.5: sending private messages
// is controlled by muc#roomconfig_allowpm, "Roles that May Send Private
// Messages" (§15.5.3): "participants" lets participants and moderators,
// not visitors; "none" lets nobody, moderators included. A refused message
// comes back forbidden and reaches nobody.
func TestAllowPMParticipantsAndNone(t *testing.T) {
	h := newHarness(t)
	// In a moderated room an unaffiliated user enters as a visitor (§5.1,
	// §7.2.1), a member as a participant.
	h.createRoom("muc#roomconfig_moderatedroom", "1")
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	h.send(juliet, join("Juliet")) // visitor
	h.send(nurse, join("Nurse"))   // participant
	pm := func(to string) string {
		return `<message type='chat' to='` + room1 + `/` + to + `'><body>psst</body></message>`
	}
	for i, tc := range [...]struct {
		allow, from, to, deliverTo string // deliverTo "" means refused
	}{
		0: {"participants", juliet, "Nurse", ""},
		1: {"participants", nurse, "Juliet", juliet},
		2: {"participants", romeo, "Juliet", juliet},
		3: {"none", nurse, "Romeo", ""},
		4: {"none", romeo, "Nurse", ""},
		5: {"none", juliet, "Romeo", ""},
		6: {"anyone", juliet, "Nurse", nurse},
	} {
		if out := h.send(romeo, config("muc#roomconfig_allowpm", tc.allow)); len(pick(out, romeo, "iq")) != 1 || pick(out, romeo, "iq")[0].Attr("type") != "result" {
			t.Fatalf("%d: allowpm=%s refused: %v", i, tc.allow, out)
		}
		out := h.send(tc.from, pm(tc.to))
		switch {
		case len(out) != 1:
			t.Errorf("%d: allowpm=%s, %s to %s: %v", i, tc.allow, tc.from, tc.to, out)
		case tc.deliverTo == "" && (out[0].Attr("to") != tc.from || condition(out[0]) != "auth/forbidden"):
			t.Errorf("%d: allowpm=%s, %s to %s: got %v, want forbidden", i, tc.allow, tc.from, tc.to, out)
		case tc.deliverTo != "" && (out[0].Attr("to") != tc.deliverTo || out[0].Attr("type") != "chat"):
			t.Errorf("%d: allowpm=%s, %s to %s: got %v, want it delivered", i, tc.allow, tc.from, tc.to, out)
		}
	}
}

// TestMAMWithFilter: XEP-0313 §4.1.1: with a 'with' field the server MUST
// only return messages that match the JID; an item in a MUC archive
// matches if its publisher does, here the occupant JID (room@service/nick)
// the message came from.
func TestMAMWithFilter(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_enablelogging", "1")
	h.send(juliet, join("Juliet"))
	say := func(from, body string) {
		h.send(from, `<message type='groupchat' to='`+room1+`'><body>`+body+`</body></message>`)
	}
	say(romeo, "r1")
	say(juliet, "j1")
	say(romeo, "r2")
	say(juliet, "j2")
	for i, tc := range [...]struct {
		with string
		want string
	}{
		0: {room1 + "/Juliet", "j1 j2"},
		1: {room1 + "/Romeo", "r1 r2"},
		2: {room1 + "/Nobody", ""},
		3: {"", "r1 j1 r2 j2"},
	} {
		var fields []string
		if tc.with != "" {
			fields = []string{"with", tc.with}
		}
		out := h.send(nurse, mamForm("w", "", fields...))
		var bodies []string
		for _, m := range out {
			if res := m.Child(NSMAM, "result"); res != nil {
				bodies = append(bodies, child(res, NSForward, "forwarded", NSClient, "message").ChildText(NSClient, "body"))
			}
		}
		if got := strings.Join(bodies, " "); got != tc.want || out[len(out)-1].Attr("type") != "result" {
			t.Errorf("%d: with %q: got %q (%v), want %q", i, tc.with, got, out[len(out)-1], tc.want)
		}
	}
}
