package component

import (
	"strings"
	"testing"

	"chorus/room"
	"chorus/stanza"
)

func TestRouterService(t *testing.T) {
	rt := NewRouter("conference.localhost", room.NewRegistry(room.Options{Domain: "conference.localhost"}))
	for i, tc := range [...]struct {
		in       string
		wantType string
		check    func(*stanza.Element) bool
	}{
		0: {`<iq type='get' id='1' from='a@localhost/r' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, "result",
			func(e *stanza.Element) bool {
				id := e.FirstChild().Child(stanza.NSDiscoInfo, "identity")
				return id.Attr("category") == "conference" && id.Attr("type") == "text"
			}},
		1: {`<iq type='get' id='2' from='a@localhost/r' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`, "result",
			func(e *stanza.Element) bool { return e.FirstChild().Is(stanza.NSDiscoItems, "query") }},
		2: {`<iq type='get' id='3' from='a@localhost/r' to='conference.localhost'><query xmlns='urn:x'/></iq>`, "error",
			func(e *stanza.Element) bool {
				return e.Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "service-unavailable") != nil
			}},
		3: {`<iq type='get' id='4' from='a@localhost/r' to='conference.localhost'/>`, "error",
			func(e *stanza.Element) bool {
				return e.Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "bad-request") != nil
			}},
		4: {`<message from='a@localhost/r' to='conference.localhost'><body>hi</body></message>`, "error", nil},
	} {
		out := room.Flatten(rt.HandleStanza(stanza.MustParse(tc.in)))
		if len(out) != 1 {
			t.Errorf("%d: got %v", i, out)
			continue
		}
		e := out[0]
		if e.Attr("type") != tc.wantType || e.Attr("from") != "conference.localhost" || e.Attr("to") != "a@localhost/r" {
			t.Errorf("%d: got %v", i, e)
		}
		if tc.check != nil && !tc.check(e) {
			t.Errorf("%d: content %v", i, e)
		}
	}
	if out := rt.HandleStanza(stanza.MustParse(`<presence from='a@localhost/r' to='conference.localhost'/>`)); len(out) != 0 {
		t.Errorf("presence to the service answered: %v", out)
	}
}

func TestRouterPublicRoomsAndCommands(t *testing.T) {
	reg := room.NewRegistry(room.Options{Domain: "conference.localhost", Admins: []string{"admin@localhost"}})
	rt := NewRouter("conference.localhost", reg)
	send := func(s string) []*stanza.Element { return room.Flatten(rt.HandleStanza(stanza.MustParse(s))) }
	for _, r := range []string{"public", "hidden"} {
		send(`<presence from='o@localhost/r' to='` + r + `@conference.localhost/o'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
		pub := "0"
		if r == "public" {
			pub = "1"
		}
		send(`<iq type='set' id='c' from='o@localhost/r' to='` + r + `@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_publicroom'><value>` + pub + `</value></field></x></query></iq>`)
	}
	out := send(`<iq type='get' id='i' from='a@localhost/r' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	items := out[0].FirstChild().Children()
	if len(items) != 1 || items[0].Attr("jid") != "public@conference.localhost" {
		t.Errorf("public rooms: %v", out)
	}
	destroy := `<iq type='set' id='d' from='%s' to='conference.localhost'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy'>` +
		`<x xmlns='jabber:x:data' type='submit'><field var='rooms'><value>hidden@conference.localhost</value></field></x></command></iq>`
	out = send(strings.Replace(destroy, "%s", "o@localhost/r", 1))
	if len(out) != 1 || out[0].Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "forbidden") == nil {
		t.Errorf("non-admin ran the destroy command: %v", out)
	}
	out = send(strings.Replace(destroy, "%s", "admin@localhost/r", 1))
	res := out[len(out)-1]
	if res.Attr("type") != "result" || !strings.Contains(res.String(), "hidden@conference.localhost</note>") || len(roomJIDs(t, reg)) != 1 {
		t.Errorf("admin destroy: %v", out)
	}
	// Without a form, the command offers one listing the rooms.
	out = send(`<iq type='set' id='e' from='admin@localhost/r' to='conference.localhost'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy' action='execute'/></iq>`)
	if !strings.Contains(out[0].String(), "status='executing'") || !strings.Contains(out[0].String(), "<value>public@conference.localhost</value>") {
		t.Errorf("command form: %v", out)
	}
}

// TestRouterErrorsFromValidAddresses: whatever the 'to', an answer comes
// from the service, a room, or an occupant address a nick could have.
func TestRouterErrorsFromValidAddresses(t *testing.T) {
	rt := NewRouter("conference.localhost", room.NewRegistry(room.Options{Domain: "conference.localhost"}))
	rt.HandleStanza(stanza.MustParse(`<presence from='o@localhost/r' to='room@conference.localhost/Owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>`))
	for i, to := range [...]string{
		0: "conference.localhost/",
		1: "conference.localhost/   ",
		2: "conference.localhost/x",
		3: "room@conference.localhost/",
		4: "room@conference.localhost/   ",
		5: "room@conference.localhost/\u0301",
		6: "room@conference.localhost/\u05d0 12",
		7: "room@conference.localhost/a\u00adb",
		8: "@conference.localhost/x",
	} {
		for j, s := range [...]string{
			0: `<presence><x xmlns='http://jabber.org/protocol/muc'/></presence>`,
			1: `<message type='chat'><body>x</body></message>`,
			2: `<iq type='get' id='q'><ping xmlns='urn:xmpp:ping'/></iq>`,
		} {
			st := stanza.MustParse(s)
			st.SetAttr("from", "a@localhost/r")
			st.SetAttr("to", to)
			out := room.Flatten(rt.HandleStanza(st))
			if len(out) != 1 || out[0].Attr("type") != "error" {
				t.Errorf("%d/%d: to %q: want one error, got %v", i, j, to, out)
				continue
			}
			if from := out[0].Attr("from"); from != "conference.localhost" && from != "room@conference.localhost" {
				t.Errorf("%d/%d: to %q: error from %q", i, j, to, from)
			}
		}
	}
}

func roomJIDs(t *testing.T, reg *room.Registry) []string {
	t.Helper()
	j, err := reg.RoomJIDs()
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// Before the first link, occupants in memory can only be restored ones:
// then, and only then, the first link checks their sessions.
func TestRouterResyncFirst(t *testing.T) {
	rt := NewRouter("conference.localhost", room.NewRegistry(room.Options{Domain: "conference.localhost"}))
	if rt.ResyncFirst() {
		t.Error("an empty service asks for a session check")
	}
	rt.HandleStanza(stanza.MustParse(`<presence from='a@localhost/r' to='room@conference.localhost/a'><x xmlns='http://jabber.org/protocol/muc'/></presence>`))
	if !rt.ResyncFirst() {
		t.Error("occupants in memory, yet no session check")
	}
}
