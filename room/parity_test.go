package room

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"chorus/stanza"
)

// Tests of the rules where Chorus follows Prosody's MUC because XEP-0045
// leaves room, and of the room configuration fields' effects.

// TestPasswordRefusalText: a join without the password and one with a wrong
// password are both not-authorized (XEP-0045 §7.2.6), and the text says
// which it was.
func TestPasswordRefusalText(t *testing.T) {
	for i, tc := range [...]struct {
		extra string
		want  string
	}{
		0: {"", "A password is required to enter this room"},
		1: {"<password/>", "A password is required to enter this room"},
		2: {"<password>dagger</password>", "The password is wrong"},
		3: {"<password>poison</password>", ""},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_roomsecret", "poison")
		out := h.send(juliet, join("Juliet", tc.extra))
		if tc.want == "" {
			if len(pick(out, juliet, "presence")) != 2 {
				t.Errorf("%d: right password refused: %v", i, out)
			}
			continue
		}
		if len(out) != 1 || condition(out[0]) != "auth/not-authorized" || errorText(out[0]) != tc.want {
			t.Errorf("%d: got %v, want not-authorized %q", i, out, tc.want)
		}
	}
}

const (
	probeFor  = `<presence type='probe' to='` + room1 + `/`
	nurseBare = "nurse@localhost"
)

func probe(nick string) string { return probeFor + nick + `'/>` }

// TestProbeAnswers: a probe from an occupant is answered as Prosody's
// respond_to_probe does, and every answer about someone carries the
// muc#user item: a present occupant's with its role, an absent member's
// (reserved nick) unavailable with role none, real JIDs only where the
// prober may see them; a nick nobody holds gets no answer.
func TestProbeAnswers(t *testing.T) {
	for i, tc := range [...]struct {
		room   []string // configuration
		prober string   // romeo (owner, moderator) or juliet (participant)
		nick   string
		// want: "" no answer, else type/affiliation/role/jid/nick of the
		// answer's item.
		want string
	}{
		0: {nil, juliet, "Romeo", "available/owner/moderator//"},
		1: {nil, romeo, "Juliet", "available/none/participant/" + juliet + "/"},
		2: {nil, juliet, "Nurse", "unavailable/member/none//Nurse"},
		3: {nil, romeo, "Nurse", "unavailable/member/none/" + nurseBare + "/Nurse"},
		4: {[]string{"muc#roomconfig_whois", "anyone"}, juliet, "Nurse", "unavailable/member/none/" + nurseBare + "/Nurse"},
		5: {nil, juliet, "nurse", "unavailable/member/none//Nurse"}, // the same nick
		6: {nil, juliet, "Tybalt", ""},
	} {
		h := newHarness(t)
		h.createRoom(tc.room...)
		h.send(romeo, admin1(`<item affiliation='member' jid='`+nurseBare+`' nick='Nurse'/>`))
		h.send(juliet, join("Juliet"))
		out := h.send(tc.prober, probe(tc.nick))
		if tc.want == "" {
			if len(out) != 0 {
				t.Errorf("%d: want no answer, got %v", i, out)
			}
			continue
		}
		if len(out) != 1 {
			t.Errorf("%d: want one answer, got %v", i, out)
			continue
		}
		p := out[0]
		typ := p.Attr("type")
		if typ == "" {
			typ = "available"
		}
		it := child(p, NSMUCUser, "x", NSMUCUser, "item")
		got := strings.Join([]string{typ, it.Attr("affiliation"), it.Attr("role"), it.Attr("jid"), it.Attr("nick")}, "/")
		if it == nil || got != tc.want {
			t.Errorf("%d: got %s, want %s: %v", i, got, tc.want, p)
		}
	}
	// Probes from outside the room are refused.
	h := newHarness(t)
	h.createRoom()
	if out := h.send(nurse, probe("Romeo")); len(out) != 1 || condition(out[0]) != "cancel/not-acceptable" {
		t.Errorf("probe from outside: %v", out)
	}
}

// TestEveryPresenceCarriesItem: every presence the room sends about an
// occupant, as it joins, changes, leaves, is kicked, or is shown absent,
// carries a muc#user item with its affiliation and role (none once gone).
func TestEveryPresenceCarriesItem(t *testing.T) {
	const tybaltBare = "tybalt@localhost"
	h := newHarness(t)
	h.createRoom("muc#roomconfig_presencebroadcast", "none")
	h.send(romeo, admin1(`<item affiliation='member' jid='`+nurseBare+`' nick='Nurse'/>`))
	h.send(romeo, admin1(`<item affiliation='member' jid='`+tybaltBare+`'/>`))
	var all []*stanza.Element
	for _, step := range [...]struct{ from, st string }{
		0: {juliet, join("Juliet")},
		1: {juliet, `<presence to='` + room1 + `/Juliet'><show>away</show></presence>`},
		2: {juliet, `<presence to='` + room1 + `/Jules'/>`},
		3: {juliet + "2", join("Jules")},
		4: {juliet + "2", `<presence type='unavailable' to='` + room1 + `/Jules'/>`},
		5: {romeo, admin1(`<item role='none' nick='Jules'/>`)},
		6: {juliet, join("Juliet")},
		7: {juliet, `<presence type='error' to='` + room1 + `/Juliet'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`},
		8: {romeo, `<presence type='unavailable' to='` + room1 + `/Romeo'/>`},
	} {
		all = append(all, h.send(step.from, step.st)...)
	}
	n := 0
	for _, p := range all {
		if p.Local != "presence" || p.Attr("type") == "error" {
			continue
		}
		n++
		it := child(p, NSMUCUser, "x", NSMUCUser, "item")
		if it == nil || it.Attr("affiliation") == "" || it.Attr("role") == "" {
			t.Errorf("presence without its item: %v", p)
			continue
		}
		if p.Attr("type") == "unavailable" && it.Attr("role") != "none" && !strings.Contains(codes(p), "303") {
			// A nick change keeps the role (XEP-0045 §7.6); anything
			// else unavailable is someone gone.
			t.Errorf("unavailable presence with role %s: %v", it.Attr("role"), p)
		}
	}
	if n < 10 {
		t.Errorf("only %d presences seen: %v", n, all)
	}
}

// TestMultiSessionNickChange: an occupant present through two sessions
// changes its nick; both sessions move, each gets the unavailable 303 and
// the new presence, both with 110, and the rest of the room sees one
// change (XEP-0045 §7.6).
func TestMultiSessionNickChange(t *testing.T) {
	const juliet2 = "juliet@localhost/garden"
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send(juliet2, join("Juliet"))
	out := h.send(juliet2, `<presence to='`+room1+`/Jules'/>`)
	for i, to := range [...]string{0: juliet, 1: juliet2} {
		ps := pick(out, to, "presence")
		if len(ps) != 2 {
			t.Fatalf("%d: want unavailable and available, got %v", i, out)
		}
		if ps[0].Attr("type") != "unavailable" || ps[0].Attr("from") != room1+"/Juliet" || codes(ps[0]) != "303,110" ||
			child(ps[0], NSMUCUser, "x", NSMUCUser, "item").Attr("nick") != "Jules" {
			t.Errorf("%d: unavailable %v", i, ps[0])
		}
		if ps[1].Attr("type") != "" || ps[1].Attr("from") != room1+"/Jules" || codes(ps[1]) != "110" {
			t.Errorf("%d: available %v", i, ps[1])
		}
	}
	ps := pick(out, romeo, "presence")
	if len(ps) != 2 || ps[0].Attr("type") != "unavailable" || codes(ps[0]) != "303" || ps[1].Attr("from") != room1+"/Jules" || codes(ps[1]) != "" {
		t.Errorf("the room sees %v", ps)
	}
	// Both sessions are Jules now: a message from either comes from Jules,
	// and the old nick is free.
	out = h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>hi</body></message>`)
	if m := pick(out, romeo, "message"); len(m) != 1 || m[0].Attr("from") != room1+"/Jules" {
		t.Errorf("message after the change: %v", out)
	}
	if out := h.send(nurse, join("Juliet")); len(pick(out, nurse, "presence")) != 3 {
		t.Errorf("the old nick is still held: %v", out)
	}
}

// TestLoggingStatusOnJoin: a joiner is warned with 170 when the room's
// messages are archived (XEP-0045 §7.2.13), and only then.
func TestLoggingStatusOnJoin(t *testing.T) {
	for i, tc := range [...]struct {
		store  bool
		fields []string
		want   string
	}{
		0: {true, []string{"muc#roomconfig_persistentroom", "1"}, "170,110"},
		1: {true, []string{"muc#roomconfig_persistentroom", "1", "muc#roomconfig_enablelogging", "0"}, "110"},
		2: {true, []string{"muc#roomconfig_persistentroom", "0"}, "110"}, // temporary rooms are never archived
		3: {false, []string{"muc#roomconfig_persistentroom", "1"}, "110"},
		4: {true, []string{"muc#roomconfig_persistentroom", "1", "muc#roomconfig_whois", "anyone"}, "100,170,110"},
	} {
		var h *harness
		if tc.store {
			h = newStoreHarness(t, newMemStore(), nil)
		} else {
			h = newHarness(t)
		}
		h.createRoom(tc.fields...)
		out := h.send(juliet, join("Juliet"))
		if ps := pick(out, juliet, "presence"); len(ps) != 2 || codes(ps[1]) != tc.want {
			t.Errorf("%d: want self-presence with %s, got %v", i, tc.want, out)
		}
	}
}

func newEnforcingHarness(t *testing.T) *harness {
	h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	n := 0
	h.g = NewRegistry(Options{
		Domain: "conference.localhost", Admins: []string{"admin@localhost"}, Now: h.clock,
		NewID:                 func() string { n++; return fmt.Sprintf("id%d", n) },
		EnforceRegisteredNick: true,
	})
	return h
}

// TestEnforceRegisteredNick: where the service enforces reserved nicks, a
// user who reserved one enters under it whatever it asks for, told so with
// 210, and may not change away from it (not-acceptable, as Prosody's
// register.lib.lua); without the option it enters as it asks.
func TestEnforceRegisteredNick(t *testing.T) {
	for i, tc := range [...]struct {
		enforce  bool
		reserved string // juliet's reserved nick
		ask      string
		nick     string // nick juliet gets
		codes    string
	}{
		0: {true, "Jules", "Juliet", "Jules", "210,110"},
		1: {true, "Jules", "Jules", "Jules", "110"},
		2: {true, "Jules", "jules", "Jules", "210,110"},
		3: {true, "", "Juliet", "Juliet", "110"},
		4: {false, "Jules", "Juliet", "Juliet", "110"},
	} {
		h := newHarness(t)
		if tc.enforce {
			h = newEnforcingHarness(t)
		}
		h.createRoom()
		if tc.reserved != "" {
			h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost' nick='`+tc.reserved+`'/>`))
		}
		out := h.send(juliet, join(tc.ask))
		ps := pick(out, juliet, "presence")
		if len(ps) != 2 || ps[1].Attr("from") != room1+"/"+tc.nick || codes(ps[1]) != tc.codes {
			t.Errorf("%d: want %s with %s, got %v", i, tc.nick, tc.codes, out)
			continue
		}
		if p := pick(out, romeo, "presence"); len(p) != 1 || p[0].Attr("from") != room1+"/"+tc.nick {
			t.Errorf("%d: the room sees %v", i, p)
		}
		out = h.send(juliet, `<presence to='`+room1+`/Other'/>`)
		refused := len(out) == 1 && condition(out[0]) == "cancel/not-acceptable"
		if want := tc.enforce && tc.reserved != ""; refused != want {
			t.Errorf("%d: nick change away from the reserved nick refused=%v, want %v: %v", i, refused, want, out)
		}
	}
}

// Requesters of affiliation lists in TestAffiliationListPermissions.
const (
	asModerator   = "moderator"
	asParticipant = "participant"
	asVisitor     = "visitor"
	asAbsent      = "absent"
)

// TestAffiliationListPermissions: who may get which affiliation list, per
// room type, requester affiliation and requester role. The expectations are
// Prosody's rule (muc.lib.lua handle_admin_query_get_command): an owner or
// admin gets the lists of its rank and below; in a room that is members-only
// and non-anonymous members and above get every list; roles never matter,
// so every case holds for the requester present as any role it can have,
// and absent. (muc#roomconfig_getmemberlist, unset here, is tested in
// TestGetMemberList.)
func TestAffiliationListPermissions(t *testing.T) {
	const tybaltBare = "tybalt@localhost"
	rooms := map[string][]string{
		"open":                {},
		"whois-anyone":        {"muc#roomconfig_whois", "anyone"},
		"members-only":        {"muc#roomconfig_membersonly", "1"},
		"members-only-anyone": {"muc#roomconfig_membersonly", "1", "muc#roomconfig_whois", "anyone"},
	}
	for i, tc := range [...]struct {
		room  string
		aff   string
		lists string // the lists the requester gets
	}{
		0:  {"open", "owner", "owner admin member outcast"},
		1:  {"open", "admin", "admin member outcast"},
		2:  {"open", "member", ""},
		3:  {"open", "none", ""},
		4:  {"whois-anyone", "owner", "owner admin member outcast"},
		5:  {"whois-anyone", "admin", "admin member outcast"},
		6:  {"whois-anyone", "member", ""},
		7:  {"whois-anyone", "none", ""},
		8:  {"members-only", "owner", "owner admin member outcast"},
		9:  {"members-only", "admin", "admin member outcast"},
		10: {"members-only", "member", ""},
		11: {"members-only", "none", ""},
		12: {"members-only-anyone", "owner", "owner admin member outcast"},
		13: {"members-only-anyone", "admin", "owner admin member outcast"},
		14: {"members-only-anyone", "member", "owner admin member outcast"},
		15: {"members-only-anyone", "none", ""},
	} {
		roles := []string{asModerator, asAbsent}
		switch {
		case tc.aff == "member":
			roles = []string{asModerator, asParticipant, asVisitor, asAbsent}
		case tc.aff == "none" && !strings.HasPrefix(tc.room, "members-only"):
			roles = []string{asModerator, asParticipant, asVisitor, asAbsent}
		case tc.aff == "none":
			roles = []string{asAbsent}
		}
		for _, role := range roles {
			h := newHarness(t)
			h.createRoom(rooms[tc.room]...)
			mustResult := func(what string, out []*stanza.Element) {
				if r := pick(out, romeo, "iq"); len(r) != 1 || r[0].Attr("type") != "result" {
					t.Fatalf("%d %s: %s refused: %v", i, role, what, out)
				}
			}
			// Someone on each list besides the requester.
			mustResult("admin", h.send(romeo, admin1(`<item affiliation='admin' jid='mercutio@localhost'/>`)))
			mustResult("member", h.send(romeo, admin1(`<item affiliation='member' jid='benvolio@localhost'/>`)))
			mustResult("outcast", h.send(romeo, admin1(`<item affiliation='outcast' jid='nurse@localhost'/>`)))
			if tc.aff != "none" {
				mustResult("requester", h.send(romeo, admin1(`<item affiliation='`+tc.aff+`' jid='`+tybaltBare+`'/>`)))
			}
			if role != asAbsent {
				if ps := pick(h.send(tybalt, join("Tybalt")), tybalt, "presence"); len(ps) < 2 {
					t.Fatalf("%d %s: join refused: %v", i, role, ps)
				}
				byDefault := role == asParticipant || (role == asModerator && (tc.aff == "owner" || tc.aff == "admin"))
				if !byDefault {
					mustResult("role", h.send(romeo, admin1(`<item role='`+role+`' nick='Tybalt'/>`)))
				}
			}
			var got []string
			for _, list := range []string{"owner", "admin", "member", "outcast"} {
				out := h.send(tybalt, adminQuery(`<item affiliation='`+list+`'/>`))
				if len(out) != 1 {
					t.Fatalf("%d %s: want one answer, got %v", i, role, out)
				}
				switch {
				case out[0].Attr("type") == "result":
					if items := out[0].FirstChild().ChildrenNamed(NSMUCAdmin, "item"); len(items) == 0 {
						t.Errorf("%d %s: empty %s list", i, role, list)
					}
					got = append(got, list)
				case condition(out[0]) != "auth/forbidden":
					t.Errorf("%d %s: %s list: %v", i, role, list, out[0])
				}
			}
			if g := strings.Join(got, " "); g != tc.lists {
				t.Errorf("%d: %s %s as %s gets %q, want %q", i, tc.room, tc.aff, role, g, tc.lists)
			}
		}
	}
}

// TestConfigFieldEffects: every muc#roomconfig field, set through the
// owner's form, has the effect it names, and a room without it does not.
func TestConfigFieldEffects(t *testing.T) {
	discoInfo := func(h *harness) string {
		return h.send(juliet, `<iq type='get' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)[0].String()
	}
	joinJuliet := func(h *harness, extra ...string) []*stanza.Element {
		return pick(h.send(juliet, join("Juliet", extra...)), juliet, "presence")
	}
	groupchat := func(body string) string {
		return `<message type='groupchat' to='` + room1 + `'><body>` + body + `</body></message>`
	}
	for i, tc := range [...]struct {
		field, value string
		effect       func(h *harness) bool
	}{
		0: {"muc#roomconfig_roomname", "Balcony", func(h *harness) bool {
			return strings.Contains(discoInfo(h), "name='Balcony'")
		}},
		1: {"muc#roomconfig_roomdesc", "Where Juliet stands", func(h *harness) bool {
			return strings.Contains(discoInfo(h), "label='Description'><value>Where Juliet stands</value>")
		}},
		2: {"muc#roomconfig_lang", "it", func(h *harness) bool {
			return strings.Contains(discoInfo(h), "<field var='muc#roominfo_lang'><value>it</value>")
		}},
		3: {"muc#roomconfig_persistentroom", "1", func(h *harness) bool {
			h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
			return strings.Contains(discoInfo(h), "muc_persistent")
		}},
		4: {"muc#roomconfig_publicroom", "1", func(h *harness) bool {
			return strings.Contains(discoInfo(h), "muc_public")
		}},
		5: {"muc#roomconfig_moderatedroom", "1", func(h *harness) bool {
			ps := joinJuliet(h)
			return len(ps) == 2 && child(ps[1], NSMUCUser, "x", NSMUCUser, "item").Attr("role") == "visitor"
		}},
		6: {"muc#roomconfig_membersonly", "1", func(h *harness) bool {
			ps := joinJuliet(h)
			return len(ps) == 1 && condition(ps[0]) == "auth/registration-required"
		}},
		7: {"muc#roomconfig_roomsecret", "poison", func(h *harness) bool {
			ps := joinJuliet(h)
			return len(ps) == 1 && condition(ps[0]) == "auth/not-authorized" && len(joinJuliet(h, "<password>poison</password>")) == 2
		}},
		// Off, the flag clears the secret, also when the client sends
		// back the secret the form showed.
		8: {"muc#roomconfig_passwordprotectedroom", "0", func(h *harness) bool {
			return len(joinJuliet(h)) == 2 && strings.Contains(discoInfo(h), "muc_unsecured")
		}},
		9: {"muc#roomconfig_whois", "anyone", func(h *harness) bool {
			ps := joinJuliet(h)
			return len(ps) == 2 && codes(ps[1]) == "100,110" &&
				child(ps[0], NSMUCUser, "x", NSMUCUser, "item").Attr("jid") == romeo
		}},
		10: {"muc#roomconfig_changesubject", "1", func(h *harness) bool {
			joinJuliet(h)
			out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><subject>Capulets</subject></message>`)
			return len(pick(out, romeo, "message")) == 1
		}},
		11: {"muc#roomconfig_allowinvites", "0", func(h *harness) bool {
			joinJuliet(h)
			out := h.send(juliet, invite("nurse@localhost"))
			return len(out) == 1 && condition(out[0]) == "auth/forbidden"
		}},
		12: {"muc#roomconfig_allowpm", "none", func(h *harness) bool {
			joinJuliet(h)
			out := h.send(juliet, `<message type='chat' to='`+room1+`/Romeo'><body>psst</body></message>`)
			return len(pick(out, romeo, "message")) == 0
		}},
		13: {"muc#roomconfig_maxusers", "1", func(h *harness) bool {
			ps := joinJuliet(h)
			return len(ps) == 1 && condition(ps[0]) == "cancel/service-unavailable"
		}},
		14: {"muc#roomconfig_presencebroadcast", "moderator", func(h *harness) bool {
			out := h.send(juliet, join("Juliet"))
			return len(pick(out, romeo, "presence")) == 0 && len(pick(out, juliet, "presence")) == 2
		}},
		15: {"muc#roomconfig_historylength", "1", func(h *harness) bool {
			h.send(romeo, groupchat("one"))
			h.send(romeo, groupchat("two"))
			out := h.send(juliet, join("Juliet"))
			m := pick(out, juliet, "message")
			return len(m) == 2 && m[0].ChildText(NSClient, "body") == "two"
		}},
		16: {"muc#roomconfig_getmemberlist", "participant", func(h *harness) bool {
			joinJuliet(h)
			out := h.send(juliet, adminQuery(`<item affiliation='member'/>`))
			return len(out) == 1 && out[0].Attr("type") == "result"
		}},
		// Logging is on by default: turning it off is what shows, in a
		// persistent room.
		17: {"muc#roomconfig_enablelogging", "0", func(h *harness) bool {
			h.send(romeo, config("muc#roomconfig_persistentroom", "1"))
			ps := joinJuliet(h)
			return len(ps) == 2 && codes(ps[1]) == "110"
		}},
	} {
		for _, set := range [...]bool{true, false} {
			// Set or not, the room's configuration before.
			base := map[int][]string{8: {"muc#roomconfig_roomsecret", "poison"}}
			h := newStoreHarness(t, newMemStore(), nil)
			h.createRoom(base[i]...)
			if set {
				fields := append([]string{tc.field, tc.value}, base[i]...)
				if r := pick(h.send(romeo, config(fields...)), romeo, "iq"); len(r) != 1 || r[0].Attr("type") != "result" {
					t.Fatalf("%d: %s refused: %v", i, tc.field, r)
				}
			}
			if got := tc.effect(h); got != set {
				t.Errorf("%d: %s=%s set=%v: effect seen=%v", i, tc.field, tc.value, set, got)
			}
		}
	}
}

// TestRoomInfoHasNoLogsFlag: muc#roominfo_logs is a URL of the room's logs
// (XEP-0045 §15.5.4); the room has none, so the field is left out rather
// than holding a flag.
func TestRoomInfoHasNoLogsFlag(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(romeo, `<iq type='get' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if s := out[0].String(); strings.Contains(s, "muc#roominfo_logs") {
		t.Errorf("roominfo_logs without a URL: %s", s)
	}
}
