package room

import (
	"encoding/base64"
	"strings"
	"testing"

	"chorus/stanza"
)

// Users of the security scenarios besides romeo, juliet, nurse and admin.
const (
	tybalt   = "tybalt@localhost/sword"
	mercutio = "mercutio@localhost/a"
	benvolio = "benvolio@localhost/street"
)

// leakWatch feeds stanzas to a harness and checks everything delivered to
// the observers (non-moderator occupants of a semi-anonymous room) for the
// real JIDs they must not learn.
type leakWatch struct {
	h         *harness
	forbidden map[string][]string // observer bare JID -> bare JIDs it must not see
	seen      map[string]int      // observer bare JID -> stanzas received
}

func (w *leakWatch) send(step, from, stanza string) []*stanza.Element {
	w.h.t.Helper()
	return w.inspect(step, w.h.send(from, stanza))
}

func (w *leakWatch) handle(step string, st *stanza.Element) []*stanza.Element {
	w.h.t.Helper()
	return w.inspect(step, Flatten(w.h.g.Handle(st)))
}

func (w *leakWatch) inspect(step string, out []*stanza.Element) []*stanza.Element {
	w.h.t.Helper()
	for _, st := range out {
		to := bareOf(st.Attr("to"))
		jids, ok := w.forbidden[to]
		if !ok {
			continue
		}
		w.seen[to]++
		for _, s := range readable(st) {
			for _, j := range jids {
				if strings.Contains(s, j) {
					w.h.t.Errorf("%s: %s learns %s from %s", step, to, j, st)
				}
			}
		}
	}
	return out
}

// readable returns what a recipient can read in st: its encoding, and every
// attribute value and text that decodes as base64 (ids that carry routing
// data), all lowercased, since JIDs compare case-insensitively here.
func readable(st *stanza.Element) []string {
	out := []string{strings.ToLower(st.String())}
	var walk func(e *stanza.Element)
	try := func(v string) {
		for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
			if b, err := enc.DecodeString(strings.TrimSpace(v)); err == nil && len(b) > 0 {
				out = append(out, strings.ToLower(string(b)))
			}
		}
	}
	walk = func(e *stanza.Element) {
		for _, a := range e.Attrs {
			try(a.Value)
		}
		for _, n := range e.Nodes {
			if n.Elem != nil {
				walk(n.Elem)
			} else {
				try(n.Text)
			}
		}
	}
	walk(st)
	return out
}

func adminQuery(item string) string {
	return `<iq type='get' id='q' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#admin'>` + item + `</query></iq>`
}

// TestSemiAnonymousRoomHidesRealJIDs drives a semi-anonymous room through
// every kind of traffic a non-moderator can receive and checks that
// neither observer, a participant without affiliation (juliet) and a member
// (nurse), ever reads another user's real JID.
func TestSemiAnonymousRoomHidesRealJIDs(t *testing.T) {
	h := newHarness(t)
	everyone := []string{"romeo@localhost", "juliet@localhost", "nurse@localhost", "admin@localhost",
		"tybalt@localhost", "mercutio@localhost", "benvolio@localhost", "paris@localhost",
		"rosaline@localhost", "friar@localhost"}
	except := func(known ...string) []string {
		var out []string
	next:
		for _, j := range everyone {
			for _, k := range known {
				if j == k {
					continue next
				}
			}
			out = append(out, j)
		}
		return out
	}
	w := &leakWatch{h: h, seen: map[string]int{}, forbidden: map[string][]string{
		// juliet invites the friar herself, so she knows that address.
		"juliet@localhost": except("juliet@localhost", "friar@localhost"),
		"nurse@localhost":  except("nurse@localhost"),
	}}
	rj := room1 + "/"
	gc := func(body string) string {
		return `<message type='groupchat' id='g' to='` + room1 + `'><body>` + body + `</body></message>`
	}

	h.createRoom()
	w.send("affiliation of an absent admin", romeo, admin1(`<item affiliation='admin' jid='tybalt@localhost'/>`))
	w.send("affiliation of an absent member", romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	w.send("admin joins", tybalt, join("Tybalt"))
	w.send("service admin joins", admin, join("Boss"))
	if out := w.send("juliet joins", juliet, join("Juliet")); len(pick(out, juliet, "presence")) != 4 {
		t.Fatalf("juliet should see three occupants and herself: %v", out)
	}
	w.send("nurse joins", nurse, join("Nurse"))
	w.send("mercutio joins", mercutio, join("Mercutio"))
	w.send("romeo's second session joins", "romeo@localhost/laptop", join("Romeo"))
	w.send("member added while absent", romeo, admin1(`<item affiliation='member' jid='benvolio@localhost'><reason>a friend</reason></item>`))
	w.send("outcast added while absent", tybalt, admin1(`<item affiliation='outcast' jid='rosaline@localhost'><reason>trouble</reason></item>`))

	var julietsMessage string
	for _, from := range []string{romeo, tybalt, admin, juliet, nurse, mercutio} {
		out := w.send("groupchat from "+from, from, gc("hello"))
		if from == juliet && len(out) > 0 {
			julietsMessage = out[0].Child(NSStanzaID, "stanza-id").Attr("id")
		}
	}
	w.send("pm from owner", romeo, `<message type='chat' to='`+rj+`Juliet'><body>psst</body></message>`)
	w.send("pm from participant", mercutio, `<message type='chat' to='`+rj+`Nurse'><body>psst</body></message>`)
	w.send("pm to owner", juliet, `<message type='chat' to='`+rj+`Romeo'><body>hi</body></message>`)
	w.send("subject by owner", romeo, `<message type='groupchat' to='`+room1+`'><subject>Verona</subject></message>`)
	w.send("subject by admin", tybalt, `<message type='groupchat' to='`+room1+`'><subject>Fair Verona</subject></message>`)
	w.send("status change", romeo, `<presence to='`+rj+`Romeo'><show>away</show><status>busy</status></presence>`)
	w.send("presence to the bare room", tybalt, `<presence to='`+room1+`'><show>dnd</show></presence>`)
	if out := w.send("nick change", mercutio, `<presence to='`+rj+`Merc'/>`); len(pick(out, juliet, "presence")) != 2 {
		t.Errorf("juliet should see the 303 and the new nick: %v", out)
	}
	w.send("owner's second session leaves", "romeo@localhost/laptop", `<presence type='unavailable' to='`+rj+`Romeo'/>`)
	w.send("config change", romeo, config("muc#roomconfig_roomname", "Capulets"))

	for _, nick := range []string{"Romeo", "Tybalt", "Boss", "Merc", "Nobody"} {
		w.send("probe "+nick, juliet, `<presence type='probe' to='`+rj+nick+`'/>`)
		w.send("probe "+nick, nurse, `<presence type='probe' to='`+rj+nick+`'/>`)
	}
	for _, q := range []string{
		`<iq type='get' id='di' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
		`<iq type='get' id='dn' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'/></iq>`,
		`<iq type='get' id='dt' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
		`<iq type='get' id='vc' to='` + room1 + `'><vCard xmlns='vcard-temp'/></iq>`,
		`<iq type='get' id='rg' to='` + room1 + `'><query xmlns='jabber:iq:register'/></iq>`,
		`<iq type='get' id='cf' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`,
	} {
		w.send("room query", juliet, q)
		w.send("room query", nurse, q)
	}
	// Admin lists: refused to both observers in the default configuration.
	for _, item := range []string{`<item affiliation='owner'/>`, `<item affiliation='admin'/>`, `<item affiliation='member'/>`,
		`<item affiliation='outcast'/>`, `<item role='moderator'/>`, `<item role='participant'/>`} {
		for _, who := range []string{juliet, nurse} {
			if out := w.send("admin list "+item, who, adminQuery(item)); len(out) != 1 || condition(out[0]) != "auth/forbidden" {
				t.Errorf("%s asked for %s: %v", who, item, out)
			}
		}
	}

	// IQs between occupants, both ways, with results and a bounced error.
	out := w.send("disco#info to an occupant", juliet, `<iq type='get' id='j1' to='`+rj+`Romeo'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if fwd := pick(out, romeo, "iq"); len(fwd) == 1 {
		w.send("occupant answers", romeo, `<iq type='result' id='`+fwd[0].Attr("id")+`' to='`+rj+`Juliet'><query xmlns='http://jabber.org/protocol/disco#info'><identity category='client' type='pc' name='Romeo'/></query></iq>`)
	} else {
		t.Errorf("disco#info not relayed: %v", out)
	}
	out = w.send("disco#items to an occupant", nurse, `<iq type='get' id='n1' to='`+rj+`Tybalt'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	if fwd := pick(out, tybalt, "iq"); len(fwd) == 1 {
		w.send("occupant's server bounces", tybalt, `<iq type='error' id='`+fwd[0].Attr("id")+`' to='`+rj+`Nurse'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	} else {
		t.Errorf("disco#items not relayed: %v", out)
	}
	for _, q := range []string{`<query xmlns='jabber:iq:version'/>`, `<vCard xmlns='vcard-temp'/>`, `<ping xmlns='urn:xmpp:ping'/>`} {
		out = w.send("moderator asks an observer", romeo, `<iq type='get' id='r1' to='`+rj+`Juliet'>`+q+`</iq>`)
		fwd := append(pick(out, juliet, "iq"), pick(out, "juliet@localhost", "iq")...)
		if len(fwd) != 1 {
			t.Fatalf("not relayed to juliet: %v", out)
		}
		w.send("observer answers", fwd[0].Attr("to"), `<iq type='result' id='`+fwd[0].Attr("id")+`' to='`+rj+`Romeo'/>`)
	}

	// Roles with an actor, a voice request and its approval.
	if out := w.send("voice revoked", romeo, admin1(`<item role='visitor' nick='Juliet'><reason>hush</reason></item>`)); len(pick(out, juliet, "presence")) != 1 {
		t.Errorf("juliet not told of her new role: %v", out)
	}
	out = w.send("voice request", juliet, `<message to='`+room1+`'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>`+
		`<field var='muc#role'><value>participant</value></field></x></message>`)
	if fwd := pick(out, romeo, "message"); len(fwd) == 1 {
		x := fwd[0].Child("jabber:x:data", "x")
		x.SetAttr("type", "submit")
		for _, f := range x.ChildrenNamed("jabber:x:data", "field") {
			if f.Attr("var") == "muc#request_allow" {
				f.Nodes = nil
				f.Add(stanza.New("jabber:x:data", "value").AddText("true"))
			}
		}
		w.handle("voice granted", stanza.New(NSClient, "message", "to", room1, "from", romeo).Add(x))
	} else {
		t.Errorf("voice request not forwarded: %v", out)
	}
	if out := w.send("message moderated", tybalt, `<iq type='set' id='mod' to='`+room1+`'><moderate xmlns='urn:xmpp:message-moderate:1' id='`+julietsMessage+`'><retract xmlns='urn:xmpp:message-retract:1'/></moderate></iq>`); len(pick(out, juliet, "message")) != 1 {
		t.Errorf("retraction not broadcast: %v", out)
	}

	// Invitations: one to an observer in the room, others the observers
	// must not hear of.
	if out := w.send("owner invites an occupant", romeo, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='nurse@localhost'><reason>stay</reason></invite></x></message>`); len(pick(out, "nurse@localhost", "message")) != 1 {
		t.Errorf("invitation not delivered: %v", out)
	}
	w.send("owner invites an outsider", romeo, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='paris@localhost'/></x></message>`)
	w.send("observer invites", juliet, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='friar@localhost'/></x></message>`)

	// Offline members are shown where the room broadcasts role none.
	w.send("member reserves a nick", "benvolio@localhost/home", `<iq type='set' id='r' to='`+room1+`'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>`+
		`<field var='muc#register_roomnick'><value>Ben</value></field></x></query></iq>`)
	w.send("broadcast none", romeo, `<iq type='set' id='cfg' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+
		`<field var='muc#roomconfig_presencebroadcast'><value>moderator</value><value>participant</value><value>visitor</value><value>none</value></field></x></query></iq>`)
	w.send("juliet leaves", juliet, `<presence type='unavailable' to='`+rj+`Juliet'/>`)
	if out := w.send("juliet rejoins", juliet, join("Juliet")); !strings.Contains(fmtAll(pick(out, juliet, "presence")), rj+"Ben") {
		t.Errorf("offline member with a reserved nick not shown: %v", out)
	}

	// A ghost whose error text names its own address, a kick and a ban.
	w.send("benvolio joins", benvolio, join("Ben"))
	var check string
	for _, p := range w.inspect("session check", Flatten(h.g.CheckSessions())) {
		if p.Attr("to") == benvolio {
			check = p.Attr("id")
		}
	}
	if out := w.send("ghost answers the session check", benvolio, `<iq type='error' id='`+check+`' to='`+room1+`'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`+
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>benvolio@localhost/street is gone</text></error></iq>`); len(pick(out, juliet, "presence")) != 1 {
		t.Errorf("ghost not removed: %v", out)
	}
	w.send("benvolio joins again", benvolio, join("Ben"))
	w.send("ghost removed", benvolio, `<presence type='error' to='`+room1+`'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>`+
		`<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>benvolio@localhost/street is gone</text></error></presence>`)
	if out := w.send("kick", tybalt, admin1(`<item role='none' nick='Merc'><reason>out</reason></item>`)); len(pick(out, juliet, "presence")) != 1 {
		t.Errorf("juliet not told of the kick: %v", out)
	}
	w.send("kicked user returns", mercutio, join("Mercutio"))
	out = w.send("ban of an occupant", romeo, admin1(`<item affiliation='outcast' jid='mercutio@localhost'><reason>brawling</reason></item>`))
	if p := pick(out, nurse, "presence"); len(p) != 1 || codes(p[0]) != "301" {
		t.Errorf("nurse not told of the ban: %v", out)
	}
	w.send("banned user knocks", mercutio, join("Mercutio"))
	w.send("affiliation change of an occupant", romeo, admin1(`<item affiliation='member' nick='Juliet'/>`))
	w.send("nurse leaves", nurse, `<presence type='unavailable' to='`+rj+`Nurse'><status>bye</status></presence>`)
	w.send("nurse rejoins with history", nurse, join("Nurse", `<history maxstanzas='20'/>`))
	w.send("destroy", romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='other@conference.localhost'><reason>moving</reason></destroy></query></iq>`)

	// The scenario is only meaningful if the observers got a lot of it.
	for o, n := range w.seen {
		if n < 50 {
			t.Errorf("%s received only %d stanzas", o, n)
		}
	}
}

// TestMemberListNamesOnlyMembers: where the owner lets participants read
// the member list, what they get names members, never the owners and
// admins whose addresses the room otherwise hides.
func TestMemberListNamesOnlyMembers(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_membersonly", "1", "muc#roomconfig_getmemberlist", "participant")
	h.send(romeo, admin1(`<item affiliation='admin' jid='tybalt@localhost'/>`))
	// Membership by invitation from the owner, and by the admin.
	h.send(romeo, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='nurse@localhost'/></x></message>`)
	h.send(tybalt, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	h.send(nurse, join("Nurse"))
	out := h.send(nurse, adminQuery(`<item affiliation='member'/>`))
	if len(out) != 1 || out[0].Attr("type") != "result" {
		t.Fatalf("member list refused: %v", out)
	}
	var listed []string
	for _, it := range out[0].FirstChild().Children() {
		listed = append(listed, it.Attr("jid"))
	}
	if strings.Join(listed, " ") != "juliet@localhost nurse@localhost" {
		t.Errorf("member list %v", listed)
	}
	s := out[0].String()
	for _, j := range []string{"romeo@localhost", "tybalt@localhost"} {
		if strings.Contains(s, j) {
			t.Errorf("the member list reveals %s to a participant: %s", j, s)
		}
	}
}

// refusal is one attempt to get back in and the error it must get.
type refusal struct {
	name, from, stanza, want string
}

// attempt sends each stanza and checks it gets exactly one error, to its
// sender, with the wanted condition, and that nobody else hears of it.
func attempt(h *harness, tries []refusal) {
	h.t.Helper()
	for _, a := range tries {
		out := h.send(a.from, a.stanza)
		// Replies go to the sender's address in canonical form.
		sender, _ := parseJID(a.from)
		if len(out) != 1 || out[0].Attr("to") != sender.String() || out[0].Attr("type") != "error" {
			h.t.Errorf("%s: want one error to %s, got %v", a.name, a.from, out)
			continue
		}
		if got := condition(out[0]); got != a.want {
			h.t.Errorf("%s: got %s, want %s", a.name, got, a.want)
		}
	}
}

func inviteFrom(to string) string {
	return `<message to='` + room1 + `'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='` + to + `'/></x></message>`
}

const registerNick = `<iq type='set' id='r' to='` + room1 + `'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>` +
	`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>` +
	`<field var='muc#register_roomnick'><value>Back</value></field></x></query></iq>`

// checkOutside fails unless no session of bare is in the room and its
// affiliation is still want.
func checkOutside(h *harness, bare, want string) {
	h.t.Helper()
	r := h.g.rooms[room1]
	for full := range r.byReal {
		if bareOf(full) == bare {
			h.t.Errorf("%s is in the room through %s", bare, full)
		}
	}
	if got := r.affiliation(bare).String(); got != want {
		h.t.Errorf("%s has affiliation %s, want %s", bare, got, want)
	}
}

// TestOutcastCannotReturn bans a user present through three sessions
// under two nicks, then tries every way back in.
func TestOutcastCannotReturn(t *testing.T) {
	for _, membersOnly := range []string{"0", "1"} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_membersonly", membersOnly)
		h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
		h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
		h.send(romeo, admin1(`<item affiliation='member' jid='mercutio@localhost'/>`))
		h.send(juliet, join("Juliet"))
		h.send(nurse, join("Nurse"))
		h.send("mercutio@localhost/a", join("Mercutio"))
		h.send("mercutio@localhost/b", join("Mercutio"))
		h.send("mercutio@localhost/c", join("Merc2"))

		// The ban names the user in another case: addresses are compared
		// in canonical form.
		out := h.send(romeo, admin1(`<item affiliation='outcast' jid='MERCUTIO@localhost'><reason>brawling</reason></item>`))
		for _, s := range []string{"mercutio@localhost/a", "mercutio@localhost/b", "mercutio@localhost/c"} {
			self := 0
			for _, p := range pick(out, s, "presence") {
				if p.Attr("type") != "unavailable" {
					t.Errorf("members-only=%s: %s told it is still there: %v", membersOnly, s, p)
				}
				if codes(p) == "301,110" {
					self++
				}
			}
			if self != 1 {
				t.Errorf("members-only=%s: %s not removed with 301: %v", membersOnly, s, out)
			}
		}
		checkOutside(h, "mercutio@localhost", "outcast")

		// Invitations by a member and by the owner are delivered but admit
		// nobody: an outcast stays one.
		h.send(nurse, inviteFrom("mercutio@localhost"))
		h.send(romeo, inviteFrom("Mercutio@localhost/a"))
		checkOutside(h, "mercutio@localhost", "outcast")

		// Prosody's order of entry checks: members-only before the ban.
		joinRefused := map[string]string{"0": "auth/forbidden", "1": "auth/registration-required"}[membersOnly]
		attempt(h, []refusal{
			{"join under the old nick", "mercutio@localhost/a", join("Mercutio"), joinRefused},
			{"join under the second nick", "mercutio@localhost/c", join("Merc2"), joinRefused},
			{"join under a new nick", "mercutio@localhost/d", join("Other"), joinRefused},
			{"join under an occupant's nick", "mercutio@localhost/d", join("Juliet"), joinRefused},
			{"join from another resource", "mercutio@localhost/e", join("Mercutio"), joinRefused},
			{"join with a case variant", "MERCUTIO@LOCALHOST/f", join("Mercutio"), joinRefused},
			{"join with a width variant", "\uff4d\uff45\uff52\uff43\uff55\uff54\uff49\uff4f@localhost/g", join("Mercutio"), joinRefused},
			{"join with a trailing dot", "mercutio@localhost./h", join("Mercutio"), joinRefused},
			{"nick change from the banned session", "mercutio@localhost/a", `<presence to='` + room1 + `/Romeo2'/>`, "cancel/item-not-found"},
			{"presence update from the banned session", "mercutio@localhost/b", `<presence to='` + room1 + `/Mercutio'><show>away</show></presence>`, "cancel/item-not-found"},
			{"presence to the bare room", "mercutio@localhost/a", `<presence to='` + room1 + `'><x xmlns='http://jabber.org/protocol/muc'/></presence>`, "modify/jid-malformed"},
			{"register", "mercutio@localhost/a", registerNick, "auth/forbidden"},
			{"registration form", "mercutio@localhost/a", `<iq type='get' id='r' to='` + room1 + `'><query xmlns='jabber:iq:register'/></iq>`, "auth/forbidden"},
			{"own affiliation to member", "mercutio@localhost/a", admin1(`<item affiliation='member' jid='mercutio@localhost'/>`), "cancel/not-allowed"},
			{"own affiliation to none", "mercutio@localhost/a", admin1(`<item affiliation='none' jid='mercutio@localhost'/>`), "cancel/not-allowed"},
			{"own affiliation by nick", "mercutio@localhost/a", admin1(`<item affiliation='member' nick='Mercutio'/>`), "modify/bad-request"},
			{"own role", "mercutio@localhost/a", admin1(`<item role='participant' nick='Mercutio'/>`), "cancel/item-not-found"},
			{"configuration", "mercutio@localhost/a", config("muc#roomconfig_membersonly", "0"), "auth/forbidden"},
			{"self-invitation", "mercutio@localhost/a", inviteFrom("mercutio@localhost"), "auth/forbidden"},
			{"groupchat", "mercutio@localhost/a", `<message type='groupchat' to='` + room1 + `'><body>let me in</body></message>`, "cancel/not-acceptable"},
			{"private message", "mercutio@localhost/a", `<message type='chat' to='` + room1 + `/Juliet'><body>let me in</body></message>`, "cancel/not-acceptable"},
			{"probe", "mercutio@localhost/a", `<presence type='probe' to='` + room1 + `/Juliet'/>`, "cancel/not-acceptable"},
			{"iq to an occupant", "mercutio@localhost/a", `<iq type='get' id='v' to='` + room1 + `/Juliet'><query xmlns='jabber:iq:version'/></iq>`, "cancel/not-acceptable"},
			{"voice request", "mercutio@localhost/a", `<message to='` + room1 + `'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field></x></message>`, "cancel/not-acceptable"},
		})
		checkOutside(h, "mercutio@localhost", "outcast")
	}
}

// TestHostWideBan: an outcast entry for a domain keeps out every user of
// that domain, whatever route they take.
func TestHostWideBan(t *testing.T) {
	for _, membersOnly := range []string{"0", "1"} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_membersonly", membersOnly)
		h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
		h.send(romeo, admin1(`<item affiliation='member' jid='abram@montague.example'/>`))
		h.send(nurse, join("Nurse"))
		h.send("abram@montague.example/x", join("Abram"))
		out := h.send(romeo, admin1(`<item affiliation='outcast' jid='Montague.Example'/>`))
		if p := pick(out, "abram@montague.example/x", "presence"); len(p) != 1 || codes(p[0]) != "301,110" {
			t.Errorf("members-only=%s: present user of the banned domain not removed: %v", membersOnly, out)
		}
		h.send(nurse, inviteFrom("balthasar@montague.example"))
		h.send(romeo, inviteFrom("balthasar@montague.example"))
		checkOutside(h, "balthasar@montague.example", "outcast")
		// Prosody's order of entry checks: members-only before the ban.
		joinRefused := map[string]string{"0": "auth/forbidden", "1": "auth/registration-required"}[membersOnly]
		attempt(h, []refusal{
			{"join", "balthasar@montague.example/x", join("Balthasar"), joinRefused},
			{"join in another case", "Balthasar@MONTAGUE.example/x", join("Balthasar"), joinRefused},
			{"the domain itself", "montague.example", join("Montague"), joinRefused},
			{"register", "balthasar@montague.example/x", registerNick, "auth/forbidden"},
			{"self-invitation", "balthasar@montague.example/x", inviteFrom("balthasar@montague.example"), "auth/forbidden"},
			{"affiliation", "balthasar@montague.example/x", admin1(`<item affiliation='member' jid='balthasar@montague.example'/>`), "cancel/not-allowed"},
			{"lift the ban", "balthasar@montague.example/x", admin1(`<item affiliation='none' jid='montague.example'/>`), "cancel/not-allowed"},
		})
		checkOutside(h, "balthasar@montague.example", "outcast")
	}
}

// TestNonMemberCannotEnterMembersOnly: a user removed when the room became
// members-only tries every way back in; only an invitation by a member
// admits them.
func TestNonMemberCannotEnterMembersOnly(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	h.send(nurse, join("Nurse"))
	h.send(juliet, join("Juliet"))
	out := h.send(romeo, config("muc#roomconfig_membersonly", "1"))
	if p := pick(out, juliet, "presence"); len(p) != 1 || codes(p[0]) != "322,110" {
		t.Fatalf("non-member not removed: %v", out)
	}
	checkOutside(h, "juliet@localhost", "none")
	attempt(h, []refusal{
		{"join under the old nick", juliet, join("Juliet"), "auth/registration-required"},
		{"join under a new nick", juliet, join("Jules"), "auth/registration-required"},
		{"join under a member's nick", juliet, join("Nurse"), "auth/registration-required"},
		{"join from another resource", "juliet@localhost/phone", join("Juliet"), "auth/registration-required"},
		{"nick change from the old session", juliet, `<presence to='` + room1 + `/Jules'/>`, "cancel/item-not-found"},
		{"register", juliet, registerNick, "auth/registration-required"},
		{"own affiliation", juliet, admin1(`<item affiliation='member' jid='juliet@localhost'/>`), "cancel/not-allowed"},
		{"self-invitation", juliet, inviteFrom("juliet@localhost"), "auth/forbidden"},
		{"invitation by another outsider", "paris@localhost/x", inviteFrom("juliet@localhost"), "auth/forbidden"},
		{"configuration", juliet, config("muc#roomconfig_membersonly", "0"), "auth/forbidden"},
	})
	checkOutside(h, "juliet@localhost", "none")

	// The one legitimate way in: a member's invitation makes her a member.
	h.send(nurse, inviteFrom("juliet@localhost"))
	if out := h.send(juliet, join("Juliet")); len(pick(out, juliet, "presence")) < 2 {
		t.Errorf("invited member refused: %v", out)
	}
}

// TestListAndConfigPermissions checks who may read which list and touch the
// configuration, against the rules of the affiliations package: owners
// (and service admins, who own every room) everything; admins the lists up
// to admin but not the owner list; moderators the role lists, and no
// affiliation list for the role alone; nobody else anything in the default
// configuration.
func TestListAndConfigPermissions(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='admin' jid='tybalt@localhost'/>`))
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	h.send(romeo, admin1(`<item affiliation='outcast' jid='mercutio@localhost'/>`))
	for _, j := range []struct{ from, nick string }{{tybalt, "Tybalt"}, {nurse, "Nurse"}, {juliet, "Juliet"}} {
		h.send(j.from, join(j.nick))
	}
	// A member with a moderator's role, granted by an admin.
	h.send(benvolio, join("Ben"))
	h.send(romeo, admin1(`<item affiliation='member' jid='benvolio@localhost'/>`))
	if out := h.send(tybalt, admin1(`<item role='moderator' nick='Ben'/>`)); out[len(out)-1].Attr("type") != "result" {
		t.Fatalf("moderator role not granted: %v", out)
	}

	lists := []string{"owner", "admin", "member", "outcast", "moderator", "participant"}
	for _, tc := range []struct {
		who     string
		allowed string // lists it may read, in the order of lists
	}{
		{romeo, "owner admin member outcast moderator participant"},
		{admin, "owner admin member outcast"}, // not in the room: no role lists
		{tybalt, "admin member outcast moderator participant"},
		{benvolio, "moderator participant"}, // roles give no affiliation list (Prosody)
		{nurse, ""},
		{juliet, ""},
		{mercutio, ""},
		{"paris@localhost/x", ""},
	} {
		var got []string
		for _, l := range lists {
			attr := "affiliation"
			if l == "moderator" || l == "participant" {
				attr = "role"
			}
			out := h.send(tc.who, adminQuery(`<item `+attr+`='`+l+`'/>`))
			switch {
			case len(out) == 1 && out[0].Attr("type") == "result":
				got = append(got, l)
			case len(out) != 1 || condition(out[0]) != "auth/forbidden":
				t.Errorf("%s asking for %s: %v", tc.who, l, out)
			}
		}
		if strings.Join(got, " ") != tc.allowed {
			t.Errorf("%s may read %q, want %q", tc.who, strings.Join(got, " "), tc.allowed)
		}
	}

	getForm := `<iq type='get' id='f' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`
	destroy := `<iq type='set' id='d' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`
	vcard := `<iq type='set' id='v' to='` + room1 + `'><vCard xmlns='vcard-temp'><FN>x</FN></vCard></iq>`
	for _, who := range []string{tybalt, benvolio, nurse, juliet, mercutio, "paris@localhost/x"} {
		attempt(h, []refusal{
			{"configuration form", who, getForm, "auth/forbidden"},
			{"configuration", who, config("muc#roomconfig_whois", "anyone"), "auth/forbidden"},
			{"destroy", who, destroy, "auth/forbidden"},
			{"room vCard", who, vcard, "auth/forbidden"},
		})
	}
	if r := h.g.rooms[room1]; r == nil || r.cfg.Whois != WhoisModerators {
		t.Fatal("the room was changed by someone who is not an owner")
	}
	for _, who := range []string{romeo, admin} {
		if out := h.send(who, getForm); len(out) != 1 || out[0].Attr("type") != "result" {
			t.Errorf("%s refused the configuration form: %v", who, out)
		}
	}
}

// TestPrivilegeEscalation: nobody raises their own rank or acts on a
// higher one (XEP-0045 §5.2 as the affiliations package encodes it).
func TestPrivilegeEscalation(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(romeo, admin1(`<item affiliation='admin' jid='tybalt@localhost'/>`))
	h.send(romeo, admin1(`<item affiliation='admin' jid='paris@localhost'/>`))
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	for _, j := range []struct{ from, nick string }{{tybalt, "Tybalt"}, {nurse, "Nurse"}, {juliet, "Juliet"}, {"paris@localhost/x", "Paris"}} {
		h.send(j.from, join(j.nick))
	}
	attempt(h, []refusal{
		{"participant makes itself a member", juliet, admin1(`<item affiliation='member' jid='juliet@localhost'/>`), "cancel/not-allowed"},
		{"member makes itself an admin", nurse, admin1(`<item affiliation='admin' jid='nurse@localhost'/>`), "cancel/not-allowed"},
		{"member bans", nurse, admin1(`<item affiliation='outcast' jid='juliet@localhost'/>`), "cancel/not-allowed"},
		{"admin makes itself an owner", tybalt, admin1(`<item affiliation='owner' jid='tybalt@localhost'/>`), "cancel/not-allowed"},
		{"admin bans an owner", tybalt, admin1(`<item affiliation='outcast' jid='romeo@localhost'/>`), "cancel/not-allowed"},
		{"admin demotes another admin", tybalt, admin1(`<item affiliation='member' jid='paris@localhost'/>`), "cancel/not-allowed"},
		{"admin bans a service admin", tybalt, admin1(`<item affiliation='outcast' jid='admin@localhost'/>`), "cancel/not-allowed"},
		{"participant kicks", juliet, admin1(`<item role='none' nick='Nurse'/>`), "cancel/not-allowed"},
		{"participant takes moderator", juliet, admin1(`<item role='moderator' nick='Juliet'/>`), "cancel/not-allowed"},
		{"participant silences a moderator", nurse, admin1(`<item role='visitor' nick='Tybalt'/>`), "cancel/not-allowed"},
		{"admin kicks an owner", tybalt, admin1(`<item role='none' nick='Romeo'/>`), "cancel/not-allowed"},
		{"admin kicks another admin", tybalt, admin1(`<item role='none' nick='Paris'/>`), "cancel/not-allowed"},
		// One forbidden item spoils the whole request.
		{"a permitted item smuggles a forbidden one", tybalt, admin1(`<item affiliation='member' jid='juliet@localhost'/><item affiliation='owner' jid='tybalt@localhost'/>`), "cancel/not-allowed"},
	})
	r := h.g.rooms[room1]
	for bare, want := range map[string]string{"juliet@localhost": "none", "nurse@localhost": "member", "tybalt@localhost": "admin",
		"paris@localhost": "admin", "romeo@localhost": "owner", "admin@localhost": "owner"} {
		if got := r.affiliation(bare).String(); got != want {
			t.Errorf("%s is %s, want %s", bare, got, want)
		}
	}
	if len(r.occupants) != 5 {
		t.Errorf("someone was removed: %d occupants", len(r.occupants))
	}
}
