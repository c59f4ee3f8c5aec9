package room

import (
	"strings"
	"testing"

	"golang.org/x/text/secure/precis"
	"mellium.im/xmpp/jid"

	"chorus/stanza"
)

// sendTo feeds a stanza with an exact 'to', which join() could not spell
// (quotes, or no nick at all).
func (h *harness) sendTo(from, to, raw string) []*stanza.Element {
	h.t.Helper()
	st := stanza.MustParse(raw)
	st.SetAttr("from", from)
	st.SetAttr("to", to)
	return Flatten(h.g.Handle(st))
}

const joinStanza = `<presence><x xmlns='http://jabber.org/protocol/muc'/></presence>`

func errorText(st *stanza.Element) string {
	return stanza.ErrorOf(st).Text
}

func registerAs(nick string) string {
	return `<iq type='set' id='r' to='` + room1 + `'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>` +
		`<field var='muc#register_roomnick'><value>` + nick + `</value></field></x></query></iq>`
}

// TestLookAlikeNicksRefused: while Romeo is in the room, nobody else may
// enter under a nick that compares equal to his (RFC 8266 §2.4), or under
// one that shows as nothing; each attacker hears why, and Romeo hears of
// none of it and keeps talking to the room.
func TestLookAlikeNicksRefused(t *testing.T) {
	for i, tc := range [...]struct {
		nick, want string
	}{
		0:  {"Romeo", "cancel/conflict"},
		1:  {"ROMEO", "cancel/conflict"},
		2:  {"romeo", "cancel/conflict"},
		3:  {"Romeo ", "cancel/conflict"},
		4:  {" Romeo", "cancel/conflict"},
		5:  {" romeo  ", "cancel/conflict"},
		6:  {"Ｒｏｍｅｏ", "cancel/conflict"}, // fullwidth
		7:  {"ＲＯＭＥＯ", "cancel/conflict"},
		8:  {"\u0301\u0302", "modify/jid-malformed"},      // combining marks only
		9:  {"\u0301 \u0308", "modify/jid-malformed"},     // marks and a space
		10: {"\u3164", "modify/jid-malformed"},            // Hangul filler
		11: {"\u2800", "modify/jid-malformed"},            // braille blank
		12: {"\u05d0 12", "modify/jid-malformed"},         // fails the bidi rule (RFC 3454 §6)
		13: {"Romeo\u0378", "modify/jid-malformed"},       // unassigned code point
		14: {"Romeo\u200b", "modify/jid-malformed"},       // zero-width space
		15: {"\u00a0Romeo", "cancel/conflict"},            // the address parser maps it to ASCII (OpaqueString, RFC 8265 §4.2.2)
		16: {"R\u200bomeo\u00ad", "modify/jid-malformed"}, // invisible characters inside
		17: {"Romeo\U0001F600", "modify/jid-malformed"},   // assigned after Unicode 3.2: strict Resourceprep refuses it, as Prosody does
	} {
		h := newHarness(t)
		h.createRoom()
		out := h.sendTo(juliet, room1+"/"+tc.nick, joinStanza)
		if len(out) != 1 || out[0].Attr("type") != "error" || out[0].Attr("to") != juliet {
			t.Errorf("%d: %q: want one error to the attacker, got %v", i, tc.nick, out)
			continue
		}
		if got := condition(out[0]); got != tc.want {
			t.Errorf("%d: %q: got %s, want %s", i, tc.nick, got, tc.want)
		}
		if text := errorText(out[0]); !strings.Contains(text, "nickname") {
			t.Errorf("%d: %q: the text %q does not name the nickname", i, tc.nick, text)
		}
		if len(h.g.rooms[room1].occupants) != 1 {
			t.Errorf("%d: %q: the attacker is in the room", i, tc.nick)
		}
		out = h.send(romeo, `<message type='groupchat' id='m' to='`+room1+`'><body>still here</body></message>`)
		if len(out) != 1 || out[0].Attr("to") != romeo || out[0].Attr("from") != room1+"/Romeo" {
			t.Errorf("%d: %q: Romeo's message: %v", i, tc.nick, out)
		}
	}
}

// TestValidNicks: what the checks let through.
func TestValidNicks(t *testing.T) {
	for i, nick := range [...]string{0: "Mercutio", 1: "Ромео", 2: "日本語", 3: "\u05d0\u05d1", 4: "\u05d0 1\u05d1", 5: "Romeo \u263a", 6: "Rom\u00e9o", 7: "/", 8: "a b"} {
		if e := nickError(nick); e != nil {
			t.Errorf("%d: %q refused: %v", i, nick, e)
		}
	}
}

// TestNickKey pins which nicks are the same.
func TestNickKey(t *testing.T) {
	for i, tc := range [...]struct {
		a, b string
		same bool
	}{
		0:  {"Romeo", "romeo", true},
		1:  {"Romeo", "ROMEO", true},
		2:  {"Romeo", " Romeo ", true},
		3:  {"Romeo Montague", "romeo   montague", true},
		4:  {"Romeo", "Ｒｏｍｅｏ", true},
		5:  {"Romeo", "Romeo\u3164", true},   // a Hangul filler shows as nothing
		6:  {"Romeo", "Rom\u00e9o", false},   // é is another letter
		7:  {"Romeo", "Rome0", false},        // confusable, but another character
		8:  {"ﬁdo", "fido", true},            // NFKC
		9:  {"Ämilie", "äMILIE", true},       // non-ASCII case mapping
		10: {"Romeo\u2163", "romeoiv", true}, // NFKC: Ⅳ is IV
		11: {"Juliet", "Romeo", false},
	} {
		if got := nickKey(tc.a) == nickKey(tc.b); got != tc.same {
			t.Errorf("%d: %q vs %q: same=%v (keys %q, %q)", i, tc.a, tc.b, got, nickKey(tc.a), nickKey(tc.b))
		}
	}
	// The ASCII shortcut gives PRECIS's key.
	for i, s := range [...]string{0: "Romeo", 1: " a  B ", 2: "x", 3: "A~!@#$%^&*()_+{}|:\"<>?`-=[];',./", 4: "  lots   of   space  "} {
		want, err := precis.Nickname.CompareKey(s)
		if err != nil || asciiNickKey(s) != want {
			t.Errorf("%d: %q: shortcut %q, PRECIS %q (%v)", i, s, asciiNickKey(s), want, err)
		}
	}
}

// TestNickChangeToLookAlike: a nick change onto a nick that compares equal
// to another occupant's, or to a nick someone else reserved, is a conflict;
// an occupant may change how its own nick is written.
func TestNickChangeToLookAlike(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost' nick='Angelica'/>`))
	h.send(juliet, join("Juliet"))
	for i, tc := range [...]struct{ nick, want string }{
		0: {"ROMEO", "cancel/conflict"},
		1: {"Ｒｏｍｅｏ", "cancel/conflict"},
		2: {"angelica", "cancel/conflict"},
		3: {" ANGELICA", "cancel/conflict"},
		4: {"\u0301", "modify/jid-malformed"},
	} {
		out := h.sendTo(juliet, room1+"/"+tc.nick, `<presence/>`)
		if len(out) != 1 || condition(out[0]) != tc.want || !strings.Contains(errorText(out[0]), "nickname") {
			t.Errorf("%d: change to %q: %v", i, tc.nick, out)
		}
	}
	out := h.send(romeo, `<presence to='`+room1+`/ROMEO'/>`)
	toJ := pick(out, juliet, "presence")
	if len(toJ) != 2 || codes(toJ[0]) != "303" || toJ[1].Attr("from") != room1+"/ROMEO" {
		t.Errorf("Romeo writes his nick in capitals: %v", out)
	}
}

// TestSameUserLookAlikeNick: the occupant's own user joining from another
// session under a look-alike of its nick becomes a second session of it,
// shown under the nick it has (status 210), not a second occupant.
func TestSameUserLookAlikeNick(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.sendTo("romeo@localhost/laptop", room1+"/ROMEO", joinStanza)
	self := pick(out, "romeo@localhost/laptop", "presence")
	if len(self) == 0 || self[len(self)-1].Attr("from") != room1+"/Romeo" || !strings.Contains(codes(self[len(self)-1]), "210") {
		t.Errorf("second session: %v", out)
	}
	if r := h.g.rooms[room1]; len(r.occupants) != 1 || len(r.occupants[0].sessions) != 2 {
		t.Errorf("want one occupant with two sessions")
	}
}

// TestLookAlikeAddressesReachTheOccupant: private messages and IQs to a
// look-alike of a nick reach the one occupant that nick can mean.
func TestLookAlikeAddressesReachTheOccupant(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.sendTo(juliet, room1+"/ROMEO", `<message type='chat'><body>hi</body></message>`)
	if len(out) != 1 || out[0].Attr("to") != romeo || out[0].Attr("from") != room1+"/Juliet" {
		t.Errorf("private message: %v", out)
	}
	out = h.sendTo(juliet, room1+"/ｒｏｍｅｏ", `<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>`)
	if len(out) != 1 || out[0].Attr("to") != romeo || out[0].Attr("type") != "get" {
		t.Errorf("iq: %v", out)
	}
}

// TestReservedNickComparison: reserved nicks compare by the same key, for
// joins and for registration.
func TestReservedNickComparison(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	if out := h.send(juliet, registerAs("Jules")); out[len(out)-1].Attr("type") != "result" {
		t.Fatalf("registration: %v", out)
	}
	for i, tc := range [...]struct{ from, stanza, want string }{
		0: {nurse, join("JULES"), "cancel/conflict"},
		1: {nurse, join("Julie"), ""},
		2: {nurse, registerAs("jules"), "cancel/conflict"},
		3: {nurse, registerAs("ＪＵＬＥＳ"), "cancel/conflict"},
		4: {nurse, registerAs("romeo"), "cancel/conflict"}, // Romeo is in the room
		5: {nurse, registerAs("\u0301\u0301"), "modify/bad-request"},
		6: {nurse, registerAs("\u05d0 12"), "modify/bad-request"},
		7: {romeo, admin1(`<item affiliation='member' jid='nurse@localhost' nick='JULES'/>`), "cancel/conflict"},
		8: {romeo, admin1(`<item affiliation='member' jid='nurse@localhost' nick='&#x301;'/>`), "modify/jid-malformed"},
	} {
		out := h.send(tc.from, tc.stanza)
		if tc.want == "" {
			continue
		}
		if len(out) != 1 || condition(out[0]) != tc.want {
			t.Errorf("%d: got %v, want %s", i, out, tc.want)
		}
	}
	out := h.sendTo(nurse, room1+"/Ｊｕｌｅｓ", joinStanza)
	if len(out) != 1 || condition(out[0]) != "cancel/conflict" {
		t.Errorf("fullwidth reserved nick: %v", out)
	}
	// Juliet herself may use any way of writing it.
	out = h.sendTo(juliet, room1+"/jules", joinStanza)
	if self := pick(out, juliet, "presence"); len(self) == 0 || self[len(self)-1].Attr("type") == "error" {
		t.Errorf("Juliet under her own reserved nick: %v", out)
	}
}

// TestJoinRefusalOrder pins which refusal a join gets when it is wrong in
// several ways: the first in Prosody's hook order (see features), with the
// one exception XEP-0045 §7.2.7 asks for.
func TestJoinRefusalOrder(t *testing.T) {
	ban := func(h *harness, who string) {
		h.send(romeo, admin1(`<item affiliation='outcast' jid='`+who+`'/>`))
	}
	reserve := func(h *harness, who, nick string) {
		h.send(romeo, admin1(`<item affiliation='member' jid='`+who+`' nick='`+nick+`'/>`))
	}
	for i, tc := range [...]struct {
		faults string // what is wrong with the join, for the reader
		setup  func(h *harness)
		to     string
		want   string
	}{
		0: {"invalid nick, banned, locked", func(h *harness) {
			h.send(romeo, join("Romeo"))
			ban(h, "juliet@localhost")
		}, room1 + "/\u05d0 12", "modify/jid-malformed"},
		1: {"invisible nick, members-only, password", func(h *harness) {
			h.createRoom("muc#roomconfig_membersonly", "1", "muc#roomconfig_roomsecret", "pw")
		}, room1 + "/\u0301", "modify/jid-malformed"},
		2: {"reserved nick, members-only, password", func(h *harness) {
			h.createRoom("muc#roomconfig_membersonly", "1", "muc#roomconfig_roomsecret", "pw")
			reserve(h, "nurse@localhost", "Angelica")
		}, room1 + "/ANGELICA", "cancel/conflict"},
		3: {"reserved nick, banned", func(h *harness) {
			h.createRoom()
			reserve(h, "nurse@localhost", "Angelica")
			ban(h, "juliet@localhost")
		}, room1 + "/Angelica", "cancel/conflict"},
		4: {"banned, members-only", func(h *harness) {
			h.createRoom("muc#roomconfig_membersonly", "1")
			ban(h, "juliet@localhost")
		}, room1 + "/Juliet", "auth/registration-required"},
		5: {"members-only, password", func(h *harness) {
			h.createRoom("muc#roomconfig_membersonly", "1", "muc#roomconfig_roomsecret", "pw")
		}, room1 + "/Juliet", "auth/registration-required"},
		6: {"banned, password", func(h *harness) {
			h.createRoom("muc#roomconfig_roomsecret", "pw")
			ban(h, "juliet@localhost")
		}, room1 + "/Juliet", "auth/forbidden"},
		7: {"password, locked", func(h *harness) {
			h.send(romeo, join("Romeo", "<password>pw</password>"))
		}, room1 + "/Juliet", "auth/not-authorized"},
		8: {"locked, nick in use", func(h *harness) {
			h.send(romeo, join("Romeo"))
		}, room1 + "/ROMEO", "cancel/item-not-found"},
		9: {"password, nick in use", func(h *harness) {
			h.createRoom("muc#roomconfig_roomsecret", "pw")
		}, room1 + "/romeo", "auth/not-authorized"},
		10: {"members-only, nick in use", func(h *harness) {
			h.createRoom("muc#roomconfig_membersonly", "1")
		}, room1 + "/Romeo", "auth/registration-required"},
		11: {"banned, nick in use", func(h *harness) {
			h.createRoom()
			ban(h, "juliet@localhost")
		}, room1 + "/Romeo ", "auth/forbidden"},
		12: {"full, reserved nick", func(h *harness) {
			h.createRoom("muc#roomconfig_maxusers", "1")
			reserve(h, "nurse@localhost", "Angelica")
		}, room1 + "/Angelica", "cancel/conflict"},
		13: {"full", func(h *harness) {
			h.createRoom("muc#roomconfig_maxusers", "1")
		}, room1 + "/Juliet", "cancel/service-unavailable"},
	} {
		h := newHarness(t)
		tc.setup(h)
		out := h.sendTo(juliet, tc.to, joinStanza)
		if len(out) != 1 || out[0].Attr("type") != "error" {
			t.Errorf("%d (%s): want one error, got %v", i, tc.faults, out)
			continue
		}
		if got := condition(out[0]); got != tc.want {
			t.Errorf("%d (%s): got %s, want %s", i, tc.faults, got, tc.want)
		}
	}
}

// TestErrorsComeFromValidAddresses: whatever the 'to' of a stanza, every
// reply comes from a valid address of this service: the service, a room,
// or an occupant address whose nick could be someone's; and where the nick
// is what is wrong, the error says so.
func TestErrorsComeFromValidAddresses(t *testing.T) {
	stanzas := [...]string{
		0: joinStanza,
		1: `<presence/>`,
		2: `<presence type='probe'/>`,
		3: `<message type='chat'><body>x</body></message>`,
		4: `<message type='groupchat'><body>x</body></message>`,
		5: `<iq type='get' id='q'><ping xmlns='urn:xmpp:ping'/></iq>`,
		6: `<iq type='get' id='q'><query xmlns='jabber:iq:version'/></iq>`,
	}
	for i, tc := range [...]struct {
		to       string
		nickText bool // the reply must say the nickname is the problem
	}{
		0:  {room1 + "/", true},
		1:  {room1 + "/   ", true},
		2:  {room1 + "/\u0301", true},
		3:  {room1 + "/\u05d0 12", true},
		4:  {room1 + "/a\u00adb", true},
		5:  {room1 + "/\u3164", true},
		6:  {room1 + "/Romeo\u0378", true},
		7:  {"nosuchroom@conference.localhost/", true},
		8:  {"Room@conference.localhost/", true},
		9:  {"@conference.localhost/x", false},
		10: {"room@conference.localhost@x/y", false},
		11: {"room@/x", false},
		12: {"", false},
	} {
		for j, s := range stanzas {
			for _, from := range []string{romeo, juliet} {
				h := newHarness(t)
				h.createRoom()
				for _, st := range h.sendTo(from, tc.to, s) {
					checkReplyFrom(t, i, j, tc.to, st)
					if st.Attr("type") == "error" && tc.nickText && !strings.Contains(errorText(st), "nickname") {
						t.Errorf("%d/%d: to %q: the error does not name the nickname: %v", i, j, tc.to, st)
					}
				}
			}
		}
	}
}

func checkReplyFrom(t *testing.T, i, j int, to string, st *stanza.Element) {
	t.Helper()
	from := st.Attr("from")
	a, ok := ParseAddress(from)
	_, err := jid.Parse(from)
	switch {
	case !ok || err != nil:
		t.Errorf("%d/%d: to %q: reply from the invalid address %q: %v", i, j, to, from, st)
	case a.Domain() != "conference.localhost":
		t.Errorf("%d/%d: to %q: reply from %q, outside the service: %v", i, j, to, from, st)
	case a.Resource() != "" && nickError(a.Resource()) != nil:
		t.Errorf("%d/%d: to %q: reply from %q, which no occupant can hold: %v", i, j, to, from, st)
	}
}
