package room

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"chorus/stanza"
)

const (
	romeo  = "romeo@localhost/phone"
	juliet = "juliet@localhost/balcony"
	nurse  = "nurse@localhost/kitchen"
	admin  = "admin@localhost/desk"
	room1  = "room@conference.localhost"
)

// harness drives a Registry with stanzas and collects what it sends.
type harness struct {
	t   *testing.T
	g   *Registry
	mu  sync.Mutex // guards now, read by the registry's background work
	now time.Time
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	n := 0
	h.g = NewRegistry(Options{
		Domain: "conference.localhost",
		Admins: []string{"admin@localhost"},
		Now:    h.clock,
		NewID:  func() string { n++; return fmt.Sprintf("id%d", n) },
	})
	return h
}

// send feeds one stanza (its from set to from) and returns one stanza per
// recipient.
func (h *harness) send(from, raw string) []*stanza.Element {
	h.t.Helper()
	st := stanza.MustParse(raw)
	st.SetAttr("from", from)
	return Flatten(h.g.Handle(st))
}

func join(nick string, extra ...string) string {
	return `<presence to='` + room1 + `/` + nick + `'><x xmlns='http://jabber.org/protocol/muc'>` + strings.Join(extra, "") + `</x></presence>`
}

const instant = `<iq type='set' id='cfg' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`

func config(fields ...string) string {
	s := `<iq type='set' id='cfg' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`
	for i := 0; i+1 < len(fields); i += 2 {
		s += `<field var='` + fields[i] + `'><value>` + fields[i+1] + `</value></field>`
	}
	return s + `</x></query></iq>`
}

// createRoom makes an unlocked room owned by romeo (nick Romeo).
func (h *harness) createRoom(fields ...string) {
	h.t.Helper()
	h.send(romeo, join("Romeo"))
	var out []*stanza.Element
	if len(fields) == 0 {
		out = h.send(romeo, instant)
	} else {
		out = h.send(romeo, config(fields...))
	}
	if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		h.t.Fatalf("configuration refused: %v", out)
	}
}

// pick returns the stanzas of a kind sent to one address.
func pick(out []*stanza.Element, to, kind string) []*stanza.Element {
	var res []*stanza.Element
	for _, s := range out {
		if s.Attr("to") == to && s.Local == kind {
			res = append(res, s)
		}
	}
	return res
}

func codes(st *stanza.Element) string {
	var c []string
	for _, s := range st.Child(NSMUCUser, "x").ChildrenNamed(NSMUCUser, "status") {
		c = append(c, s.Attr("code"))
	}
	return strings.Join(c, ",")
}

func condition(st *stanza.Element) string {
	e := stanza.ErrorOf(st)
	return string(e.Type) + "/" + string(e.Condition)
}

func TestCreateRoom(t *testing.T) {
	h := newHarness(t)
	out := h.send(romeo, join("Romeo"))
	if len(out) != 2 {
		t.Fatalf("want self-presence and subject, got %v", out)
	}
	p := out[0]
	if p.Attr("from") != room1+"/Romeo" || codes(p) != "201,110" {
		t.Errorf("self-presence %v", p)
	}
	// XEP-0045 strict order: status 201, item, status 110.
	x := p.Child(NSMUCUser, "x").Children()
	if len(x) != 3 || x[1].Local != "item" || x[1].Attr("affiliation") != "owner" || x[1].Attr("role") != "moderator" || x[1].Attr("jid") != romeo {
		t.Errorf("x children %v", p)
	}
	if s := out[1]; s.Local != "message" || s.Attr("type") != "groupchat" || s.Child(NSClient, "subject") == nil || s.Attr("from") != room1 {
		t.Errorf("subject %v", s)
	}
}

func TestJoinRefusals(t *testing.T) {
	for i, tc := range [...]struct {
		setup func(h *harness)
		from  string
		join  string
		want  string
	}{
		0: {func(h *harness) { h.send(romeo, join("Romeo")) }, juliet, join("Juliet"), "cancel/item-not-found"}, // locked
		1: {func(h *harness) { h.createRoom("muc#roomconfig_roomsecret", "pw") }, juliet, join("Juliet"), "auth/not-authorized"},
		2: {func(h *harness) { h.createRoom("muc#roomconfig_roomsecret", "pw") }, juliet, join("Juliet", "<password>bad</password>"), "auth/not-authorized"},
		3: {func(h *harness) { h.createRoom("muc#roomconfig_membersonly", "1") }, juliet, join("Juliet"), "auth/registration-required"},
		4: {func(h *harness) { h.createRoom() }, juliet, join("Romeo"), "cancel/conflict"},
		5: {func(h *harness) { h.createRoom() }, juliet, join("  "), "modify/jid-malformed"}, // blank nick
		6: {func(h *harness) {
			h.createRoom()
			h.send(romeo, `<iq type='set' id='b' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='juliet@localhost'/></query></iq>`)
		}, juliet, join("Juliet"), "auth/forbidden"},
		7: {func(h *harness) { h.createRoom() }, juliet, `<presence to='` + room1 + `/Juliet'/>`, "cancel/item-not-found"}, // no muc payload
		8: {func(h *harness) { h.createRoom() }, juliet, `<presence to='` + room1 + `'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, "modify/jid-malformed"},
	} {
		h := newHarness(t)
		tc.setup(h)
		out := h.send(tc.from, tc.join)
		errs := pick(out, tc.from, "presence")
		if len(out) != 1 || len(errs) != 1 || errs[0].Attr("type") != "error" {
			t.Errorf("%d: want one error presence, got %v", i, out)
			continue
		}
		if got := condition(errs[0]); got != tc.want {
			t.Errorf("%d: got %s, want %s", i, got, tc.want)
		}
		if by := errs[0].Child(NSClient, "error").Attr("by"); by != room1 {
			t.Errorf("%d: error by %q", i, by)
		}
	}
}

func TestBlankNickRefused(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	st := stanza.MustParse(join("x"))
	st.SetAttr("to", room1+"/   ")
	st.SetAttr("from", juliet)
	out := Flatten(h.g.Handle(st))
	if len(out) != 1 || condition(out[0]) != "modify/jid-malformed" {
		t.Errorf("blank nick: %v", out)
	}
}

func TestPasswordJoinAndPresenceBroadcast(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_roomsecret", "pw")
	out := h.send(juliet, join("Juliet", "<password>pw</password>"))
	toJ := pick(out, juliet, "presence")
	if len(toJ) != 2 || toJ[0].Attr("from") != room1+"/Romeo" || toJ[1].Attr("from") != room1+"/Juliet" {
		t.Fatalf("juliet's presences: %v", out)
	}
	// Semi-anonymous: Juliet does not see Romeo's real JID, Romeo (moderator) sees Juliet's.
	if it := toJ[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item"); it.Attr("jid") != "" {
		t.Errorf("real JID leaked to participant: %v", toJ[0])
	}
	toR := pick(out, romeo, "presence")
	if len(toR) != 1 || toR[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item").Attr("jid") != juliet || codes(toR[0]) != "" {
		t.Errorf("romeo's view: %v", toR)
	}
	if last := out[len(out)-1]; last.Local != "message" || last.Child(NSClient, "subject") == nil {
		t.Errorf("join does not end with the subject: %v", last)
	}
	// Leave.
	out = h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'><status>bye</status></presence>`)
	if len(out) != 2 {
		t.Fatalf("leave: %v", out)
	}
	for _, p := range out {
		if p.Attr("type") != "unavailable" || p.ChildText(NSClient, "status") != "bye" {
			t.Errorf("leave presence %v", p)
		}
	}
	if codes(pick(out, juliet, "presence")[0]) != "110" {
		t.Errorf("self leave lacks 110: %v", out)
	}
}

func TestConfigChangeNotifies(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_roomsecret", "pw")
	h.send(juliet, join("Juliet", "<password>pw</password>"))
	out := h.send(romeo, config("muc#roomconfig_roomsecret", ""))
	if res := pick(out, romeo, "iq"); len(res) != 1 || out[0] != res[0] {
		t.Fatalf("result must come first: %v", out)
	}
	for _, who := range []string{romeo, juliet} {
		m := pick(out, who, "message")
		if len(m) != 1 || codes(m[0]) != "104" {
			t.Errorf("%s: 104 message missing: %v", who, out)
		}
	}
	out = h.send(romeo, config("muc#roomconfig_whois", "anyone"))
	if m := pick(out, juliet, "message"); len(m) != 1 || codes(m[0]) != "172" {
		t.Errorf("whois change: %v", out)
	}
	out = h.send(romeo, config("muc#roomconfig_whois", "nobody"))
	if len(out) != 1 || condition(out[0]) != "cancel/not-acceptable" {
		t.Errorf("bad value accepted: %v", out)
	}
	out = h.send(juliet, config("muc#roomconfig_roomname", "x"))
	if len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("non-owner configured: %v", out)
	}
}

func TestOwnerGetForm(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(romeo, `<iq type='get' id='f' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`)
	if len(out) != 1 || out[0].Attr("type") != "result" {
		t.Fatalf("%v", out)
	}
	x := out[0].FirstChild().Child("jabber:x:data", "x")
	if x == nil || x.Attr("type") != "form" {
		t.Fatalf("no form: %v", out[0])
	}
	vars := map[string]bool{}
	for _, f := range x.ChildrenNamed("jabber:x:data", "field") {
		vars[f.Attr("var")] = true
	}
	for _, v := range []string{"FORM_TYPE", "muc#roomconfig_roomsecret", "muc#roomconfig_membersonly", "muc#roomconfig_whois", "muc#roomconfig_roomname"} {
		if !vars[v] {
			t.Errorf("form lacks %s", v)
		}
	}
}

func admin1(item string) string {
	return `<iq type='set' id='a' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#admin'>` + item + `</query></iq>`
}

func TestAffiliationOfNonOccupant(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	if len(out) != 2 || out[0].Local != "message" || out[1].Attr("type") != "result" {
		t.Fatalf("want notification then result: %v", out)
	}
	it := out[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item")
	if it.Attr("jid") != "juliet@localhost" || it.Attr("affiliation") != "member" || len(it.Attrs) != 2 {
		t.Errorf("notification item %v", out[0])
	}
	out = h.send(romeo, `<iq type='get' id='l' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`)
	items := out[0].FirstChild().Children()
	if len(items) != 1 || items[0].Attr("jid") != "juliet@localhost" {
		t.Errorf("member list %v", out)
	}
}

func TestAffiliationPermissions(t *testing.T) {
	for i, tc := range [...]struct {
		actor, item, want string
	}{
		0: {juliet, `<item affiliation='member' jid='nurse@localhost'/>`, "cancel/not-allowed"},                       // a member
		1: {nurse, `<item affiliation='owner' jid='nurse@localhost'/>`, "cancel/not-allowed"},                         // an admin cannot make owners
		2: {nurse, `<item affiliation='none' jid='romeo@localhost'/>`, "cancel/not-allowed"},                          // an admin cannot demote owners
		3: {romeo, `<item affiliation='admin' jid='romeo@localhost'/>`, "cancel/conflict"},                            // last owner
		4: {romeo, `<item affiliation='king' jid='x@localhost'/>`, "modify/bad-request"},                              // unknown
		5: {romeo, `<item affiliation='member' jid='x@localhost/res'/>`, "modify/jid-malformed"},                      // full JID
		6: {romeo, `<item affiliation='member'/>`, "modify/bad-request"},                                              // no target
		7: {romeo, `<item affiliation='member' role='visitor' nick='Juliet'/>`, "modify/bad-request"},                 // both
		8: {nurse, `<item affiliation='outcast' jid='juliet@localhost'><reason>x</reason></item>`, ""},                // admin bans member
		9: {romeo, `<item affiliation='owner' jid='juliet@localhost'/><item affiliation='x'/>`, "modify/bad-request"}, // atomic
	} {
		h := newHarness(t)
		h.createRoom()
		h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
		h.send(romeo, admin1(`<item affiliation='admin' jid='nurse@localhost'/>`))
		out := h.send(tc.actor, admin1(tc.item))
		res := pick(out, tc.actor, "iq")
		if len(res) != 1 {
			t.Errorf("%d: no reply: %v", i, out)
			continue
		}
		got := ""
		if res[0].Attr("type") == "error" {
			got = condition(res[0])
		}
		if got != tc.want {
			t.Errorf("%d: got %q, want %q", i, got, tc.want)
		}
	}
	// Case 9 must not have applied its valid first item.
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='owner' jid='juliet@localhost'/><item affiliation='x'/>`))
	if h.g.rooms[room1].affs["juliet@localhost"].aff != 0 {
		t.Error("a refused request changed an affiliation")
	}
}

func TestMembersOnlyDeregister(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_membersonly", "1")
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<iq type='set' id='u' to='`+room1+`'><query xmlns='jabber:iq:register'><remove/></query></iq>`)
	toJ := pick(out, juliet, "presence")
	if len(toJ) != 1 || toJ[0].Attr("type") != "unavailable" || codes(toJ[0]) != "321,110" {
		t.Fatalf("juliet: %v", out)
	}
	it := toJ[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item")
	if it.Attr("affiliation") != "none" || it.Attr("role") != "none" || it.Attr("jid") != juliet {
		t.Errorf("item %v", it)
	}
	if toR := pick(out, romeo, "presence"); len(toR) != 1 || codes(toR[0]) != "321" {
		t.Errorf("romeo: %v", out)
	}
	if last := out[len(out)-1]; last.Local != "iq" || last.Attr("type") != "result" {
		t.Errorf("result must come last: %v", out)
	}
	if out := h.send(juliet, join("Juliet")); condition(out[0]) != "auth/registration-required" {
		t.Errorf("rejoin: %v", out)
	}
}

func TestGroupchat(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<message type='groupchat' id='m1' to='`+room1+`'><body>hi</body><delay xmlns='urn:xmpp:delay' from='`+room1+`' stamp='2000-01-01T00:00:00Z'/></message>`)
	if len(out) != 2 {
		t.Fatalf("broadcast: %v", out)
	}
	for _, m := range out {
		if m.Attr("from") != room1+"/Juliet" || m.Attr("id") != "m1" || m.ChildText(NSClient, "body") != "hi" || m.Child(NSDelay, "delay") != nil {
			t.Errorf("message %v", m)
		}
	}
	out = h.send(nurse, `<message type='groupchat' to='`+room1+`'><body>x</body></message>`)
	if len(out) != 1 || condition(out[0]) != "cancel/not-acceptable" {
		t.Errorf("non-occupant: %v", out)
	}
	// History with a delay stamped by the room, then the subject.
	h.advance(time.Minute)
	out = h.send(nurse, join("Nurse"))
	msgs := pick(out, nurse, "message")
	if len(msgs) != 2 || msgs[0].ChildText(NSClient, "body") != "hi" || msgs[0].Child(NSDelay, "delay").Attr("from") != room1 {
		t.Errorf("history: %v", msgs)
	}
	// XEP-0045 §7.2.15: the joiner's limits are honoured.
	for i, tc := range [...]struct {
		history string
		want    int
	}{
		0: {`<history maxstanzas='0'/>`, 0},
		1: {`<history maxstanzas='5'/>`, 1},
		2: {`<history seconds='30'/>`, 0}, // the message is a minute old
		3: {`<history seconds='120'/>`, 1},
		4: {`<history since='2026-01-02T03:04:00Z'/>`, 1},
		5: {`<history since='2026-01-02T03:05:00Z'/>`, 0},
		6: {`<history maxchars='10'/>`, 0},
		7: {`<history maxchars='100000'/>`, 1},
	} {
		who := fmt.Sprintf("h%d@localhost/x", i)
		out = h.send(who, join(fmt.Sprintf("H%d", i), tc.history))
		if got := len(pick(out, who, "message")) - 1; got != tc.want {
			t.Errorf("%d: %s: %d history messages, want %d", i, tc.history, got, tc.want)
		}
	}
}

func TestCorrectionPassesThrough(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(romeo, `<message type='groupchat' id='c2' to='`+room1+`'><body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='c1'/></message>`)
	if len(out) != 1 || out[0].Child("urn:xmpp:message-correct:0", "replace").Attr("id") != "c1" {
		t.Errorf("correction: %v", out)
	}
}

func TestNickValidation(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	for i, nick := range []string{"\u0007bell", " \t ", "a\u0000b"} {
		st := stanza.MustParse(join("x"))
		st.SetAttr("to", room1+"/"+nick)
		st.SetAttr("from", juliet)
		out := Flatten(h.g.Handle(st))
		if len(out) != 1 || condition(out[0]) != "modify/jid-malformed" {
			t.Errorf("%d: nick %q: %v", i, nick, out)
		}
	}
}

func TestSubjectChange(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><subject>new</subject></message>`)
	if len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("participant changed subject: %v", out)
	}
	// Subject and body together are a message (Prosody issue 667).
	out = h.send(juliet, `<message type='groupchat' to='`+room1+`'><subject>s</subject><body>b</body></message>`)
	if len(out) != 2 {
		t.Errorf("message with subject and body: %v", out)
	}
	out = h.send(romeo, `<message type='groupchat' to='`+room1+`'><subject>new</subject></message>`)
	if len(out) != 2 || out[0].ChildText(NSClient, "subject") != "new" || out[0].Attr("from") != room1+"/Romeo" {
		t.Errorf("subject broadcast: %v", out)
	}
	out = h.send(nurse, join("Nurse"))
	if last := out[len(out)-1]; last.ChildText(NSClient, "subject") != "new" {
		t.Errorf("joiner's subject: %v", last)
	}
}

func TestKickBanAndNickChange(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send(nurse, join("Nurse"))
	out := h.send(juliet, `<presence to='`+room1+`/Jules'/>`)
	toJ := pick(out, juliet, "presence")
	if len(toJ) != 2 || codes(toJ[0]) != "303,110" || toJ[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item").Attr("nick") != "Jules" || toJ[1].Attr("from") != room1+"/Jules" {
		t.Fatalf("nick change: %v", toJ)
	}
	out = h.send(romeo, admin1(`<item role='none' nick='Jules'><reason>out</reason></item>`))
	toJ = pick(out, juliet, "presence")
	if len(toJ) != 1 || codes(toJ[0]) != "307,110" || toJ[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item").ChildText(NSMUCUser, "reason") != "out" {
		t.Errorf("kick: %v", out)
	}
	// Moderators see the actor's real JID, the kicked user only its nick.
	if toR := pick(out, romeo, "presence"); len(toR) != 1 || toR[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item").Child(NSMUCUser, "actor").Attr("jid") != romeo {
		t.Errorf("actor for moderators: %v", toR)
	}
	if a := toJ[0].Child(NSMUCUser, "x").Child(NSMUCUser, "item").Child(NSMUCUser, "actor"); a.Attr("jid") != "" || a.Attr("nick") != "Romeo" {
		t.Errorf("actor for the kicked: %v", a)
	}
	out = h.send(juliet, admin1(`<item role='none' nick='Nurse'/>`))
	if len(out) != 1 || condition(out[0]) != "cancel/not-allowed" {
		t.Errorf("non-occupant kicked: %v", out)
	}
	out = h.send(romeo, admin1(`<item affiliation='outcast' jid='nurse@localhost'><reason>rude</reason></item>`))
	if toN := pick(out, nurse, "presence"); len(toN) != 1 || codes(toN[0]) != "301,110" {
		t.Errorf("ban: %v", out)
	}
	out = h.send(romeo, `<iq type='get' id='l' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>`)
	if it := out[0].FirstChild().FirstChild(); it.Attr("jid") != "nurse@localhost" || it.ChildText(NSMUCAdmin, "reason") != "rude" {
		t.Errorf("outcast list: %v", out)
	}
}

func TestDestroyAndShutdown(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy><reason>bye</reason></destroy></query></iq>`)
	if len(out) != 3 {
		t.Fatalf("destroy: %v", out)
	}
	toJ := pick(out, juliet, "presence")
	if len(toJ) != 1 || toJ[0].Child(NSMUCUser, "x").FirstChild().Local != "destroy" || codes(toJ[0]) != "110" {
		t.Errorf("juliet: %v", toJ)
	}
	if len(h.g.rooms) != 0 {
		t.Error("destroyed room still registered")
	}
	h.createRoom()
	out = Flatten(h.g.Shutdown())
	if len(out) != 1 || codes(out[0]) != "332,110" || out[0].Attr("type") != "unavailable" {
		t.Errorf("shutdown: %v", out)
	}
}

func TestTemporaryRoomGoesWhenEmpty(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
	if len(h.g.rooms) != 0 {
		t.Error("empty temporary room kept")
	}
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
	if len(h.g.rooms) != 1 {
		t.Error("persistent room dropped")
	}
}

func TestBadInput(t *testing.T) {
	for i, tc := range [...]struct {
		from, st, want string
	}{
		0: {romeo, `<iq type='get' id='x' to='` + room1 + `'/>`, "modify/bad-request"},
		1: {romeo, `<iq type='get' id='x' to='` + room1 + `'><a xmlns='a'/><b xmlns='b'/></iq>`, "modify/bad-request"},
		2: {romeo, `<iq type='get' id='x' to='` + room1 + `'><query xmlns='urn:unknown'/></iq>`, "cancel/service-unavailable"},
		3: {romeo, `<iq type='bogus' id='x' to='` + room1 + `'><query xmlns='urn:unknown'/></iq>`, "modify/bad-request"},
		4: {romeo, `<message to='` + room1 + `'><body>x</body></message>`, "modify/bad-request"},
		5: {romeo, `<message to='nosuchroom@conference.localhost' type='groupchat'><body>x</body></message>`, "cancel/item-not-found"},
		6: {juliet, `<message to='` + room1 + `/Romeo' type='chat'><body>x</body></message>`, "cancel/not-acceptable"},
		7: {romeo, `<presence to='` + room1 + `/Romeo' type='subscribe'/>`, "modify/bad-request"},
		8: {romeo, `<iq type='get' id='x' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#admin'><item/></query></iq>`, "modify/bad-request"},
		9: {juliet, `<iq type='get' id='x' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`, "auth/forbidden"},
	} {
		h := newHarness(t)
		h.createRoom()
		out := h.send(tc.from, tc.st)
		if len(out) != 1 || out[0].Attr("type") != "error" {
			t.Errorf("%d: want one error, got %v", i, out)
			continue
		}
		if got := condition(out[0]); got != tc.want {
			t.Errorf("%d: got %s, want %s", i, got, tc.want)
		}
	}
	// Errors and results are never answered.
	h := newHarness(t)
	h.createRoom()
	for _, s := range []string{
		`<iq type='result' id='x' to='` + room1 + `'/>`,
		`<message type='error' to='nosuch@conference.localhost'/>`,
		`<presence type='unavailable' to='` + room1 + `/Nobody'/>`,
	} {
		if out := h.send(juliet, s); len(out) != 0 {
			t.Errorf("answered %s with %v", s, out)
		}
	}
}

func TestSelfPing(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(romeo, `<iq type='get' id='p' to='`+room1+`/Romeo'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if len(out) != 1 || out[0].Attr("type") != "result" || out[0].Attr("from") != room1+"/Romeo" {
		t.Errorf("self-ping: %v", out)
	}
	out = h.send(juliet, `<iq type='get' id='p' to='`+room1+`/Romeo'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if len(out) != 1 || condition(out[0]) != "cancel/not-acceptable" {
		t.Errorf("non-occupant ping: %v", out)
	}
}

func TestErrorBounceRemovesGhost(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_whois", "anyone")
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<presence type='error' to='`+room1+`'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Test error</text></error></presence>`)
	toR := pick(out, romeo, "presence")
	if len(out) != 1 || len(toR) != 1 || codes(toR[0]) != "333" || toR[0].ChildText(NSClient, "status") != "Kicked: service unavailable: Test error" {
		t.Errorf("ghost removal: %v", out)
	}
}
