package component

import (
	"testing"

	"mellium.im/xmpp/jid"

	"chorus/internal/xmlel"
	"chorus/room"
)

const (
	fzDomain = "conference.localhost"
	fzRoom   = "room@conference.localhost"
	fzOwner  = "romeo@localhost/a"
	fzUser   = "juliet@localhost/b"
)

// fuzzState builds a router in one of several room states, since most
// rules only apply once a room exists: 0 no room, 1 locked new room,
// 2 open room with an owner and a participant, 3 the fuzzed user is a
// moderator of a moderated, members-only, password-protected room.
func fuzzState(t *testing.T, state uint8) *Router {
	rt := NewRouter(fzDomain, room.NewRegistry(room.Options{Domain: fzDomain, Admins: []string{"admin@localhost"}}))
	feed := func(from, s string) {
		st := xmlel.MustParse(s)
		st.SetAttr("from", from)
		rt.HandleStanza(st)
	}
	joinAs := func(from, nick string) {
		feed(from, `<presence to='`+fzRoom+`/`+nick+`'><x xmlns='http://jabber.org/protocol/muc'><password>pw</password></x></presence>`)
	}
	cfg := func(fields string) {
		feed(fzOwner, `<iq type='set' id='c' to='`+fzRoom+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+fields+`</x></query></iq>`)
	}
	switch state % 4 {
	case 1:
		joinAs(fzOwner, "Romeo")
	case 2:
		joinAs(fzOwner, "Romeo")
		cfg("")
		joinAs(fzUser, "Juliet")
	case 3:
		joinAs(fzOwner, "Romeo")
		cfg(`<field var='muc#roomconfig_moderatedroom'><value>1</value></field>` +
			`<field var='muc#roomconfig_membersonly'><value>1</value></field>` +
			`<field var='muc#roomconfig_roomsecret'><value>pw</value></field>`)
		feed(fzOwner, `<iq type='set' id='a' to='`+fzRoom+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='admin' jid='juliet@localhost'/></query></iq>`)
		joinAs(fzUser, "Juliet")
	}
	return rt
}

var fuzzSeeds = []string{
	`<presence to='room@conference.localhost/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>`,
	`<presence to='room@conference.localhost/Juliet' type='unavailable'/>`,
	`<presence to='room@conference.localhost/Other'/>`,
	`<presence type='error' to='room@conference.localhost'><error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>`,
	`<message to='room@conference.localhost' type='groupchat' id='m'><body>hi</body></message>`,
	`<message to='room@conference.localhost' type='groupchat'><subject>s</subject></message>`,
	`<message to='room@conference.localhost/Romeo' type='chat'><body>pm</body></message>`,
	`<message to='room@conference.localhost'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='x@localhost'/></x></message>`,
	`<message to='room@conference.localhost'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field></x></message>`,
	`<iq type='get' id='1' to='room@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`,
	`<iq type='set' id='2' to='room@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='muc#roomconfig_whois'><value>anyone</value></field></x></query></iq>`,
	`<iq type='set' id='3' to='room@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='x@conference.localhost'/></query></iq>`,
	`<iq type='set' id='4' to='room@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast' jid='romeo@localhost'/></query></iq>`,
	`<iq type='set' id='5' to='room@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#admin'><item role='none' nick='Romeo'/></query></iq>`,
	`<iq type='get' id='6' to='room@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`,
	`<iq type='set' id='7' to='room@conference.localhost'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
	`<iq type='get' id='8' to='room@conference.localhost/Romeo'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`,
	`<iq type='get' id='9' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`,
	`<iq type='set' id='10' to='conference.localhost'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy'/></iq>`,
	`<iq type='set' id='11' to='room@conference.localhost'><moderate xmlns='urn:xmpp:message-moderate:1' id='x'><retract xmlns='urn:xmpp:message-retract:1'/></moderate></iq>`,
	`<iq type='get' id='12' to='room@conference.localhost'><query xmlns='urn:unknown'/><query xmlns='urn:other'/></iq>`,
	`<iq type='set' id='13' to='room@conference.localhost'><vCard xmlns='vcard-temp'><PHOTO><BINVAL>!!</BINVAL></PHOTO></vCard></iq>`,
}

func FuzzRouter(f *testing.F) {
	for i, s := range fuzzSeeds {
		for state := uint8(0); state < 4; state++ {
			_ = i
			f.Add(state, s)
		}
	}
	f.Fuzz(func(t *testing.T, state uint8, stanza string) {
		st, err := xmlel.Parse(stanza)
		if err != nil || (st.Local != "iq" && st.Local != "message" && st.Local != "presence") {
			return
		}
		rt := fuzzState(t, state)
		// The host stamps the sender; an admin sometimes, so service
		// commands get exercised.
		from := fzUser
		if state&4 != 0 {
			from = "admin@localhost/x"
		}
		st.SetAttr("from", from)
		if st.Attr("to") == "" {
			st.SetAttr("to", fzRoom)
		}
		outs := room.Flatten(rt.HandleStanza(st))
		answers := 0
		for _, o := range outs {
			if fj, err := jid.Parse(o.Attr("from")); err != nil || fj.Domainpart() != fzDomain || fj.String() != o.Attr("from") {
				t.Fatalf("sent from outside the service: %v", o)
			}
			if o.Attr("to") == "" {
				t.Fatalf("sent without an address: %v", o)
			}
			if o.Local == "iq" {
				typ := o.Attr("type")
				if o.Attr("to") == from && o.Attr("id") == st.Attr("id") && (typ == "result" || typ == "error") {
					answers++
				} else if typ == "get" || typ == "set" {
					answers++ // relayed to another occupant, who answers
				}
			}
		}
		if typ := st.Attr("type"); st.Local == "iq" && (typ == "get" || typ == "set") && answers != 1 {
			t.Fatalf("IQ %s answered %d times: %v", stanza, answers, outs)
		}
	})
}
