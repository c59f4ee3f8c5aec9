package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chorus/component"
	"chorus/internal/ejabberd"
	"chorus/internal/prosody"
	"chorus/internal/scansion"
	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// Server-side fan-out through XEP-0033: Chorus sends a message or presence
// for several occupants once, to the server's multicast service, with bcc
// addresses; the server makes the copies. These tests run real clients in
// a room through Prosody with contrib/prosody/mod_chorus_multicast.lua and
// through ejabberd with mod_multicast, each allowing two addresses a
// stanza so that every broadcast takes several batches.

const nsAddressIntegration = "http://jabber.org/protocol/address"

// nsBccListIntegration is the namespace of Chorus's bcc list, which the
// Prosody module takes (see component.nsBccList).
const nsBccListIntegration = "urn:chorus:multicast:bcc"

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
	multicastOrderScenario(t, srv)
}

// TestMulticastEjabberd runs the scenario through ejabberd's mod_multicast.
func TestMulticastEjabberd(t *testing.T) {
	srv := multicastOnEjabberd(t)
	m := startMulticastChorus(t, srv)
	multicastScenario(t, srv, m)
	multicastOrderScenario(t, srv)
}

// mcOrderRounds is how many broadcasts multicastOrderScenario interleaves
// with private messages.
const mcOrderRounds = 200

// multicastOrderScenario: bob sends, in one burst on one connection, a
// groupchat message and then a private message to alice, mcOrderRounds
// times. The room broadcasts each groupchat message (through the
// multicast service: three occupants) and relays each private message to
// alice alone; alice must get them all in the order bob sent them
// (XEP-0045 rooms keep the order per recipient), although ejabberd's
// mod_multicast is a process of its own that a stanza sent directly
// could overtake. (On ejabberd, with the private messages sent directly,
// they overtook a broadcast within the first few rounds; Prosody's module
// delivers as it reads, in order either way.)
func multicastOrderScenario(t *testing.T, srv multicastServer) {
	ctx := context.Background()
	roomJID := "order@" + Service
	alice := dialMC(ctx, t, srv.c2s, "alice@"+Host+"/order")
	bob := dialMC(ctx, t, srv.c2s, "bob@"+Host+"/order")
	carol := dialMC(ctx, t, srv.c2s, "carol@"+Host+"/order")
	alice.enter(ctx, t, roomJID, "alice")
	// An instant room (XEP-0045 §10.1.2), unlocked for the others.
	alice.send(t, `<iq type='set' id='instant' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	alice.until(ctx, t, "the room unlocked", func(e *stanza.Element) bool { return e.Attr("id") == "instant" && e.Attr("type") == "result" })
	bob.enter(ctx, t, roomJID, "bob")
	carol.enter(ctx, t, roomJID, "carol")

	var want []string
	var burst strings.Builder
	for i := range mcOrderRounds {
		g, p := fmt.Sprintf("g%d", i), fmt.Sprintf("p%d", i)
		want = append(want, g, p)
		fmt.Fprintf(&burst, `<message type='groupchat' to='%s' id='%s'><body>%s</body></message>`, roomJID, g, g)
		fmt.Fprintf(&burst, `<message type='chat' to='%s/alice' id='%s'><body>%s</body></message>`, roomJID, p, p)
	}
	// One write: the room gets them as fast as the server passes them on.
	if err := bob.conn.SendRaw(burst.String()); err != nil {
		t.Fatal(err)
	}
	last := want[len(want)-1]
	alice.until(ctx, t, "the last private message", hasBody(last))

	var got []string
	for _, e := range alice.seen {
		if b := e.ChildText(stanza.NSClient, "body"); e.Local == "message" && e.Attr("type") != "error" &&
			len(b) > 1 && (b[0] == 'g' || b[0] == 'p') {
			got = append(got, b)
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("alice got %d messages; number %d is %s, want %s (around it: %v)",
					len(got), i, got[i], want[i], got[max(0, i-3):min(len(got), i+4)])
			}
		}
		t.Fatalf("alice got %d messages, want %d", len(got), len(want))
	}
}

// multicastScenario: five clients in a semi-anonymous room, owned by the
// first (a moderator). Each groupchat message and each presence reaches
// each client exactly once, addressed to its own full JID; nobody sees an
// <addresses/> element, and only the moderator sees real JIDs. A client
// that sends a stanza with addresses to the multicast service itself is
// refused and nobody gets it.
func multicastScenario(t *testing.T, srv multicastServer, m *component.Metrics) {
	multicastScenarioWith(t, srv, m, false)
}

// multicastScenarioWith is multicastScenario; refused says the service
// refuses Chorus, which then falls back to one stanza per recipient.
func multicastScenarioWith(t *testing.T, srv multicastServer, m *component.Metrics, refused bool) {
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
			if strings.Contains(raw, nsAddressIntegration) || strings.Contains(raw, nsBccListIntegration) {
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
	fallbacks := counter(t, m, "chorus_multicast_fallbacks_total")
	switch {
	case refused && (fallbacks == 0 || m.MulticastInUse()):
		t.Errorf("refused: %v fallbacks, in use %v; want some, and not in use", fallbacks, m.MulticastInUse())
	case !refused && (fallbacks != 0 || !m.MulticastInUse()):
		t.Errorf("%v stanzas fell back to one per recipient, in use %v", fallbacks, m.MulticastInUse())
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

// TestMulticastProsodyRefusalFallsBack: a service that refuses the
// component (its domain is not in chorus_multicast_from) costs nothing but
// a round trip: each refused stanza goes again once per recipient, and
// everyone still gets everything exactly once.
func TestMulticastProsodyRefusalFallsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	p, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service,
		MulticastModule: prosody.MulticastModule(), MulticastMax: mcLimit, MulticastFrom: "elsewhere." + Host})
	if err != nil {
		t.Fatal(err)
	}
	srv := multicastServer{p.C2SAddr(), p.ComponentAddr(), p.Secret(), p.MulticastJID()}
	m := startMulticastChorus(t, srv)
	multicastScenarioWith(t, srv, m, true)
}

// TestMulticastProsodyModule drives mod_chorus_multicast directly from the
// component's link (Chorus's own multicast off): its disco information and
// limit, its refusals of stanzas it cannot deliver, and its copies, which
// carry neither the addresses nor any other recipient's.
func TestMulticastProsodyModule(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	p, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service,
		MulticastModule: prosody.MulticastModule(), MulticastMax: mcLimit})
	if err != nil {
		t.Fatal(err)
	}
	svc := p.MulticastJID()
	ctx := context.Background()
	bob := dialMC(ctx, t, p.C2SAddr(), "bob@"+Host+"/b")
	carol := dialMC(ctx, t, p.C2SAddr(), "carol@"+Host+"/c")

	got := make(chan *stanza.Element, 64)
	var sender component.Sender
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- component.Run(runCtx, component.Config{Domain: Service, Secret: p.Secret(), Server: p.ComponentAddr(),
			Sender: &sender, MinBackoff: 50 * time.Millisecond},
			rawHandler(func(st *stanza.Element) { got <- st }))
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(linkSetup); !sender.Up(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the component did not connect")
		}
	}
	send := func(to, raw string) {
		t.Helper()
		if err := sender.Send([]room.Out{room.To1(to, stanza.MustParse(raw))}); err != nil {
			t.Fatal(err)
		}
	}
	reply := func(id string) *stanza.Element {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case st := <-got:
				if st.Attr("id") == id {
					return st
				}
			case <-timeout:
				t.Fatalf("no answer to %s", id)
			}
		}
	}
	const from = "room@" + Service + "/nick"

	// A client's attempt is refused before the module touches its link.
	mallory := dialMC(ctx, t, p.C2SAddr(), "mallory@"+Host+"/m")
	mallory.send(t, `<message to='`+svc+`' id='spam'><addresses xmlns='`+nsAddressIntegration+`'>`+
		`<address type='bcc' jid='`+carol.jid+`'/></addresses><body>spam</body></message>`)
	if e := mallory.until(ctx, t, "the refusal", func(e *stanza.Element) bool { return e.Attr("id") == "spam" }); stanza.ErrorOf(e).Condition != stanza.Forbidden {
		t.Errorf("a client's multicast got %s, want forbidden", e)
	}
	// Nor may a client use the bcc list.
	mallory.send(t, `<message to='`+svc+`' id='spam2'><bcc xmlns='`+nsBccListIntegration+`'>`+carol.jid+`</bcc><body>spam</body></message>`)
	if e := mallory.until(ctx, t, "the refusal", func(e *stanza.Element) bool { return e.Attr("id") == "spam2" }); stanza.ErrorOf(e).Condition != stanza.Forbidden {
		t.Errorf("a client's bcc list got %s, want forbidden", e)
	}

	// Listed in the host's items; the feature and the limit in its info.
	send(Host, `<iq type='get' id='items' from='`+Service+`' to='`+Host+`'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`)
	if r := reply("items"); !strings.Contains(r.String(), "jid='"+svc+"'") {
		t.Errorf("the host's items do not list %s: %s", svc, r)
	}
	send(svc, `<iq type='get' id='info' from='`+Service+`' to='`+svc+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	info := reply("info")
	if s := info.String(); !strings.Contains(s, "var='"+nsAddressIntegration+"'") || !strings.Contains(s, "var='"+nsBccListIntegration+"'") ||
		!strings.Contains(s, "<field var='message'><value>2</value></field>") {
		t.Errorf("disco#info lacks the feature or the limit: %s", s)
	}

	refusals := []struct{ id, body, cond string }{
		{"none", ``, "bad-request"},
		{"empty", `<addresses xmlns='` + nsAddressIntegration + `'/>`, "bad-request"},
		{"badjid", `<addresses xmlns='` + nsAddressIntegration + `'><address type='bcc' jid='@@'/></addresses>`, "bad-request"},
		{"many", `<addresses xmlns='` + nsAddressIntegration + `'><address type='bcc' jid='` + bob.jid + `'/>` +
			`<address type='bcc' jid='` + carol.jid + `'/><address type='bcc' jid='dave@localhost/d'/></addresses>`, "not-acceptable"},
		{"list-empty", `<bcc xmlns='` + nsBccListIntegration + `'/>`, "bad-request"},
		{"list-badjid", `<bcc xmlns='` + nsBccListIntegration + `'>` + bob.jid + "\t@@</bcc>", "bad-request"},
		{"list-tags", `<bcc xmlns='` + nsBccListIntegration + `'>` + bob.jid + `<x/></bcc>`, "bad-request"},
		{"list-gap", `<bcc xmlns='` + nsBccListIntegration + `'>` + bob.jid + "\t\t" + carol.jid + `</bcc>`, "bad-request"},
		{"list-many", `<bcc xmlns='` + nsBccListIntegration + `'>` + bob.jid + "\t" + carol.jid + "\tdave@localhost/d</bcc>", "not-acceptable"},
		{"both", `<bcc xmlns='` + nsBccListIntegration + `'>` + bob.jid + `</bcc><addresses xmlns='` + nsAddressIntegration + `'>` +
			`<address type='bcc' jid='` + carol.jid + `'/></addresses>`, "bad-request"},
	}
	for _, r := range refusals {
		send(svc, `<message type='groupchat' id='`+r.id+`' from='`+from+`' to='`+svc+`'><body>refused</body>`+r.body+`</message>`)
		e := reply(r.id)
		if e.Attr("type") != "error" || e.Attr("from") != svc || string(stanza.ErrorOf(e).Condition) != r.cond {
			t.Errorf("%s: got %s, want a %s error from %s", r.id, e, r.cond, svc)
		}
		if r.id == "many" && e.Child(nsAddressIntegration, "addresses") == nil {
			t.Errorf("the refusal does not carry the addresses it refused: %s", e)
		}
		if r.id == "list-many" && e.Child(nsBccListIntegration, "bcc") == nil {
			t.Errorf("the refusal does not carry the list it refused: %s", e)
		}
	}

	send(svc, `<message type='groupchat' id='ok' from='`+from+`' to='`+svc+`'><body>hi</body><addresses xmlns='`+nsAddressIntegration+`'>`+
		`<address type='bcc' jid='`+bob.jid+`'/><address type='to' jid='`+carol.jid+`'/></addresses></message>`)
	send(svc, `<message type='groupchat' id='okl' from='`+from+`' to='`+svc+`'><body>listed</body><bcc xmlns='`+nsBccListIntegration+`'>`+
		bob.jid+"\t"+carol.jid+`</bcc></message>`)
	send(svc, `<presence id='p' from='`+from+`' to='`+svc+`'><addresses xmlns='`+nsAddressIntegration+`'>`+
		`<address type='bcc' jid='`+bob.jid+`'/><address type='bcc' jid='`+carol.jid+`'/></addresses></presence>`)
	for _, c := range []*mcClient{bob, carol} {
		c.until(ctx, t, "the presence", func(e *stanza.Element) bool { return e.Attr("id") == "p" })
		for _, e := range c.seen {
			raw := e.String()
			if e.Attr("to") != c.jid || e.Attr("from") != from || strings.Contains(raw, nsAddressIntegration) || strings.Contains(raw, nsBccListIntegration) {
				t.Errorf("%s got %s", c.jid, raw)
			}
			if e.ChildText(stanza.NSClient, "body") == "refused" {
				t.Errorf("%s got a refused stanza: %s", c.jid, raw)
			}
		}
		if n := count(c.seen, hasBody("hi")); n != 1 {
			t.Errorf("%s got the message %d times", c.jid, n)
		}
		if n := count(c.seen, hasBody("listed")); n != 1 {
			t.Errorf("%s got the listed message %d times", c.jid, n)
		}
	}

	// The component's link is read in larger chunks, so that a turn of
	// Prosody's loop can take several broadcasts (see the module); the
	// refused client's link is not touched.
	log, err := os.ReadFile(p.LogPath())
	if err != nil {
		t.Fatal(err)
	}
	want := "Reading the link of " + Service + " 65536 bytes at a time"
	if strings.Count(string(log), want) != 1 || strings.Count(string(log), "Reading the link of ") != 1 {
		t.Errorf("Prosody's log has not %q as its only such line:\n%s", want, p.LogTail(40))
	}
}

// rawHandler hands every stanza the link reads to f.
type rawHandler func(*stanza.Element)

func (h rawHandler) HandleAt(_ room.Address, st *stanza.Element) []room.Out {
	h(st)
	return nil
}

func (h rawHandler) Shutdown() []room.Out { return nil }

// TestMulticastEjabberdMAMOrder: through ejabberd's mod_multicast, a MAM
// query's results reach the client before the <fin/> that ends them
// (XEP-0313 §4.2), although the results are messages and the <fin/> an
// IQ, which never goes through the service. With the results through
// mod_multicast (a process apart), the IQ overtook some of them.
func TestMulticastEjabberdMAMOrder(t *testing.T) {
	srv := multicastOnEjabberd(t)
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "chorus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := component.NewMetrics()
	t.Cleanup(RunChorusWith(t, srv.component, srv.secret, st, func(c *component.Config) {
		c.Multicast = true
		c.Metrics = m
	}))
	for deadline := time.Now().Add(15 * time.Second); !m.MulticastInUse(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Chorus did not find the server's multicast service")
		}
	}
	ctx := context.Background()
	roomJID := "archive@" + Service
	alice := dialMC(ctx, t, srv.c2s, "alice@"+Host+"/mam")
	bob := dialMC(ctx, t, srv.c2s, "bob@"+Host+"/mam")
	alice.enter(ctx, t, roomJID, "alice")
	alice.send(t, `<iq type='set' id='cfg' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+
		`<field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>`)
	alice.until(ctx, t, "the room configured", func(e *stanza.Element) bool { return e.Attr("id") == "cfg" && e.Attr("type") == "result" })
	bob.enter(ctx, t, roomJID, "bob")
	const n = 30
	for i := range n {
		alice.send(t, fmt.Sprintf(`<message type='groupchat' to='%s' id='m%d'><body>m%d</body></message>`, roomJID, i, i))
	}
	alice.until(ctx, t, "the last message", hasBody(fmt.Sprintf("m%d", n-1)))
	for q := range 20 {
		id := fmt.Sprintf("q%d", q)
		bob.seen = bob.seen[:0]
		bob.send(t, `<iq type='set' id='`+id+`' to='`+roomJID+`'><query xmlns='urn:xmpp:mam:2' queryid='`+id+`'>`+
			`<set xmlns='http://jabber.org/protocol/rsm'><max>`+fmt.Sprint(n)+`</max><before/></set></query></iq>`)
		bob.until(ctx, t, "the fin of "+id, func(e *stanza.Element) bool { return e.Local == "iq" && e.Attr("id") == id })
		got := 0
		for _, e := range bob.seen {
			if r := e.Child("urn:xmpp:mam:2", "result"); r != nil && r.Attr("queryid") == id {
				got++
			}
		}
		if got != n {
			t.Fatalf("query %d: %d results before the <fin/>, want %d", q, got, n)
		}
	}
}
