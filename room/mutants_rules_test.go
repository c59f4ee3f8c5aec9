package room

import (
	"strings"
	"testing"

	"chorus/affiliations"
)

// TestArchiveOfClosedRoomsIsForMembers: XEP-0313 §6.1.2 gives the archive
// to whoever may enter the room at the time of the query. A member may
// enter a members-only room (XEP-0045 §7.2.7) and, being on the room's
// list, a password-protected one is no secret to its members either
// (Prosody lets affiliated users read it without entering); others may
// not read what they could not hear.
func TestArchiveOfClosedRoomsIsForMembers(t *testing.T) {
	for i, tc := range [...]struct {
		fields []string
		aff    string // juliet's affiliation, if any
		want   bool
	}{
		0: {[]string{"muc#roomconfig_membersonly", "1"}, "", false},
		1: {[]string{"muc#roomconfig_membersonly", "1"}, "member", true},
		2: {[]string{"muc#roomconfig_membersonly", "1"}, "admin", true},
		3: {[]string{"muc#roomconfig_passwordprotectedroom", "1", "muc#roomconfig_roomsecret", "s3"}, "", false},
		4: {[]string{"muc#roomconfig_passwordprotectedroom", "1", "muc#roomconfig_roomsecret", "s3"}, "member", true},
	} {
		h := newStoreHarness(t, newMemStore(), nil)
		h.createRoom(append([]string{"muc#roomconfig_persistentroom", "1", "muc#roomconfig_enablelogging", "1"}, tc.fields...)...)
		h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>hello</body></message>`)
		if tc.aff != "" {
			h.send(romeo, admin1(`<item affiliation='`+tc.aff+`' jid='juliet@localhost'/>`))
		}
		if got := archiveReadable(t, h, i, juliet); got != tc.want {
			t.Errorf("%d: Juliet (%q) may read the archive: %v, want %v", i, tc.aff, got, tc.want)
		}
	}
}

// TestAdminInvitesFromOutside: an admin may invite people into a room
// without being in it (XEP-0045 §7.8.2 asks invitations of occupants,
// but admins manage the room from outside it: §9), also where
// invitations are for admins only.
func TestAdminInvitesFromOutside(t *testing.T) {
	for i, noInvites := range []string{"1", "0"} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_allowinvites", noInvites)
		h.send(romeo, admin1(`<item affiliation='admin' jid='juliet@localhost'/>`))
		out := h.send(juliet, inviteReq("nurse@localhost"))
		if len(pick(out, "nurse@localhost", "message")) != 1 {
			t.Errorf("%d: the admin's invitation was not sent: %v", i, out)
		}
	}
}

// TestReservingANickMovesItsHolder: when an owner reserves a nick for
// someone (an affiliation item with a nick, XEP-0045 §9.3 and §7.10), an
// occupant of another user who holds that nick is removed from the room,
// as Prosody does, so the nick is free for its owner; the user it is
// reserved for keeps it.
func TestReservingANickMovesItsHolder(t *testing.T) {
	for i, tc := range [...]struct {
		holder string // who sits on the nick "Juliet"
		kicked bool
	}{
		0: {nurse, true},
		1: {juliet, false},
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(tc.holder, join("Juliet"))
		out := h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost' nick='Juliet'/>`))
		gone := false
		for _, p := range pick(out, tc.holder, "presence") {
			if p.Attr("type") == "unavailable" && strings.HasPrefix(codes(p), "307") {
				gone = true
			}
		}
		if gone != tc.kicked {
			t.Errorf("%d: holder removed: %v, want %v: %v", i, gone, tc.kicked, out)
		}
		if o := h.g.rooms[room1].occupantByNick("Juliet"); (o == nil) != tc.kicked {
			t.Errorf("%d: nick still held: %v", i, o != nil)
		}
	}
}

// TestNoticeOfAbsentUsersCarriesReasonOnlyWhenGiven: the room hears of an
// affiliation change of someone not in it (XEP-0045 §9.4 example); the
// <reason/> is there when the owner gave one, and absent, not empty,
// when not.
func TestNoticeOfAbsentUsersCarriesReasonOnlyWhenGiven(t *testing.T) {
	for i, tc := range [...]struct{ item, reason string }{
		0: {`<item affiliation='member' jid='juliet@localhost'/>`, ""},
		1: {`<item affiliation='member' jid='juliet@localhost'><reason>welcome</reason></item>`, "welcome"},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_whois", "anyone")
		m := pick(h.send(romeo, admin1(tc.item)), romeo, "message")
		if len(m) != 1 {
			t.Fatalf("%d: no notice: %v", i, m)
		}
		it := m[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item")
		r := it.Child(NSMUCUser, "reason")
		if (r != nil) != (tc.reason != "") || (r != nil && r.Text() != tc.reason) {
			t.Errorf("%d: notice %v, want reason %q", i, m[0], tc.reason)
		}
	}
}

// TestLeavingUnderAnUnusableNickIsQuiet: an unavailable presence to a
// nick no occupant may have is not answered (RFC 6120 §8.3.1 allows no
// error for it, and there is nobody to remove), while other stanzas to
// such a nick hear that the nick is the problem.
func TestLeavingUnderAnUnusableNickIsQuiet(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	bad := room1 + "/\u0301\u0301" // combining marks only: a JID, but no nick
	if out := h.sendTo(juliet, bad, `<presence type='unavailable'/>`); len(out) != 0 {
		t.Errorf("unavailable presence answered: %v", out)
	}
	if out := h.sendTo(juliet, bad, `<message type='chat'><body>hi</body></message>`); len(out) != 1 || out[0].Attr("type") != "error" {
		t.Errorf("message to an unusable nick: %v", out)
	}
}

// TestBarePresenceKeepsNothing: a session whose presence has no
// attributes and no children keeps no copy of it (what a broadcast sends
// for it is built anew), so a crowd of plain clients costs no memory per
// presence; one with a payload keeps it.
func TestBarePresenceKeepsNothing(t *testing.T) {
	for i, tc := range [...]struct {
		extra string
		kept  bool
	}{
		0: {"", false},
		1: {"<show>away</show>", true},
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(juliet, `<presence to='`+room1+`/Juliet'><x xmlns='http://jabber.org/protocol/muc'/>`+tc.extra+`</presence>`)
		o := h.g.rooms[room1].occupantByNick("Juliet")
		if o == nil || o.Role != affiliations.Participant {
			t.Fatalf("%d: not in: %v", i, o)
		}
		h.send(juliet, `<presence to='`+room1+`/Juliet'>`+tc.extra+`</presence>`)
		if p := o.presence(); (p != nil) != tc.kept {
			t.Errorf("%d: presence kept %v, want %v", i, p, tc.kept)
		}
	}
}

// TestNickAtThePrepLimit: Prosody's resourceprep takes up to 1023 bytes
// (RFC 7622 §3.4), so a nick of exactly 1023 bytes that needs the full
// preparation (it is not plain ASCII) is a nick; the address limit stops
// a longer one before it gets here.
func TestNickAtThePrepLimit(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	nick := "é" + strings.Repeat("a", 1021)
	if len(nick) != 1023 {
		t.Fatalf("nick of %d bytes", len(nick))
	}
	out := h.sendTo(juliet, room1+"/"+nick, joinStanza)
	if self := pick(out, juliet, "presence"); len(self) == 0 || self[len(self)-1].Attr("type") == "error" {
		t.Errorf("1023-byte nick refused: %v", out)
	}
}

// TestPresenceIDIsNotRelayed: the room writes the addressing of the
// presence it broadcasts; the id a client put on its own presence is not
// passed on to the other occupants (nor are to, from and type), while
// what the presence says about the user is.
func TestPresenceIDIsNotRelayed(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<presence id='client-chosen' to='`+room1+`/Juliet'><show>away</show></presence>`)
	p := pick(out, romeo, "presence")
	if len(p) != 1 {
		t.Fatalf("no broadcast: %v", out)
	}
	if p[0].Attr("id") == "client-chosen" || p[0].Child(NSClient, "show") == nil {
		t.Errorf("broadcast %v", p[0])
	}
}

// TestPrimarySessionLeaves: when the first of an occupant's two sessions
// leaves, that session gets no more of the room's traffic, the other is
// now the occupant, and when it leaves too the room is told the occupant
// left (XEP-0045 §7.14; Prosody's multi-session occupants).
func TestPrimarySessionLeaves(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	phone := "juliet@localhost/phone"
	h.send(juliet, join("Juliet"))
	h.send(phone, join("Juliet"))
	h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	out := h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>x</body></message>`)
	if len(pick(out, juliet, "message")) != 0 || len(pick(out, phone, "message")) != 1 {
		t.Errorf("after the first session left: %v", out)
	}
	out = h.send(phone, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	if p := pick(out, romeo, "presence"); len(p) != 1 || p[0].Attr("type") != "unavailable" {
		t.Errorf("the last session left, the room heard %v", out)
	}
}

// formField returns the values and option values of field v in the
// room's configuration form, as romeo (the owner) gets it.
func formField(t *testing.T, h *harness, v string) (values, options []string) {
	t.Helper()
	out := h.send(romeo, `<iq type='get' id='f' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`)
	if len(out) != 1 || out[0].Attr("type") != "result" {
		t.Fatalf("form: %v", out)
	}
	for _, f := range out[0].FirstChild().Child("jabber:x:data", "x").ChildrenNamed("jabber:x:data", "field") {
		if f.Attr("var") != v {
			continue
		}
		for _, val := range f.ChildrenNamed("jabber:x:data", "value") {
			values = append(values, val.Text())
		}
		for _, o := range f.ChildrenNamed("jabber:x:data", "option") {
			options = append(options, o.ChildText("jabber:x:data", "value"))
		}
		return values, options
	}
	t.Fatalf("form lacks %s: %v", v, out[0])
	return nil, nil
}

// TestFormShowsWhatIsSet: the configuration form an owner gets shows the
// room as it is (XEP-0045 §10.2): whose presence is broadcast, from the
// highest role down, with every role to choose from; and whether the room
// is password protected, which the secret alone decides.
func TestFormShowsWhatIsSet(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	vals, opts := formField(t, h, "muc#roomconfig_presencebroadcast")
	if strings.Join(vals, ",") != "moderator,participant,visitor" || strings.Join(opts, ",") != "moderator,participant,visitor,none" {
		t.Errorf("presencebroadcast values %v, options %v", vals, opts)
	}
	if v, _ := formField(t, h, "muc#roomconfig_passwordprotectedroom"); strings.Join(v, ",") != "0" {
		t.Errorf("password protected without a secret: %v", v)
	}
	h.send(romeo, config("muc#roomconfig_presencebroadcast", "moderator", "muc#roomconfig_roomsecret", "s3"))
	if v, _ := formField(t, h, "muc#roomconfig_presencebroadcast"); strings.Join(v, ",") != "moderator" {
		t.Errorf("presencebroadcast after the change: %v", v)
	}
	if v, _ := formField(t, h, "muc#roomconfig_passwordprotectedroom"); strings.Join(v, ",") != "1" {
		t.Errorf("password protected with a secret: %v", v)
	}
	// "none" shows affiliated users who are not in the room.
	h.send(romeo, config("muc#roomconfig_presencebroadcast", "moderator</value><value>none"))
	if v, _ := formField(t, h, "muc#roomconfig_presencebroadcast"); strings.Join(v, ",") != "moderator,none" {
		t.Errorf("presencebroadcast with none: %v", v)
	}
}

// TestHiddenRolesAreNotListedToNewcomers: where the room broadcasts only
// moderators' presence (muc#roomconfig_presencebroadcast), someone who
// enters is not sent the presence of the participants already there; but
// it is sent its own, even from another nick of the same user.
func TestHiddenRolesAreNotListedToNewcomers(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_presencebroadcast", "moderator")
	h.send(juliet, join("Juliet"))
	out := h.send(nurse, join("Nurse"))
	for _, p := range pick(out, nurse, "presence") {
		if p.Attr("from") == room1+"/Juliet" {
			t.Errorf("a participant's presence was listed: %v", p)
		}
	}
	if len(pick(out, nurse, "presence")) == 0 {
		t.Fatalf("nothing sent to the newcomer: %v", out)
	}
}

// TestOccupantIDsDifferAcrossRooms: XEP-0421 §3: the occupant id must be
// stable within a room and unlinkable across rooms, so each room derives
// it with a key of its own.
func TestOccupantIDsDifferAcrossRooms(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	other := "other@conference.localhost"
	h.send(romeo, `<presence to='`+other+`/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	a, b := h.g.rooms[room1], h.g.rooms[other]
	if a == nil || b == nil {
		t.Fatal("rooms missing")
	}
	if a.occupantID("juliet@localhost") != a.occupantID("juliet@localhost") {
		t.Error("occupant id not stable")
	}
	if a.occupantID("juliet@localhost") == b.occupantID("juliet@localhost") {
		t.Error("the same occupant id in two rooms")
	}
}

// TestActorNamedFromAnotherSession: a ban by an owner sending from a
// session that is not in the room still names the owner's nick as the
// actor (XEP-0045 §9.1: <actor nick='...'/>), since the owner is in the
// room under another session.
func TestActorNamedFromAnotherSession(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send("romeo@localhost/laptop", admin1(`<item affiliation='outcast' jid='juliet@localhost'/>`))
	p := pick(out, juliet, "presence")
	if len(p) != 1 {
		t.Fatalf("ban: %v", out)
	}
	if a := child(p[0], NSMUCUser, "x", NSMUCUser, "item", NSMUCUser, "actor"); a == nil || a.Attr("nick") != "Romeo" {
		t.Errorf("actor %v", p[0])
	}
}

// TestAuthorRetractsOldestHistory: when the author retracts the oldest
// message still in the room's history, it leaves the history (XEP-0424):
// a newcomer is not sent it.
func TestAuthorRetractsOldestHistory(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	old := sayIn(t, h, juliet, room1, "oops")
	sayIn(t, h, juliet, room1, "later")
	h.send(juliet, `<message type='groupchat' to='`+room1+`'><retract xmlns='urn:xmpp:message-retract:1' id='`+old+`'/></message>`)
	for _, m := range pick(h.send(nurse, join("Nurse")), nurse, "message") {
		if strings.Contains(m.String(), "oops") {
			t.Errorf("retracted message in history: %v", m)
		}
	}
}

// TestRegistrationKeepsRanks: XEP-0045 §7.10: registering a nick keeps a
// member a member; an admin or owner keeps the rank and only gains or
// loses the reserved nick; cancelling takes membership away but not a
// higher rank. A service administrator counts as an owner in every room
// but is recorded only as what the room gave it: registering records a
// member, and cancelling that leaves nothing.
func TestRegistrationKeepsRanks(t *testing.T) {
	const remove = `<iq type='set' id='u' to='` + room1 + `'><query xmlns='jabber:iq:register'><remove/></query></iq>`
	for i, tc := range [...]struct {
		who    string
		before string // the recorded affiliation before
		do     []string
		after  affiliations.Affiliation
	}{
		0: {juliet, "member", []string{registerAs("Jules")}, affiliations.Member},
		1: {juliet, "admin", []string{registerAs("Jules")}, affiliations.Admin},
		2: {juliet, "member", []string{remove}, affiliations.None},
		3: {juliet, "admin", []string{remove}, affiliations.Admin},
		4: {admin, "", []string{registerAs("Boss")}, affiliations.Member},
		5: {admin, "", []string{registerAs("Boss"), remove}, affiliations.None},
	} {
		h := newHarness(t)
		h.createRoom()
		bare := bareOf(tc.who)
		if tc.before != "" {
			h.send(romeo, admin1(`<item affiliation='`+tc.before+`' jid='`+bare+`'/>`))
		}
		for _, st := range tc.do {
			out := h.send(tc.who, st)
			if res := pick(out, tc.who, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
				t.Fatalf("%d: %v", i, out)
			}
		}
		if got := h.g.rooms[room1].affs[bare].aff; got != tc.after {
			t.Errorf("%d: recorded %v, want %v", i, got, tc.after)
		}
	}
}
