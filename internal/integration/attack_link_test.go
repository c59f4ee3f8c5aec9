package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"chorus/component"
	"chorus/internal/prosody"
	"chorus/stanza"
)

// attackStanzaLimit is Chorus's MaxStanzaBytes in the attack test: lower
// than Prosody's c2s limit, as an operator may set it, so that a stanza of
// plain text can be over Chorus's limit and still be one Prosody accepts.
const attackStanzaLimit = 64 << 10

const nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// linkAttack builds one hostile stanza to to, with id. Every one of them is
// within what Prosody 0.12 accepts from an authenticated client: its
// c2s_stanza_size_limit defaults to 256 KiB of the raw bytes the client
// sends (mod_c2s.lua, util/xmppstream.lua); it sets no limit on depth or
// attributes (max_elements is unset for c2s), and forwards the stanza to the
// component re-serialized, each ' and " in text or attribute values as a
// six-byte entity.
type linkAttack struct {
	name  string
	build func(id, to string) *stanza.Element
	text  string // the start of Chorus's refusal text
}

func attackMessage(id, to string, payload *stanza.Element) *stanza.Element {
	typ := "chat"
	if !strings.Contains(to, "/") && strings.Contains(to, "@") {
		typ = "groupchat"
	}
	return stanza.New(stanza.NSClient, "message", "to", to, "id", id, "type", typ).Add(payload)
}

func nested(n int) *stanza.Element {
	top := stanza.New("urn:x", "x")
	e := top
	for range n - 1 {
		c := stanza.New("urn:x", "x")
		e.Add(c)
		e = c
	}
	return top
}

func withAttrs(n int) *stanza.Element {
	attrs := make([]string, 0, 2*n)
	for i := range n {
		attrs = append(attrs, fmt.Sprint("a", i), "v")
	}
	return stanza.New("urn:x", "x", attrs...)
}

var linkAttacks = []linkAttack{
	{"40 nested elements", func(id, to string) *stanza.Element { return attackMessage(id, to, nested(40)) }, "Stanza nested too deeply"},
	{"5000 nested elements", func(id, to string) *stanza.Element { return attackMessage(id, to, nested(5000)) }, "Stanza nested too deeply"},
	{"65 attributes", func(id, to string) *stanza.Element { return attackMessage(id, to, withAttrs(65)) }, "Element with too many attributes"},
	{"10000 attributes", func(id, to string) *stanza.Element { return attackMessage(id, to, withAttrs(10000)) }, "Element with too many attributes"},
	{"200 KiB text", func(id, to string) *stanza.Element {
		return attackMessage(id, to, stanza.New(stanza.NSClient, "body").AddText(strings.Repeat("x", 200<<10)))
	}, "Stanza too large"},
	// 250 KiB as sent, about 1.5 MB as Prosody forwards it (&quot;).
	{"250 KiB of quotes", func(id, to string) *stanza.Element {
		return attackMessage(id, to, stanza.New(stanza.NSClient, "body").AddText(strings.Repeat(`"`, 250<<10)))
	}, "Stanza too large"},
}

// TestOneUserCannotTakeTheLinkDown: one user sends stanzas over each of
// Chorus's per-stanza limits, to a room, to an occupant and to the bare
// service, several rounds in quick succession, while another user talks in
// a room. Prosody forwards every one of them (each is answered by Chorus).
// The attacker gets modify/policy-violation for each; the other user gets
// every message back from the room and not one error (while the link is
// down Prosody bounces with "Component unavailable"); the link never goes
// down.
func TestOneUserCannotTakeTheLinkDown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service, LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	var downs atomic.Int32
	stop := RunChorusWith(t, srv.ComponentAddr(), srv.Secret(), nil, func(cfg *component.Config) {
		cfg.MaxStanzaBytes = attackStanzaLimit
		countDowns(cfg, &downs)
	})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const roomJID = "hall@" + Service
	juliet := dialFault(ctx, t, srv.C2SAddr(), "juliet@localhost/b")
	juliet.createOpen(ctx, t, roomJID, "Juliet")
	mallory := dialFault(ctx, t, srv.C2SAddr(), "mallory@localhost/x")

	// The other user talks throughout.
	const talk = 120
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range talk {
			m := stanza.New(stanza.NSClient, "message", "to", roomJID, "type", "groupchat", "id", fmt.Sprint("v", i)).
				Add(stanza.New(stanza.NSClient, "body").AddText(fmt.Sprint("v", i)))
			if err := juliet.conn.Send(m); err != nil {
				t.Errorf("juliet: %v", err)
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
	}()
	type victimResult struct {
		delivered map[string]bool
		bounced   []*stanza.Element
		err       error
	}
	victim := make(chan victimResult, 1)
	go func() {
		res := victimResult{delivered: map[string]bool{}}
		for len(res.delivered) < talk {
			e, err := juliet.conn.Next(ctx, time.Minute)
			if err != nil {
				res.err = err
				break
			}
			switch {
			case e.Attr("type") == "error":
				res.bounced = append(res.bounced, e)
			case e.Local == "message" && e.Attr("from") == roomJID+"/Juliet" && e.Attr("type") == "groupchat":
				res.delivered[e.ChildText(stanza.NSClient, "body")] = true
			}
		}
		victim <- res
	}()

	// The attack: every shape to every kind of address, round after round,
	// as fast as the connection takes them.
	targets := []string{roomJID, roomJID + "/Juliet", Service}
	const rounds = 3
	type refusal struct{ from, text string }
	want := map[string]refusal{}
	sent := 0
	for r := range rounds {
		for i, a := range linkAttacks {
			for j, to := range targets {
				id := fmt.Sprintf("a%d-%d-%d", r, i, j)
				want[id] = refusal{to, a.text}
				st := a.build(id, to)
				sent += len(st.String())
				if err := mallory.conn.Send(st); err != nil {
					t.Fatalf("sending %s: %v", a.name, err)
				}
			}
		}
	}
	// Payload in the stream namespace is payload: an ordinary stanza,
	// answered by the room or service as any other.
	for j, to := range targets {
		id := fmt.Sprint("s", j)
		iq := stanza.New(stanza.NSClient, "iq", "to", to, "id", id, "type", "set").
			Add(stanza.New("urn:x", "x").Add(stanza.New("http://etherx.jabber.org/streams", "error")))
		if err := mallory.conn.Send(iq); err != nil {
			t.Fatal(err)
		}
	}
	refused, answered := 0, 0
	for len(want) > 0 || answered < len(targets) {
		e, err := mallory.conn.Next(ctx, time.Minute)
		if err != nil {
			t.Fatalf("attacker: %d refusals and %d answers missing: %v", len(want), len(targets)-answered, err)
		}
		id := e.Attr("id")
		if strings.HasPrefix(id, "s") {
			if strings.Contains(e.String(), "Component unavailable") {
				t.Errorf("bounced by the server: %s", e)
			}
			answered++
			continue
		}
		w, ok := want[id]
		if !ok {
			t.Errorf("attacker got %s", e)
			continue
		}
		delete(want, id)
		refused++
		er := e.Child(stanza.NSClient, "error")
		if e.Attr("type") != "error" || e.Attr("from") != w.from || er.Attr("type") != "modify" ||
			er.Child(nsStanzas, "policy-violation") == nil || !strings.HasPrefix(er.ChildText(nsStanzas, "text"), w.text) {
			t.Errorf("%s: got %s, want modify/policy-violation from %s saying %q", id, e, w.from, w.text)
		}
	}
	wg.Wait()
	res := <-victim
	if res.err != nil {
		t.Errorf("the other user: %v", res.err)
	}
	for _, b := range res.bounced {
		t.Errorf("the other user's message bounced: %s", b)
	}
	if len(res.delivered) != talk {
		t.Errorf("the other user got %d of %d messages back from the room", len(res.delivered), talk)
	}
	if n := downs.Load(); n != 0 {
		t.Errorf("the link went down %d times", n)
	}
	t.Logf("%d hostile stanzas (%.1f MB as sent) refused one by one, %d stream-namespace payloads answered; "+
		"the other user: %d/%d messages delivered, %d bounced; link down %d times",
		refused, float64(sent)/(1<<20), answered, len(res.delivered), talk, len(res.bounced), downs.Load())
}

// TestReEscapedEchoDoesNotCostTheLink: a user in a room sends a groupchat
// message whose payload attribute holds 200 KB of raw quotes: within
// Prosody's 256 KiB client limit and within Chorus's default stanza limit
// once decoded, but Prosody forwards each quote as &quot;, and the room's
// echo to its occupants would be as large, beyond the 512 KiB Prosody takes
// from a component (component_stanza_size_limit), over which it closes the
// component stream. Chorus drops that echo; the other occupant's messages
// all come back and nothing bounces.
func TestReEscapedEchoDoesNotCostTheLink(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service, LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	var downs atomic.Int32
	stop := RunChorusWith(t, srv.ComponentAddr(), srv.Secret(), nil, func(cfg *component.Config) {
		countDowns(cfg, &downs)
	})
	defer stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const roomJID = "echo@" + Service
	juliet := dialFault(ctx, t, srv.C2SAddr(), "juliet@localhost/b")
	juliet.createOpen(ctx, t, roomJID, "Juliet")
	mallory := dialFault(ctx, t, srv.C2SAddr(), "mallory@localhost/x")
	mallory.send(t, `<presence to='`+roomJID+`/Mallory'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	mallory.expect(ctx, t, "subject", func(e *stanza.Element) bool { return e.Child(stanza.NSClient, "subject") != nil })

	const quotes = 200 << 10
	for i := range 3 {
		raw := fmt.Sprintf(`<message to='%s' type='groupchat' id='q%d'><body>q</body><x xmlns='urn:x' a='%s'/></message>`,
			roomJID, i, strings.Repeat(`"`, quotes))
		if err := mallory.conn.SendRaw(raw); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprint("after ", i)
		juliet.send(t, `<message to='`+roomJID+`' type='groupchat' id='j`+fmt.Sprint(i)+`'><body>`+body+`</body></message>`)
		e, err := juliet.wait(ctx, 20*time.Second, func(e *stanza.Element) bool {
			return e.Attr("type") == "error" || e.ChildText(stanza.NSClient, "body") == body
		})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if e.Attr("type") == "error" {
			t.Fatalf("round %d: the other user's message bounced: %s", i, e)
		}
	}
	if n := downs.Load(); n != 0 {
		t.Errorf("the link went down %d times", n)
	}
}

// countDowns makes cfg count in downs each time the link goes down.
func countDowns(cfg *component.Config, downs *atomic.Int32) {
	onState := cfg.OnState
	cfg.OnState = func(up bool) {
		if !up {
			downs.Add(1)
		}
		onState(up)
	}
}
