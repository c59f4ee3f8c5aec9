package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"chorus/component"
	"chorus/internal/ejabberd"
	"chorus/internal/prosody"
	"chorus/internal/scansion"
	"chorus/stanza"
)

// Server-side fan-out through XEP-0033: Chorus sends a message or presence
// for several occupants once, to the server's multicast service, with bcc
// addresses; the server makes the copies. These tests run real clients in
// a room through Prosody with contrib/prosody/mod_chorus_multicast.lua and
// through ejabberd with mod_multicast, each allowing two addresses a
// stanza so that every broadcast takes several batches.

const nsAddressIntegration = "http://jabber.org/protocol/address"

// mcLimit is the services' limit of addresses per stanza in these tests.
const mcLimit = 2

// mcClient is a client that keeps every stanza it receives, for the
// checks on what no recipient may see.
type mcClient struct {
	conn *scansion.Conn
	jid  string
	seen []*stanza.Element
}

func dialMC(ctx context.Context, t *testing.T, addr, jid string) *mcClient {
	t.Helper()
	c, err := scansion.Dial(ctx, addr, jid, "pw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if c.JID() != jid {
		t.Fatalf("bound %s, want %s", c.JID(), jid)
	}
	return &mcClient{conn: c, jid: jid}
}

func (c *mcClient) send(t *testing.T, s string) {
	t.Helper()
	if err := c.conn.Send(stanza.MustParse(s)); err != nil {
		t.Fatal(err)
	}
}

// until records stanzas until match accepts one (recorded too).
func (c *mcClient) until(ctx context.Context, t *testing.T, what string, match func(*stanza.Element) bool) *stanza.Element {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		e, err := c.conn.Next(ctx, time.Until(deadline))
		if err != nil {
			t.Fatalf("%s: waiting for %s: %v", c.jid, what, err)
		}
		c.seen = append(c.seen, e)
		if match(e) {
			return e
		}
	}
}

func (c *mcClient) enter(ctx context.Context, t *testing.T, roomJID, nick string) {
	t.Helper()
	c.send(t, joinStanza(roomJID, nick))
	c.until(ctx, t, "the subject", func(e *stanza.Element) bool {
		return e.Attr("from") == roomJID && e.Child(stanza.NSClient, "subject") != nil
	})
}

func hasBody(body string) func(*stanza.Element) bool {
	return func(e *stanza.Element) bool { return e.ChildText(stanza.NSClient, "body") == body }
}

// multicastServer is a server with a multicast service for the component.
type multicastServer struct {
	c2s, component, secret, service string
}

func multicastOnProsody(t *testing.T) multicastServer {
	t.Helper()
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service,
		MulticastModule: prosody.MulticastModule(), MulticastMax: mcLimit})
	if err != nil {
		t.Fatal(err)
	}
	return multicastServer{srv.C2SAddr(), srv.ComponentAddr(), srv.Secret(), srv.MulticastJID()}
}

func multicastOnEjabberd(t *testing.T) multicastServer {
	t.Helper()
	if testing.Short() {
		t.Skip("integration with ejabberd skipped in -short mode")
	}
	require(t, ejabberd.Available())
	srv, err := ejabberd.Start(t, ejabberd.Options{Host: Host, Component: Service, Multicast: true, MulticastLimit: mcLimit})
	if err != nil {
		t.Fatal(err)
	}
	return multicastServer{srv.C2SAddr(), srv.ComponentAddr(), srv.Secret(), srv.MulticastJID()}
}

// startMulticastChorus runs Chorus with multicast on and waits until it
// uses the server's service.
func startMulticastChorus(t *testing.T, srv multicastServer) *component.Metrics {
	t.Helper()
	m := component.NewMetrics()
	t.Cleanup(RunChorusWith(t, srv.component, srv.secret, nil, func(c *component.Config) {
		c.Multicast = true
		c.Metrics = m
	}))
	for deadline := time.Now().Add(15 * time.Second); !m.MulticastInUse(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Chorus did not find the server's multicast service")
		}
	}
	return m
}

func counter(t *testing.T, m *component.Metrics, name string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestMulticastProsody runs the scenario through Prosody and its module.
func TestMulticastProsody(t *testing.T) {
	srv := multicastOnProsody(t)
	m := startMulticastChorus(t, srv)
	multicastScenario(t, srv, m)
}

// TestMulticastEjabberd runs the scenario through ejabberd's mod_multicast.
func TestMulticastEjabberd(t *testing.T) {
	srv := multicastOnEjabberd(t)
	m := startMulticastChorus(t, srv)
	multicastScenario(t, srv, m)
}

// multicastScenario: five clients in a semi-anonymous room, owned by the
// first (a moderator). Each groupchat message and each presence reaches
// each client exactly once, addressed to its own full JID; nobody sees an
// <addresses/> element, and only the moderator sees real JIDs. A client
// that sends a stanza with addresses to the multicast service itself is
// refused and nobody gets it.
func multicastScenario(t *testing.T, srv multicastServer, m *component.Metrics) {
	ctx := context.Background()
	roomJID := "mc@" + Service
	names := []string{"alice", "bob", "carol", "dave", "erin"}
	var cs []*mcClient
	for _, n := range names {
		cs = append(cs, dialMC(ctx, t, srv.c2s, n+"@"+Host+"/"+n[:1]))
	}
	owner := cs[0]
	owner.enter(ctx, t, roomJID, "alice")
	owner.send(t, `<iq type='set' id='cfg' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+
		`<field var='muc#roomconfig_whois'><value>moderators</value></field></x></query></iq>`)
	owner.until(ctx, t, "configuration", func(e *stanza.Element) bool { return e.Attr("id") == "cfg" && e.Attr("type") == "result" })
	for i, c := range cs[1:] {
		c.enter(ctx, t, roomJID, names[i+1])
	}

	// A status change of bob's, then a message from each.
	cs[1].send(t, `<presence to='`+roomJID+`/bob'><show>away</show></presence>`)
	for i, c := range cs {
		c.send(t, fmt.Sprintf(`<message type='groupchat' to='%s' id='m%d'><body>hello from %s</body></message>`, roomJID, i, names[i]))
	}
	// An attempt to use the service directly, with another client's
	// address: refused, and nobody receives it.
	mallory := dialMC(ctx, t, srv.c2s, "mallory@"+Host+"/m")
	mallory.send(t, `<message to='`+srv.service+`' id='spam'><addresses xmlns='`+nsAddressIntegration+`'>`+
		`<address type='bcc' jid='`+cs[2].jid+`'/><address type='bcc' jid='`+cs[3].jid+`'/></addresses><body>spam</body></message>`)
	refusal := mallory.until(ctx, t, "the refusal", func(e *stanza.Element) bool { return e.Attr("id") == "spam" })
	if refusal.Attr("type") != "error" || refusal.Attr("from") != srv.service || stanza.ErrorOf(refusal).Condition != stanza.Forbidden {
		t.Errorf("a client's multicast got %s, want a forbidden error from %s", refusal, srv.service)
	}
	// The end: everything before it has arrived.
	for _, c := range cs {
		c.until(ctx, t, "erin's message", hasBody("hello from erin"))
	}
	owner.send(t, `<message type='groupchat' to='`+roomJID+`' id='end'><body>end</body></message>`)
	for _, c := range cs {
		c.until(ctx, t, "the end", hasBody("end"))
	}

	for ci, c := range cs {
		moderator := ci == 0
		realJIDs := 0
		for _, e := range c.seen {
			raw := e.String()
			if e.Attr("to") != c.jid {
				t.Errorf("%s received a stanza addressed to %q: %s", c.jid, e.Attr("to"), raw)
			}
			if strings.Contains(raw, nsAddressIntegration) {
				t.Errorf("%s received extended addresses: %s", c.jid, raw)
			}
			if e.ChildText(stanza.NSClient, "body") == "spam" {
				t.Errorf("%s received the client's multicast: %s", c.jid, raw)
			}
			for _, o := range cs {
				if o != c && strings.Contains(raw, o.jid) && !moderator {
					t.Errorf("%s, not a moderator, saw %s's address: %s", c.jid, o.jid, raw)
				}
			}
			if e.Local == "presence" {
				if x := e.Child(stanza.NSMUCUser, "x"); x != nil {
					if it := x.Child(stanza.NSMUCUser, "item"); it != nil && it.Attr("jid") != "" {
						if !moderator && it.Attr("jid") != c.jid {
							t.Errorf("%s, not a moderator, saw a real JID: %s", c.jid, raw)
						}
						realJIDs++
					}
				}
			}
		}
		if moderator && realJIDs < len(cs)-1 {
			t.Errorf("the moderator saw %d real JIDs in presence, want at least %d", realJIDs, len(cs)-1)
		}
		for i := range cs {
			body := "hello from " + names[i]
			if n := count(c.seen, hasBody(body)); n != 1 {
				t.Errorf("%s got %q %d times, want once", c.jid, body, n)
			}
		}
		if ci != 1 {
			away := count(c.seen, func(e *stanza.Element) bool {
				return e.Local == "presence" && e.Attr("from") == roomJID+"/bob" && e.ChildText(stanza.NSClient, "show") == "away"
			})
			if away != 1 {
				t.Errorf("%s got bob's away presence %d times, want once", c.jid, away)
			}
		}
		// Every later joiner's presence reached each earlier occupant once.
		for j := ci + 1; j < len(cs); j++ {
			joins := count(c.seen, func(e *stanza.Element) bool {
				return e.Local == "presence" && e.Attr("from") == roomJID+"/"+names[j] && e.Attr("type") == "" &&
					e.Child(stanza.NSClient, "show") == nil
			})
			if joins != 1 {
				t.Errorf("%s got %s's join %d times, want once", c.jid, names[j], joins)
			}
		}
	}
	for _, e := range mallory.seen {
		// ejabberd's refusal echoes the payload; anything else would be
		// a delivery.
		if e.ChildText(stanza.NSClient, "body") == "spam" && e.Attr("type") != "error" {
			t.Errorf("the sender got its own multicast delivered: %s", e)
		}
	}
	if n := counter(t, m, "chorus_multicast_stanzas_total"); n == 0 {
		t.Error("no stanza went through the multicast service")
	}
	if n := counter(t, m, "chorus_multicast_fallbacks_total"); n != 0 {
		t.Errorf("%v stanzas fell back to one per recipient", n)
	}
	if !m.MulticastInUse() {
		t.Error("multicast no longer in use")
	}
}

func count(st []*stanza.Element, match func(*stanza.Element) bool) int {
	n := 0
	for _, e := range st {
		if match(e) {
			n++
		}
	}
	return n
}
