package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/internal/prosody"
	"chorus/room"
	"chorus/stanza"
)

// The block list of these tests: a node on the test Prosody's own pubsub
// service, which lists@localhost owns.
const (
	rtblService   = "pubsub.localhost"
	rtblNode      = "muc_bans_sha256"
	rtblPublisher = "lists@localhost"
)

func rtblHash(bare string) string {
	sum := sha256.Sum256([]byte(bare))
	return hex.EncodeToString(sum[:])
}

// rtblIQ sends a pubsub request from c and fails the test unless it
// succeeds.
func rtblIQ(ctx context.Context, t *testing.T, c *faultClient, id, ns, payload string) *stanza.Element {
	t.Helper()
	c.send(t, `<iq type='set' id='`+id+`' to='`+rtblService+`'><pubsub xmlns='`+ns+`'>`+payload+`</pubsub></iq>`)
	res, err := c.wait(ctx, 10*time.Second, func(e *stanza.Element) bool { return e.Local == "iq" && e.Attr("id") == id })
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if res.Attr("type") != "result" {
		t.Fatalf("%s: %v", id, res)
	}
	return res
}

const nsPubsub, nsPubsubOwner = "http://jabber.org/protocol/pubsub", "http://jabber.org/protocol/pubsub#owner"

func rtblPublish(ctx context.Context, t *testing.T, c *faultClient, bare string) {
	t.Helper()
	rtblIQ(ctx, t, c, "pub-"+bare, nsPubsub, `<publish node='`+rtblNode+`'><item id='`+rtblHash(bare)+`'>`+
		`<report xmlns='urn:xmpp:reporting:1' reason='urn:xmpp:reporting:spam'/></item></publish>`)
}

// rtblSubscribed reports whether the service is subscribed to the node,
// as its owner sees it.
func rtblSubscribed(ctx context.Context, t *testing.T, c *faultClient, id string) bool {
	t.Helper()
	c.send(t, `<iq type='get' id='`+id+`' to='`+rtblService+`'><pubsub xmlns='`+nsPubsubOwner+`'><subscriptions node='`+rtblNode+`'/></pubsub></iq>`)
	res, err := c.wait(ctx, 10*time.Second, func(e *stanza.Element) bool { return e.Local == "iq" && e.Attr("id") == id })
	if err != nil || res.Attr("type") != "result" {
		t.Fatalf("subscriptions: %v %v", res, err)
	}
	for _, sub := range res.Child(nsPubsubOwner, "pubsub").Child(nsPubsubOwner, "subscriptions").ChildrenNamed(nsPubsubOwner, "subscription") {
		if sub.Attr("jid") == Service && sub.Attr("subscription") == "subscribed" {
			return true
		}
	}
	return false
}

// join sends c's join of roomJID as nick and returns its own presence, or
// the error presence.
func rtblJoin(ctx context.Context, t *testing.T, c *faultClient, roomJID, nick string) *stanza.Element {
	t.Helper()
	c.send(t, `<presence to='`+roomJID+`/`+nick+`'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	p, err := c.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		return e.Local == "presence" && e.Attr("from") == roomJID+"/"+nick &&
			(e.Attr("type") == "error" || strings.Contains(e.String(), "code='110'"))
	})
	if err != nil {
		t.Fatalf("%s joining %s: %v", nick, roomJID, err)
	}
	return p
}

func rtblRefused(t *testing.T, who string, p *stanza.Element) {
	t.Helper()
	if p.Attr("type") != "error" || stanza.ErrorOf(p).Condition != stanza.Forbidden {
		t.Errorf("%s, listed, was not refused with forbidden: %v", who, p)
	}
}

// rtblRemoved waits until c sees nick leave roomJID with status 301.
func rtblRemoved(ctx context.Context, t *testing.T, c *faultClient, roomJID, nick, who string) {
	t.Helper()
	if _, err := c.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		return e.Local == "presence" && e.Attr("from") == roomJID+"/"+nick && e.Attr("type") == "unavailable" &&
			strings.Contains(e.String(), "code='301'")
	}); err != nil {
		t.Fatalf("%s did not see %s removed with 301: %v", who, nick, err)
	}
}

// waitFor polls cond, in-process state of the service, until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not %s within 10 s", what)
		}
	}
}

// TestRTBLProsodyPubsub follows a block list on Prosody's mod_pubsub: the
// entries published before Chorus starts are loaded on subscription; an
// entry published later removes its occupant (301) and keeps them out,
// except where the room has them affiliated; a retraction lets them in
// again. Across a restart of Prosody (the list service and the link go
// down together) Chorus subscribes again, having lost its subscription,
// and the list stays in force.
func TestRTBLProsodyPubsub(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service, LogLevel: "info",
		PubSub: rtblService, PubSubAdmins: []string{rtblPublisher}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The list exists, with three entries, before Chorus starts.
	lists := dialFault(ctx, t, srv.C2SAddr(), rtblPublisher+"/p")
	rtblIQ(ctx, t, lists, "create", nsPubsub, `<create node='`+rtblNode+`'/><configure><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#node_config</value></field>`+
		`<field var='pubsub#max_items'><value>max</value></field></x></configure>`)
	early := []string{"early1@localhost", "early2@localhost", "early3@localhost"}
	for _, u := range early {
		rtblPublish(ctx, t, lists, u)
	}

	// Two more lists fail: a node that does not exist, and a service
	// that cannot be reached (this Prosody has no server-to-server, and
	// answers not-allowed).
	missing := component.RTBLSource{Service: rtblService, Node: "missing"}
	unreachable := component.RTBLSource{Service: "pubsub.example.invalid", Node: rtblNode}
	bl := component.NewBlocklist([]component.RTBLSource{{Service: rtblService, Node: rtblNode}, missing, unreachable})
	up := make(chan struct{}, 1)
	var log lockedBuffer
	stop := runChorus(t, srv.ComponentAddr(), srv.Secret(), room.Options{Blocklist: bl}, func(c *component.Config) {
		c.Logger = zerolog.New(io.MultiWriter(&log, zerolog.NewTestWriter(t))).Level(zerolog.WarnLevel)
		on := c.OnState
		c.OnState = func(ok bool) {
			on(ok)
			if ok {
				select {
				case up <- struct{}{}:
				default:
				}
			}
		}
	})
	defer stop()
	<-up
	// The load runs beside the joins: wait until it arrived.
	waitFor(t, "loaded", func() bool { return bl.Len() == len(early) })
	if !rtblSubscribed(ctx, t, lists, "subs0") {
		t.Fatal("Chorus did not subscribe to the list")
	}
	// Each failing list is logged once, naming it and the error.
	waitFor(t, "logged", func() bool { return strings.Count(log.String(), "block list request failed") >= 2 })
	for src, cond := range map[component.RTBLSource]string{missing: "item-not-found", unreachable: "not-allowed"} {
		var n int
		for _, line := range strings.Split(log.String(), "\n") {
			var f map[string]any
			if json.Unmarshal([]byte(line), &f) == nil && f["message"] == "block list request failed" && f["list"] == src.String() {
				n++
				if f["level"] != "warn" || f["error"] != cond {
					t.Errorf("%s: %s", src, line)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: logged %d times:\n%s", src, n, log.String())
		}
	}

	const roomJID = "hall@" + Service
	owner := dialFault(ctx, t, srv.C2SAddr(), "owner@localhost/o")
	rtblJoin(ctx, t, owner, roomJID, "owner")
	owner.send(t, `<iq type='set' id='cfg' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	owner.expect(ctx, t, "room configured", func(e *stanza.Element) bool { return e.Attr("id") == "cfg" && e.Attr("type") == "result" })
	for i, u := range early {
		c := dialFault(ctx, t, srv.C2SAddr(), u+"/e")
		rtblRefused(t, u, rtblJoin(ctx, t, c, roomJID, "early"+string(rune('1'+i))))
	}

	// A spammer and a member of the room are in; both get listed.
	owner.send(t, `<iq type='set' id='member' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='friend@localhost'/></query></iq>`)
	owner.expect(ctx, t, "membership", func(e *stanza.Element) bool { return e.Attr("id") == "member" && e.Attr("type") == "result" })
	friend := dialFault(ctx, t, srv.C2SAddr(), "friend@localhost/f")
	rtblJoin(ctx, t, friend, roomJID, "friend")
	spammer := dialFault(ctx, t, srv.C2SAddr(), "spammer@localhost/s")
	rtblJoin(ctx, t, spammer, roomJID, "spammer")

	rtblPublish(ctx, t, lists, "friend@localhost")
	sent := time.Now()
	rtblPublish(ctx, t, lists, "spammer@localhost")
	rtblRemoved(ctx, t, spammer, roomJID, "spammer", "the spammer")
	t.Logf("the spammer was removed %v after the publication was sent", time.Since(sent))
	// The notifications are handled in order: once the spammer is out,
	// the member's entry was handled too, and the member stayed.
	var friendLeft bool
	if _, err := owner.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		if e.Local == "presence" && e.Attr("from") == roomJID+"/friend" && e.Attr("type") == "unavailable" {
			friendLeft = true
		}
		return e.Local == "presence" && e.Attr("from") == roomJID+"/spammer" && e.Attr("type") == "unavailable" &&
			strings.Contains(e.String(), "code='301'")
	}); err != nil {
		t.Fatalf("the owner did not see the spammer removed: %v", err)
	}
	if friendLeft {
		t.Error("a member of the room was removed for being listed")
	}
	friend.send(t, `<message type='groupchat' id='still' to='`+roomJID+`'><body>still here</body></message>`)
	friend.expect(ctx, t, "the member still talks", func(e *stanza.Element) bool { return e.Attr("id") == "still" && e.Attr("type") == "groupchat" })
	rtblRefused(t, "the spammer", rtblJoin(ctx, t, spammer, roomJID, "spammer"))

	// Retracted, the spammer may come back.
	rtblIQ(ctx, t, lists, "retract", nsPubsub, `<retract node='`+rtblNode+`' notify='true'><item id='`+rtblHash("spammer@localhost")+`'/></retract>`)
	waitFor(t, "retracted", func() bool { return !bl.Listed("spammer@localhost") })
	if p := rtblJoin(ctx, t, spammer, roomJID, "spammer"); p.Attr("type") == "error" {
		t.Errorf("the retracted spammer was refused: %v", p)
	}

	// The list service forgets Chorus's subscription, and Prosody
	// restarts: only a new subscription brings the next entries.
	rtblIQ(ctx, t, lists, "unsub", nsPubsubOwner, `<subscriptions node='`+rtblNode+`'><subscription jid='`+Service+`' subscription='none'/></subscriptions>`)
	if rtblSubscribed(ctx, t, lists, "subs1") {
		t.Fatal("the subscription was not removed")
	}
	listed := bl.Len()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up:
	case <-ctx.Done():
		t.Fatal("Chorus did not reconnect")
	}
	lists = dialFault(ctx, t, srv.C2SAddr(), rtblPublisher+"/p2")
	waitFor(t, "subscribed again", func() bool { return rtblSubscribed(ctx, t, lists, "subs2") })
	const room2 = "after@" + Service
	owner = dialFault(ctx, t, srv.C2SAddr(), "owner@localhost/o2")
	rtblJoin(ctx, t, owner, room2, "owner")
	owner.send(t, `<iq type='set' id='cfg2' to='`+room2+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	owner.expect(ctx, t, "room configured", func(e *stanza.Element) bool { return e.Attr("id") == "cfg2" && e.Attr("type") == "result" })
	// What was listed before the restart still is.
	if bl.Len() != listed {
		t.Errorf("%d entries after the restart, %d before", bl.Len(), listed)
	}
	c := dialFault(ctx, t, srv.C2SAddr(), early[0]+"/e2")
	rtblRefused(t, early[0]+" after the restart", rtblJoin(ctx, t, c, room2, "early1"))
	// And a new entry removes its occupant.
	late := dialFault(ctx, t, srv.C2SAddr(), "late@localhost/l")
	rtblJoin(ctx, t, late, room2, "late")
	sent = time.Now()
	rtblPublish(ctx, t, lists, "late@localhost")
	rtblRemoved(ctx, t, late, room2, "late", "the user listed after the restart")
	t.Logf("after the restart, the user was removed %v after the publication was sent", time.Since(sent))
	rtblRemoved(ctx, t, owner, room2, "late", "the owner")
}
