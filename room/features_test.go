package room

import (
	"strings"
	"testing"
	"time"

	"chorus/stanza"
)

func child(st *stanza.Element, path ...string) *stanza.Element {
	e := st
	for i := 0; i+1 < len(path); i += 2 {
		e = e.Child(path[i], path[i+1])
	}
	return e
}

func TestStanzaIDAndOccupantID(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>hi</body>`+
		`<stanza-id xmlns='urn:xmpp:sid:0' by='`+room1+`' id='forged'/><occupant-id xmlns='urn:xmpp:occupant-id:0' id='forged'/></message>`)
	if len(out) != 2 {
		t.Fatalf("%v", out)
	}
	m := out[0]
	ids := m.ChildrenNamed(NSStanzaID, "stanza-id")
	if len(ids) != 1 || ids[0].Attr("id") == "forged" || ids[0].Attr("by") != room1 {
		t.Errorf("stanza-id: %v", m)
	}
	oids := m.ChildrenNamed(NSOccupantID, "occupant-id")
	if len(oids) != 1 || oids[0].Attr("id") == "forged" || strings.Contains(oids[0].Attr("id"), "juliet") {
		t.Errorf("occupant-id: %v", m)
	}
	// Stable across messages and presences, different per user.
	out2 := h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>again</body></message>`)
	if out2[0].Child(NSOccupantID, "occupant-id").Attr("id") != oids[0].Attr("id") {
		t.Error("occupant-id not stable")
	}
	if out2[0].Child(NSStanzaID, "stanza-id").Attr("id") == ids[0].Attr("id") {
		t.Error("stanza-id reused")
	}
	out = h.send(nurse, join("Nurse"))
	var seenJuliet, seenNurse string
	for _, p := range pick(out, nurse, "presence") {
		id := p.Child(NSOccupantID, "occupant-id").Attr("id")
		switch p.Attr("from") {
		case room1 + "/Juliet":
			seenJuliet = id
		case room1 + "/Nurse":
			seenNurse = id
		}
	}
	if seenJuliet != oids[0].Attr("id") || seenNurse == "" || seenNurse == seenJuliet {
		t.Errorf("occupant-id in presence: juliet %q nurse %q", seenJuliet, seenNurse)
	}
}

func TestAllowPM(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	pm := `<message type='chat' to='` + room1 + `/Romeo'><body>psst</body></message>`
	out := h.send(juliet, pm)
	if len(out) != 1 || out[0].Attr("to") != romeo || out[0].Attr("from") != room1+"/Juliet" || out[0].Child(NSMUCUser, "x") == nil {
		t.Fatalf("pm: %v", out)
	}
	h.send(romeo, config("muc#roomconfig_allowpm", "moderators"))
	if out := h.send(juliet, pm); len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("pm from participant with allowpm=moderators: %v", out)
	}
	if out := h.send(romeo, `<message type='chat' to='`+room1+`/Juliet'><body>ok</body></message>`); len(out) != 1 || out[0].Attr("to") != juliet {
		t.Errorf("pm from moderator: %v", out)
	}
}

func TestMaxUsers(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_maxusers", "2")
	h.send(juliet, join("Juliet"))
	if out := h.send(nurse, join("Nurse")); len(out) != 1 || condition(out[0]) != "cancel/service-unavailable" {
		t.Errorf("full room admitted: %v", out)
	}
	// Admins may exceed the limit.
	if out := h.send(admin, join("Admin")); len(pick(out, admin, "presence")) < 2 {
		t.Errorf("admin refused: %v", out)
	}
}

func TestGetMemberList(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	get := `<iq type='get' id='m' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`
	if out := h.send(juliet, get); condition(out[0]) != "auth/forbidden" {
		t.Errorf("participant got member list: %v", out)
	}
	h.send(romeo, config("muc#roomconfig_getmemberlist", "participant"))
	if out := h.send(juliet, get); out[0].Attr("type") != "result" {
		t.Errorf("participant refused member list: %v", out)
	}
}

func TestLoggingAndLangNotifications(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	// Logging is on by default.
	out := h.send(romeo, config("muc#roomconfig_enablelogging", "0", "muc#roomconfig_lang", "en"))
	if m := pick(out, romeo, "message"); len(m) != 1 || codes(m[0]) != "104,171" {
		t.Errorf("logging off with another change: %v", out)
	}
	out = h.send(romeo, config("muc#roomconfig_enablelogging", "1"))
	if m := pick(out, romeo, "message"); len(m) != 1 || codes(m[0]) != "170" {
		t.Errorf("logging on: %v", out)
	}
	out = h.send(romeo, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if !strings.Contains(out[0].String(), "<field var='muc#roominfo_lang'><value>en</value>") {
		t.Errorf("roominfo lang: %v", out)
	}
}

func TestModeratedRoomAndRoleList(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_moderatedroom", "1")
	out := h.send(juliet, join("Juliet"))
	self := pick(out, juliet, "presence")[1]
	if child(self, NSMUCUser, "x", NSMUCUser, "item").Attr("role") != "visitor" {
		t.Fatalf("unaffiliated user is not a visitor: %v", self)
	}
	if out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>hi</body></message>`); condition(out[0]) != "auth/forbidden" {
		t.Errorf("visitor spoke: %v", out)
	}
	out = h.send(romeo, `<iq type='get' id='v' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='visitor'/></query></iq>`)
	items := out[0].FirstChild().Children()
	if len(items) != 1 || items[0].Attr("nick") != "Juliet" || items[0].Attr("jid") != juliet {
		t.Errorf("visitor list: %v", out)
	}
	if out := h.send(juliet, `<iq type='get' id='v' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='visitor'/></query></iq>`); condition(out[0]) != "auth/forbidden" {
		t.Errorf("visitor read the role list: %v", out)
	}
	// Grant voice.
	out = h.send(romeo, admin1(`<item role='participant' nick='Juliet'/>`))
	if p := pick(out, juliet, "presence"); len(p) != 1 || child(p[0], NSMUCUser, "x", NSMUCUser, "item").Attr("role") != "participant" {
		t.Errorf("voice: %v", out)
	}
	if out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>hi</body></message>`); len(out) != 2 {
		t.Errorf("participant silenced: %v", out)
	}
}

func TestInvitations(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_membersonly", "1", "muc#roomconfig_roomsecret", "pw")
	out := h.send(romeo, `<message to='`+room1+`' id='i1'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='juliet@localhost'><reason>Come</reason></invite></x></message>`)
	inv := pick(out, "juliet@localhost", "message")
	if len(inv) != 1 {
		t.Fatalf("invitation: %v", out)
	}
	m := inv[0]
	if m.Attr("from") != room1 || m.Attr("id") != "i1" || child(m, NSMUCUser, "x", NSMUCUser, "invite").Attr("from") != room1+"/Romeo" ||
		child(m, NSMUCUser, "x", NSMUCUser, "password").Text() != "pw" || child(m, NSConference, "x").Attr("jid") != room1 ||
		!strings.Contains(m.ChildText(NSClient, "body"), "(Come)") {
		t.Errorf("invitation content: %v", m)
	}
	if h.g.rooms[room1].affs["juliet@localhost"].aff.String() != "member" {
		t.Error("invitation into a members-only room did not grant membership")
	}
	out = h.send(juliet, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='romeo@localhost'><reason>No</reason></decline></x></message>`)
	if d := pick(out, "romeo@localhost", "message"); len(d) != 1 || child(d[0], NSMUCUser, "x", NSMUCUser, "decline").Attr("from") != "juliet@localhost" {
		t.Errorf("decline: %v", out)
	}
	// Outsiders cannot invite into a members-only room.
	out = h.send(nurse, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='tybalt@localhost'/></x></message>`)
	if len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("outsider invited: %v", out)
	}
	out = h.send(romeo, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='not a jid@@'/></x></message>`)
	if len(out) != 1 || condition(out[0]) != "modify/jid-malformed" {
		t.Errorf("bad invitee: %v", out)
	}
}

func TestPresenceBroadcastRoles(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_moderatedroom", "1", "muc#roomconfig_presencebroadcast", "moderator")
	out := h.send(juliet, join("Juliet"))
	if p := pick(out, romeo, "presence"); len(p) != 0 {
		t.Errorf("a visitor's presence was broadcast: %v", p)
	}
	if p := pick(out, juliet, "presence"); len(p) != 2 {
		t.Errorf("the visitor should still see the moderator and itself: %v", p)
	}
}

func TestRegistration(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	reg := `<iq type='set' id='r' to='` + room1 + `'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>` +
		`<field var='muc#register_roomnick'><value>Jules</value></field></x></query></iq>`
	if out := h.send(juliet, reg); condition(out[0]) != "auth/registration-required" {
		t.Errorf("unaffiliated registered: %v", out)
	}
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	if out := h.send(juliet, reg); out[len(out)-1].Attr("type") != "result" {
		t.Fatalf("member registration: %v", out)
	}
	if out := h.send(nurse, join("Jules")); condition(out[0]) != "cancel/conflict" {
		t.Errorf("reserved nick taken: %v", out)
	}
	out := h.send(juliet, `<iq type='get' id='n' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>`)
	if id := child(out[0], NSDiscoInfo, "query", NSDiscoInfo, "identity"); id.Attr("name") != "Jules" {
		t.Errorf("reserved nick discovery: %v", out)
	}
	out = h.send(juliet, `<iq type='get' id='g' to='`+room1+`'><query xmlns='jabber:iq:register'/></iq>`)
	if child(out[0], NSRegister, "query", NSRegister, "username").Text() != "Jules" {
		t.Errorf("registered query: %v", out)
	}
}

func TestMultiSession(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	phone := "juliet@localhost/phone"
	out := h.send(phone, join("Juliet"))
	self := pick(out, phone, "presence")
	if len(self) < 2 || codes(self[len(self)-1]) != "110" {
		t.Fatalf("second session: %v", out)
	}
	items := child(self[len(self)-1], NSMUCUser, "x").ChildrenNamed(NSMUCUser, "item")
	if len(items) != 2 {
		t.Errorf("self-presence should list both sessions: %v", self[len(self)-1])
	}
	if len(pick(h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>x</body></message>`), phone, "message")) != 1 {
		t.Error("second session does not get messages")
	}
	// One session leaves: the occupant stays.
	out = h.send(phone, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	if p := pick(out, romeo, "presence"); len(p) != 0 {
		t.Errorf("room told of a session leaving: %v", p)
	}
	if len(h.g.rooms[room1].byNick) != 2 {
		t.Error("occupant removed with one session left")
	}
	// Another user cannot take the nick.
	if out := h.send(nurse, join("Juliet")); condition(out[0]) != "cancel/conflict" {
		t.Errorf("nick taken over: %v", out)
	}
}

func TestProbe(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<presence type='probe' to='`+room1+`/Romeo'/>`)
	if len(out) != 1 || out[0].Attr("from") != room1+"/Romeo" || out[0].Attr("type") != "" {
		t.Errorf("probe: %v", out)
	}
	out = h.send(nurse, `<presence type='probe' to='`+room1+`/Romeo'/>`)
	if len(out) != 1 || condition(out[0]) != "cancel/not-acceptable" {
		t.Errorf("probe from outsider: %v", out)
	}
}

func TestVoiceRequest(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_moderatedroom", "1")
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<message to='`+room1+`'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>`+
		`<field var='muc#role'><value>participant</value></field></x></message>`)
	fwd := pick(out, romeo, "message")
	if len(out) != 1 || len(fwd) != 1 || !strings.Contains(fwd[0].String(), "<value>Juliet</value>") {
		t.Fatalf("request not forwarded to the moderator only: %v", out)
	}
	// The moderator approves by submitting the form back.
	x := fwd[0].Child("jabber:x:data", "x")
	x.SetAttr("type", "submit")
	for _, f := range x.ChildrenNamed("jabber:x:data", "field") {
		if f.Attr("var") == "muc#request_allow" {
			f.Nodes = nil
			f.Add(stanza.New("jabber:x:data", "value").AddText("true"))
		}
	}
	approve := stanza.New(NSClient, "message", "to", room1, "from", romeo).Add(x)
	out = Flatten(h.g.Handle(approve))
	if p := pick(out, juliet, "presence"); len(p) != 1 || child(p[0], NSMUCUser, "x", NSMUCUser, "item").Attr("role") != "participant" {
		t.Errorf("voice not granted: %v", out)
	}
}

func TestIQRelayBetweenOccupants(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<iq type='get' id='v1' to='`+room1+`/Romeo'><query xmlns='jabber:iq:version'/></iq>`)
	if len(out) != 1 || out[0].Attr("to") != romeo || out[0].Attr("from") != room1+"/Juliet" || out[0].Attr("id") == "v1" {
		t.Fatalf("relay: %v", out)
	}
	if strings.Contains(out[0].String(), "juliet@") {
		t.Errorf("relay leaks the asker's JID: %v", out[0])
	}
	id := out[0].Attr("id")
	out = h.send(romeo, `<iq type='result' id='`+id+`' to='`+room1+`/Juliet'><query xmlns='jabber:iq:version'><name>x</name></query></iq>`)
	if len(out) != 1 || out[0].Attr("to") != juliet || out[0].Attr("from") != room1+"/Romeo" || out[0].Attr("id") != "v1" {
		t.Errorf("answer: %v", out)
	}
	// A forged answer from someone else goes nowhere.
	if out := h.send(nurse, `<iq type='result' id='`+id+`' to='`+room1+`/Juliet'/>`); len(out) != 0 {
		t.Errorf("forged answer routed: %v", out)
	}
	// vCard requests go to the bare JID.
	out = h.send(juliet, `<iq type='get' id='vc' to='`+room1+`/Romeo'><vCard xmlns='vcard-temp'/></iq>`)
	if out[0].Attr("to") != "romeo@localhost" {
		t.Errorf("vcard relay: %v", out)
	}
}

func TestModerationAndRetraction(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send(nurse, join("Nurse"))
	out := h.send(juliet, `<message type='groupchat' id='bad' to='`+room1+`'><body>rude</body></message>`)
	sid := out[0].Child(NSStanzaID, "stanza-id").Attr("id")
	mod := `<iq type='set' id='mod' to='` + room1 + `'><moderate xmlns='urn:xmpp:message-moderate:1' id='` + sid + `'><retract xmlns='urn:xmpp:message-retract:1'/><reason>spam</reason></moderate></iq>`
	if out := h.send(nurse, mod); len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("participant moderated: %v", out)
	}
	out = h.send(romeo, mod)
	if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		t.Fatalf("moderation: %v", out)
	}
	ret := pick(out, nurse, "message")
	if len(ret) != 1 || child(ret[0], NSRetract, "retract").Attr("id") != sid ||
		child(ret[0], NSRetract, "retract", NSModerate, "moderated").Attr("by") != room1+"/Romeo" ||
		child(ret[0], NSRetract, "retract", NSRetract, "reason").Text() != "spam" {
		t.Errorf("retraction broadcast: %v", ret)
	}
	// Later joiners see a tombstone, not the message.
	out = h.send("tybalt@localhost/x", join("Tybalt"))
	if s := fmtAll(pick(out, "tybalt@localhost/x", "message")); strings.Contains(s, "rude") || !strings.Contains(s, "retracted") {
		t.Errorf("history after moderation: %s", s)
	}
	if out := h.send(romeo, strings.Replace(mod, sid, "nope", 1)); condition(out[0]) != "cancel/item-not-found" {
		t.Errorf("unknown id: %v", out)
	}
	// Authors may retract their own messages, nobody else's.
	out = h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>oops</body></message>`)
	sid = out[0].Child(NSStanzaID, "stanza-id").Attr("id")
	retract := `<message type='groupchat' to='` + room1 + `'><retract xmlns='urn:xmpp:message-retract:1' id='` + sid + `'/></message>`
	if out := h.send(nurse, retract); len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("retraction by another: %v", out)
	}
	if out := h.send(juliet, retract); len(out) != 4 {
		t.Errorf("retraction by the author: %v", out)
	}
}

func fmtAll(els []*stanza.Element) string {
	var b strings.Builder
	for _, e := range els {
		b.WriteString(e.String())
	}
	return b.String()
}

func TestTombstone(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='new@conference.localhost'><reason>moved</reason></destroy></query></iq>`)
	out := h.send(juliet, join("Juliet"))
	if len(out) != 1 || condition(out[0]) != "cancel/gone" ||
		child(out[0], NSClient, "error", NSStanzas, "gone").Text() != "xmpp:new@conference.localhost?join" {
		t.Fatalf("join after destroy: %v", out)
	}
	// Service admins may bring the room back.
	if out := h.send(admin, join("Admin")); codes(pick(out, admin, "presence")[0]) != "201,110" {
		t.Errorf("admin recreation: %v", out)
	}
	// Tombstones expire.
	h2 := newHarness(t)
	h2.createRoom("muc#roomconfig_persistentroom", "1")
	h2.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`)
	h2.advance(32 * 24 * time.Hour)
	if out := h2.send(juliet, join("Juliet")); codes(pick(out, juliet, "presence")[0]) != "201,110" {
		t.Errorf("join after expiry: %v", out)
	}
	// Temporary rooms leave no tombstone.
	h3 := newHarness(t)
	h3.createRoom()
	h3.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`)
	if out := h3.send(juliet, join("Juliet")); codes(pick(out, juliet, "presence")[0]) != "201,110" {
		t.Errorf("temporary room tombstoned: %v", out)
	}
}

func TestCreationPolicy(t *testing.T) {
	for i, tc := range [...]struct {
		policy, from string
		allowed      bool
	}{
		0: {CreateAnyone, "x@elsewhere/r", true},
		1: {CreateLocal, "x@elsewhere/r", false},
		2: {CreateLocal, romeo, true},
		3: {CreateAdmins, romeo, false},
		4: {CreateAdmins, admin, true},
	} {
		g := NewRegistry(Options{Domain: "conference.localhost", Admins: []string{"admin@localhost"}, Creation: tc.policy, LocalDomain: "localhost"})
		st := stanza.MustParse(join("Nick"))
		st.SetAttr("from", tc.from)
		out := Flatten(g.Handle(st))
		got := len(out) == 2
		if got != tc.allowed {
			t.Errorf("%d: %s by %s: %v", i, tc.policy, tc.from, out)
		}
		if !tc.allowed && (len(out) != 1 || condition(out[0]) != "cancel/not-allowed") {
			t.Errorf("%d: refusal %v", i, out)
		}
	}
}

func TestRoomVCard(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	set := `<iq type='set' id='v' to='` + room1 + `'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard></iq>`
	if out := h.send(juliet, set); condition(out[0]) != "auth/forbidden" {
		t.Errorf("non-owner set the vCard: %v", out)
	}
	out := h.send(romeo, set)
	const hash = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" // sha1("hello")
	p := pick(out, juliet, "presence")
	if len(p) != 1 || p[0].Attr("from") != room1 || child(p[0], NSVCardUpdate, "x", NSVCardUpdate, "photo").Text() != hash {
		t.Errorf("avatar announcement: %v", out)
	}
	out = h.send(nurse, join("Nurse"))
	if !strings.Contains(fmtAll(pick(out, nurse, "presence")), hash) {
		t.Errorf("joiner not told the avatar: %v", out)
	}
	out = h.send(nurse, `<iq type='get' id='g' to='`+room1+`'><vCard xmlns='vcard-temp'/></iq>`)
	if child(out[0], NSVCard, "vCard", NSVCard, "PHOTO") == nil {
		t.Errorf("vCard get: %v", out)
	}
}

func TestMembersOnlySwitchRemovesNonMembers(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	h.send(juliet, join("Juliet"))
	h.send(nurse, join("Nurse"))
	out := h.send(romeo, config("muc#roomconfig_membersonly", "1"))
	if p := pick(out, juliet, "presence"); len(p) != 1 || codes(p[0]) != "322,110" || p[0].Attr("type") != "unavailable" {
		t.Errorf("non-member not removed with 322: %v", out)
	}
	if p := pick(out, nurse, "presence"); len(p) != 1 || codes(p[0]) != "322" {
		t.Errorf("others not told: %v", out)
	}
	if len(h.g.rooms[room1].occupants) != 2 {
		t.Error("wrong occupants left")
	}
}

func TestNonAnonymousRoom(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_whois", "anyone")
	out := h.send(juliet, join("Juliet"))
	ps := pick(out, juliet, "presence")
	if child(ps[0], NSMUCUser, "x", NSMUCUser, "item").Attr("jid") != romeo {
		t.Errorf("real JID hidden in a non-anonymous room: %v", ps[0])
	}
	if codes(ps[1]) != "100,110" {
		t.Errorf("status 100 missing: %v", ps[1])
	}
	// Back to semi-anonymous: 173, and real JIDs hidden again.
	out = h.send(romeo, config("muc#roomconfig_whois", "moderators"))
	if m := pick(out, juliet, "message"); len(m) != 1 || codes(m[0]) != "173" {
		t.Errorf("173: %v", out)
	}
	out = h.send(nurse, join("Nurse"))
	if strings.Contains(fmtAll(pick(out, nurse, "presence")), "romeo@") {
		t.Errorf("real JID shown in a semi-anonymous room: %v", out)
	}
}

// TestModerationV0: a moderation in XEP-0425 version 0.2, as Gajim 1.7
// sends it (a fastening of the message's stanza id), is carried out, and
// every retraction is broadcast in both versions, so that clients of
// either understand it.
func TestModerationV0(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	info := h.send(juliet, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)[0].String()
	if !strings.Contains(info, "'"+NSModerateV0+"'") {
		t.Errorf("version 0 not advertised: %s", info)
	}
	out := h.send(juliet, `<message type='groupchat' id='bad' to='`+room1+`'><body>rude</body></message>`)
	sid := out[0].Child(NSStanzaID, "stanza-id").Attr("id")
	mod := `<iq type='set' id='mod' to='` + room1 + `'><apply-to xmlns='urn:xmpp:fasten:0' id='` + sid + `'>` +
		`<moderate xmlns='urn:xmpp:message-moderate:0'><retract xmlns='urn:xmpp:message-retract:0'/><reason>spam</reason></moderate></apply-to></iq>`
	if out := h.send(juliet, mod); len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("participant moderated: %v", out)
	}
	other := `<iq type='set' id='x' to='` + room1 + `'><apply-to xmlns='urn:xmpp:fasten:0' id='` + sid + `'><x xmlns='urn:example'/></apply-to></iq>`
	if out := h.send(romeo, other); len(out) != 1 || condition(out[0]) != "cancel/feature-not-implemented" {
		t.Errorf("another fastening: %v", out)
	}
	out = h.send(romeo, mod)
	if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		t.Fatalf("moderation: %v", out)
	}
	ret := pick(out, juliet, "message")
	if len(ret) != 1 {
		t.Fatalf("broadcast: %v", out)
	}
	v0 := child(ret[0], NSFasten, "apply-to", NSModerateV0, "moderated")
	if ret[0].Attr("from") != room1 || child(ret[0], NSFasten, "apply-to").Attr("id") != sid ||
		v0.Attr("by") != room1+"/Romeo" || v0.Child(NSRetractV0, "retract") == nil || v0.ChildText(NSModerateV0, "reason") != "spam" {
		t.Errorf("version 0 broadcast: %v", ret[0])
	}
	if child(ret[0], NSRetract, "retract").Attr("id") != sid ||
		child(ret[0], NSRetract, "retract", NSRetract, "reason").Text() != "spam" {
		t.Errorf("version 1 broadcast: %v", ret[0])
	}
	out = h.send("tybalt@localhost/x", join("Tybalt"))
	if s := fmtAll(pick(out, "tybalt@localhost/x", "message")); strings.Contains(s, "rude") || !strings.Contains(s, "retracted") {
		t.Errorf("history after moderation: %s", s)
	}
	// A version 1 request is broadcast in version 0 too.
	out = h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>again</body></message>`)
	sid = out[0].Child(NSStanzaID, "stanza-id").Attr("id")
	out = h.send(romeo, `<iq type='set' id='m1' to='`+room1+`'><moderate xmlns='urn:xmpp:message-moderate:1' id='`+sid+`'><retract xmlns='urn:xmpp:message-retract:1'/></moderate></iq>`)
	ret = pick(out, juliet, "message")
	if len(ret) != 1 || child(ret[0], NSFasten, "apply-to").Attr("id") != sid ||
		child(ret[0], NSFasten, "apply-to", NSModerateV0, "moderated", NSRetractV0, "retract") == nil {
		t.Errorf("version 1 request, version 0 broadcast: %v", out)
	}
}
