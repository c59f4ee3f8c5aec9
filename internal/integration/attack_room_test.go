package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"chorus/internal/prosody"
	"chorus/room"
	"chorus/stanza"
)

// The attacks of this file run through a real Prosody with clients on
// its client port: one user attacks, the others check that the attack
// gains nothing and that their own traffic is unaffected.

// attackLimits are the service's limits in these tests: the binary's
// defaults, with a message rate so slow (a token every eleven days) that no
// refill happens while a test runs, so a count of deliveries is exact and
// needs no clock.
var attackLimits = room.Limits{
	MessageRate: 1e-6, MessageBurst: 5,
	PresenceRate: 1, PresenceBurst: 10,
	VoiceRequestInterval: 300 * time.Second,
	MaxNick:              64, MaxSubject: 1024, MaxBody: 65536,
}

const mucNS = "http://jabber.org/protocol/muc"

func joinStanza(roomJID, nick string) string {
	return `<presence to='` + roomJID + `/` + nick + `'><x xmlns='` + mucNS + `'><history maxstanzas='0'/></x></presence>`
}

// enter joins a room and waits for the end of the join (the subject).
func (c *faultClient) enter(ctx context.Context, t *testing.T, roomJID, nick string) {
	t.Helper()
	c.send(t, joinStanza(roomJID, nick))
	c.expect(ctx, t, nick+" joined", func(e *stanza.Element) bool {
		return e.Attr("from") == roomJID && e.Child(stanza.NSClient, "subject") != nil
	})
}

// createOpen makes an instant (open) room owned by c.
func (c *faultClient) createOpen(ctx context.Context, t *testing.T, roomJID, nick string, fields ...string) {
	t.Helper()
	c.enter(ctx, t, roomJID, nick)
	form := `<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`
	for i := 0; i+1 < len(fields); i += 2 {
		form += `<field var='` + fields[i] + `'><value>` + fields[i+1] + `</value></field>`
	}
	c.send(t, `<iq type='set' id='cfg' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+form+`</x></query></iq>`)
	c.expect(ctx, t, "configuration", func(e *stanza.Element) bool { return e.Attr("id") == "cfg" && e.Attr("type") == "result" })
}

// sync returns once the room has handled everything c sent before: a
// disco#info query to the room is answered in the room's order.
func (c *faultClient) sync(ctx context.Context, t *testing.T, roomJID string) {
	t.Helper()
	id := fmt.Sprintf("sync-%d", time.Now().UnixNano())
	c.send(t, `<iq type='get' id='`+id+`' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	c.expect(ctx, t, "sync", func(e *stanza.Element) bool { return e.Attr("id") == id })
}

// drain collects what c receives until a groupchat message with the body
// marker arrives (sent by someone else after the attack was handled), so
// everything the attack made the room send to c is counted.
func (c *faultClient) drain(ctx context.Context, t *testing.T, marker string) []*stanza.Element {
	t.Helper()
	var got []*stanza.Element
	if _, err := c.wait(ctx, 20*time.Second, func(e *stanza.Element) bool {
		if e.ChildText(stanza.NSClient, "body") == marker {
			return true
		}
		got = append(got, e)
		return false
	}); err != nil {
		t.Fatalf("waiting for %q: %v", marker, err)
	}
	return got
}

func countBodies(st []*stanza.Element, prefix string) int {
	n := 0
	for _, e := range st {
		if strings.HasPrefix(e.ChildText(stanza.NSClient, "body"), prefix) {
			n++
		}
	}
	return n
}

func errorsIn(st []*stanza.Element) int {
	n := 0
	for _, e := range st {
		if e.Attr("type") == "error" {
			n++
		}
	}
	return n
}

func startAttackServer(t *testing.T) (c2s string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
	if err != nil {
		t.Fatal(err)
	}
	StartChorusWithLimits(t, srv.ComponentAddr(), srv.Secret(), attackLimits)
	return srv.C2SAddr()
}

// TestAttackRateLimitBypass: an occupant floods a room with 200 messages,
// changing nick every 20 (and, in the second round, leaving and rejoining),
// which used to refill its bucket. Only the burst reaches the others; the
// other occupants' own messages are all delivered.
func TestAttackRateLimitBypass(t *testing.T) {
	addr := startAttackServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for i, tc := range [...]struct {
		name  string
		reset func(c *faultClient, roomJID string, round int)
	}{
		0: {"nick change", func(c *faultClient, roomJID string, round int) {
			c.send(t, `<presence to='`+roomJID+`/M`+fmt.Sprint(round)+`'/>`)
		}},
		1: {"leave and rejoin", func(c *faultClient, roomJID string, round int) {
			c.send(t, `<presence type='unavailable' to='`+roomJID+`/Mallory'/>`)
			c.send(t, joinStanza(roomJID, "Mallory"))
		}},
	} {
		roomJID := fmt.Sprintf("flood%d@%s", i, Service)
		alice := dialFault(ctx, t, addr, fmt.Sprintf("alice%d@localhost/a", i))
		bob := dialFault(ctx, t, addr, fmt.Sprintf("bob%d@localhost/b", i))
		mallory := dialFault(ctx, t, addr, fmt.Sprintf("mallory%d@localhost/m", i))
		alice.createOpen(ctx, t, roomJID, "Alice")
		bob.enter(ctx, t, roomJID, "Bob")
		mallory.enter(ctx, t, roomJID, "Mallory")

		for m := 0; m < 200; m++ {
			if m > 0 && m%20 == 0 {
				tc.reset(mallory, roomJID, m)
			}
			mallory.send(t, fmt.Sprintf(`<message type='groupchat' to='%s' id='f%d'><body>flood %d</body></message>`, roomJID, m, m))
		}
		mallory.sync(ctx, t, roomJID)
		allowed := attackLimits.MessageBurst
		// Bob's own bucket holds five: four messages and the marker.
		for k := 0; k < 4; k++ {
			bob.send(t, fmt.Sprintf(`<message type='groupchat' to='%s'><body>bob %d</body></message>`, roomJID, k))
		}
		bob.send(t, `<message type='groupchat' to='`+roomJID+`'><body>end</body></message>`)
		got := alice.drain(ctx, t, "end")
		t.Logf("%s: %d of 200 flood messages reached alice (at most %d allowed)", tc.name, countBodies(got, "flood "), allowed)
		if n := countBodies(got, "flood "); n > allowed {
			t.Errorf("%d (%s): alice got %d of 200 flood messages, want at most %d", i, tc.name, n, allowed)
		}
		if n := countBodies(got, "bob "); n != 4 {
			t.Errorf("%d (%s): alice got %d of bob's 4 messages", i, tc.name, n)
		}
		if n := errorsIn(got); n != 0 {
			t.Errorf("%d (%s): alice got %d errors", i, tc.name, n)
		}
	}
}

// TestAttackInvitationRelay: an outsider uses an open room to relay
// invitations, three per stanza; then an occupant does the same. The
// victim gets none from the outsider and one per stanza, within the
// occupant's message bucket, from the occupant.
func TestAttackInvitationRelay(t *testing.T) {
	addr := startAttackServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const roomJID = "open@" + Service
	alice := dialFault(ctx, t, addr, "alice@localhost/a")
	bob := dialFault(ctx, t, addr, "bob@localhost/b")
	mallory := dialFault(ctx, t, addr, "mallory@localhost/m")
	victim := dialFault(ctx, t, addr, "victim@localhost/v")
	// Available, so that the server delivers messages to the bare JID.
	victim.send(t, `<presence/>`)
	alice.createOpen(ctx, t, roomJID, "Alice")

	invites := `<message to='` + roomJID + `'><x xmlns='http://jabber.org/protocol/muc#user'>` +
		`<invite to='victim@localhost'><reason>buy</reason></invite><invite to='victim@localhost/v'/><invite to='victim@localhost'/></x></message>`
	for i := 0; i < 50; i++ {
		mallory.send(t, invites)
	}
	refused := 0
	if _, err := mallory.wait(ctx, 20*time.Second, func(e *stanza.Element) bool {
		if e.Local == "message" && e.Attr("type") == "error" && strings.Contains(e.String(), "<forbidden") {
			refused++
		}
		return refused == 50
	}); err != nil {
		t.Errorf("outsider: %d of 50 invitation stanzas refused with forbidden: %v", refused, err)
	}

	bob.enter(ctx, t, roomJID, "Bob")
	for i := 0; i < 20; i++ {
		bob.send(t, invites)
	}
	bob.sync(ctx, t, roomJID)
	allowed := attackLimits.MessageBurst
	// A direct message from alice marks the end of what reached the victim.
	alice.send(t, `<message to='victim@localhost/v' type='chat'><body>end</body></message>`)
	got := victim.drain(ctx, t, "end")
	n := 0
	for _, e := range got {
		if e.Attr("from") == roomJID && e.Child("http://jabber.org/protocol/muc#user", "x") != nil {
			n++
		}
	}
	if n < 1 || n > allowed {
		t.Errorf("victim got %d invitations from 20 stanzas of 3 by an occupant and 50 by an outsider, want 1 to %d", n, allowed)
	}
}

// TestAttackVoiceRequestFlood: a visitor of a moderated room asks for
// voice 100 times; the moderator gets one form, the visitor the refusals.
func TestAttackVoiceRequestFlood(t *testing.T) {
	addr := startAttackServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const roomJID = "stage@" + Service
	alice := dialFault(ctx, t, addr, "alice@localhost/a")
	mallory := dialFault(ctx, t, addr, "mallory@localhost/m")
	alice.createOpen(ctx, t, roomJID, "Alice", "muc#roomconfig_moderatedroom", "1")
	mallory.enter(ctx, t, roomJID, "Mallory")
	const ask = `<message to='` + roomJID + `'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>` +
		`<field var='muc#role'><value>participant</value></field></x></message>`
	for i := 0; i < 100; i++ {
		mallory.send(t, ask)
	}
	refused := 0
	if _, err := mallory.wait(ctx, 20*time.Second, func(e *stanza.Element) bool {
		if e.Attr("type") == "error" && strings.Contains(e.String(), "<policy-violation") {
			refused++
		}
		return refused == 99
	}); err != nil {
		t.Errorf("%d of 99 repeated requests refused: %v", refused, err)
	}
	alice.send(t, `<message type='groupchat' to='`+roomJID+`'><body>end</body></message>`)
	forms := 0
	for _, e := range alice.drain(ctx, t, "end") {
		if e.Child("jabber:x:data", "x") != nil {
			forms++
		}
	}
	if forms != 1 {
		t.Errorf("the moderator got %d voice requests, want 1", forms)
	}
}

// TestAttackOccupantIDForgery: an occupant sends a private message
// carrying another occupant's id; the recipient sees the sender's own id,
// issued by the room.
func TestAttackOccupantIDForgery(t *testing.T) {
	addr := startAttackServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const roomJID = "masks@" + Service
	const nsOID = "urn:xmpp:occupant-id:0"
	alice := dialFault(ctx, t, addr, "alice@localhost/a")
	bob := dialFault(ctx, t, addr, "bob@localhost/b")
	mallory := dialFault(ctx, t, addr, "mallory@localhost/m")
	alice.createOpen(ctx, t, roomJID, "Alice")
	bob.enter(ctx, t, roomJID, "Bob")

	ids := map[string]string{} // nick -> occupant id, as alice sees them
	mallory.send(t, joinStanza(roomJID, "Mallory"))
	if _, err := alice.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		if e.Local == "presence" && strings.HasPrefix(e.Attr("from"), roomJID+"/") {
			ids[strings.TrimPrefix(e.Attr("from"), roomJID+"/")] = e.Child(nsOID, "occupant-id").Attr("id")
		}
		return ids["Mallory"] != ""
	}); err != nil {
		t.Fatal(err)
	}
	// Bob's id as the room shows it to everyone.
	alice.send(t, `<presence type='probe' to='`+roomJID+`/Bob'/>`)
	if _, err := alice.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		if e.Attr("from") == roomJID+"/Bob" && e.Local == "presence" {
			ids["Bob"] = e.Child(nsOID, "occupant-id").Attr("id")
		}
		return ids["Bob"] != ""
	}); err != nil {
		t.Fatal(err)
	}
	mallory.send(t, `<message type='chat' to='`+roomJID+`/Alice'><body>it is me, Bob</body><occupant-id xmlns='`+nsOID+`' id='`+ids["Bob"]+`'/></message>`)
	pm, err := alice.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		return e.Local == "message" && e.ChildText(stanza.NSClient, "body") == "it is me, Bob"
	})
	if err != nil {
		t.Fatal(err)
	}
	got := pm.ChildrenNamed(nsOID, "occupant-id")
	if len(got) != 1 || got[0].Attr("id") != ids["Mallory"] {
		t.Errorf("private message shows occupant ids %v, want exactly Mallory's %q (Bob's is %q): %v", got, ids["Mallory"], ids["Bob"], pm)
	}
}
