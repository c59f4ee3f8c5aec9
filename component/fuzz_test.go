package component

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"mellium.im/xmpp/jid"

	"chorus/room"
	"chorus/stanza"
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
		st := stanza.MustParse(s)
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
	`<iq type='set' id='14' to='room@conference.localhost'><apply-to xmlns='urn:xmpp:fasten:0' id='x'><moderate xmlns='urn:xmpp:message-moderate:0'><retract xmlns='urn:xmpp:message-retract:0'/></moderate></apply-to></iq>`,
}

func FuzzRouter(f *testing.F) {
	for i, s := range fuzzSeeds {
		for state := uint8(0); state < 4; state++ {
			_ = i
			f.Add(state, s)
		}
	}
	f.Fuzz(func(t *testing.T, state uint8, raw string) {
		st, err := stanza.Parse(raw)
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
			t.Fatalf("IQ %s answered %d times: %v", raw, answers, outs)
		}
	})
}

// fuzzStanzaLimit is the link's MaxStanzaBytes under fuzzing: small, so
// that inputs of a few KB reach the size refusal, and large enough that
// nesting reaches the depth limit (32) before the size limit. Small inputs
// matter: the fuzzer minimizes every input that finds new coverage byte by
// byte, a link round trip each.
const fuzzStanzaLimit = 4 << 10

// fuzzPingPrefix starts the ids of the stanzas that check the link after
// each input; the handler answers only those.
const fuzzPingPrefix = "fz-ping-"

// fuzzLink is one component link to a fake server, kept across inputs (a
// real link lives through many stanzas) and replaced when an input broke it.
type fuzzLink struct {
	cancel context.CancelFunc
	done   chan struct{}
	ln     net.Listener
	c      *fakeConn
	states chan bool
	logs   *syncBuffer
}

func startFuzzLink() (*fuzzLink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &fakeServer{ln: ln, domain: testDomain, secret: testSecret, conns: make(chan *fakeConn, 16)}
	go srv.accept()
	fl := &fuzzLink{ln: ln, done: make(chan struct{}), states: make(chan bool, 16), logs: &syncBuffer{}}
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		id := st.Attr("id")
		if st.Local != "iq" || len(id) < len(fuzzPingPrefix) || id[:len(fuzzPingPrefix)] != fuzzPingPrefix {
			return nil
		}
		return []room.Out{room.To1(st.Attr("from"), stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", id, "type", "result"))}
	}}
	cfg := Config{Domain: testDomain, Secret: testSecret, Server: ln.Addr().String(), MaxStanzaBytes: fuzzStanzaLimit,
		Logger: zerolog.New(fl.logs).Level(zerolog.InfoLevel), MinBackoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		OnState: func(up bool) {
			select {
			case fl.states <- up:
			default:
			}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	fl.cancel = cancel
	go func() {
		defer close(fl.done)
		Run(ctx, cfg, h)
	}()
	select {
	case fl.c = <-srv.conns:
	case <-time.After(5 * time.Second):
		fl.close()
		return nil, fmt.Errorf("no component connection")
	}
	if up := <-fl.states; !up {
		fl.close()
		return nil, fmt.Errorf("link not up")
	}
	return fl, nil
}

func (fl *fuzzLink) close() {
	fl.cancel()
	if fl.c != nil {
		fl.c.c.Close()
	}
	fl.ln.Close()
	<-fl.done
}

// forwardable reports whether data is one stanza as a server would
// forward it on the component stream: well-formed for encoding/xml in the
// stream's namespace context, a single message, presence or iq with
// nothing else around it but whitespace, and no restricted XML (comments,
// processing instructions, DTDs, entities other than the predefined
// ones). A server never forwards restricted XML: Prosody closes the
// sending client's stream with restricted-xml; should a server send it
// anyway, Chorus ends the stream, as RFC 6120 §11.1 asks (see
// TestRestrictedXMLDropsLink), so such inputs are not this target's.
func forwardable(data []byte) bool {
	const head = `<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>`
	d := xml.NewDecoder(io.MultiReader(bytes.NewReader([]byte(head)), bytes.NewReader(data), bytes.NewReader([]byte(`</stream:stream>`))))
	depth, stanzas := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return depth == 0 && stanzas == 1
		}
		if err != nil {
			return false
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 1 {
				stanzas++
				if t.Name.Space != stanza.NSComponent || (t.Name.Local != "message" && t.Name.Local != "presence" && t.Name.Local != "iq") {
					return false
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 1 && len(bytes.TrimSpace(t)) != 0 {
				return false
			}
		case xml.ProcInst, xml.Comment, xml.Directive:
			return false
		}
	}
}

// FuzzLinkSurvives feeds one stanza a server could forward (see
// forwardable) through a real link, then a ping: the ping must be answered
// on the same link, with no stream error and no reconnect. Whatever else
// comes back must be an error reply to the input's sender, never to an
// error or result. The seed corpus, in testdata/fuzz/FuzzLinkSurvives and
// named by shape, holds the hostile shapes: deep nesting, many attributes
// on the stanza or below it, namespace declarations, long text and
// attribute values, entities and character references, CDATA, unknown
// namespaces, the stream namespace as payload, errors and results and
// stanzas without sender over a limit (never answered), to a room, an
// occupant or the service.
func FuzzLinkSurvives(f *testing.F) {
	var (
		mu  sync.Mutex
		cur *fuzzLink
	)
	f.Cleanup(func() {
		if cur != nil {
			cur.close()
		}
	})
	var pings atomic.Int64
	f.Fuzz(func(t *testing.T, data []byte) {
		if !forwardable(data) || bytes.Contains(data, []byte(fuzzPingPrefix)) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if cur == nil {
			fl, err := startFuzzLink()
			if err != nil {
				t.Fatal(err)
			}
			cur = fl
		}
		fl := cur
		defer func() {
			if t.Failed() {
				t.Logf("component log:\n%s", fl.logs)
				fl.close()
				cur = nil // the next input gets a new link
			}
		}()
		var in struct {
			Type string `xml:"type,attr"`
			ID   string `xml:"id,attr"`
			From string `xml:"from,attr"`
		}
		xml.Unmarshal(data, &in)
		id := fmt.Sprint(fuzzPingPrefix, pings.Add(1))
		werr := make(chan error, 1)
		go func() {
			_, err := fl.c.c.Write(append(append([]byte(nil), data...), ping(id)...))
			werr <- err
		}()
		for {
			st := fl.c.read(t)
			if st == nil || st.Is(stanza.NSStream, "error") {
				t.Fatalf("the link ended on %q: %v", clip(string(data)), st)
			}
			if st.Attr("id") == id {
				break
			}
			if st.Attr("type") != "error" || in.Type == "error" || in.Type == "result" || st.Attr("to") != in.From {
				t.Fatalf("input %q got %s", clip(string(data)), st)
			}
			if fj := st.Attr("from"); !inDomain(fj, testDomain) {
				t.Fatalf("reply from outside the domain: %s", st)
			}
		}
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
		select {
		case up := <-fl.states:
			t.Fatalf("link state changed to %v on %q", up, clip(string(data)))
		default:
		}
	})
}
