package component

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"chorus/room"
	"chorus/stanza"
)

func jidHash(bare string) string {
	sum := sha256.Sum256([]byte(bare))
	return hex.EncodeToString(sum[:])
}

func TestParseRTBLSource(t *testing.T) {
	for in, want := range map[string]RTBLSource{
		"xmppbl.org/muc_bans_sha256":      {"xmppbl.org", "muc_bans_sha256"},
		" pubsub.localhost/a/b ":          {"pubsub.localhost", "a/b"},
		"Pubsub.Example.ORG/muc_bans_sha": {"pubsub.example.org", "muc_bans_sha"},
	} {
		got, err := ParseRTBLSource(in)
		if err != nil || got != want {
			t.Errorf("%q: %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "xmppbl.org", "xmppbl.org/", "/node"} {
		if _, err := ParseRTBLSource(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

// readStanzaUntil reads stanzas from the component until one satisfies ok.
func readStanzaUntil(t *testing.T, c *fakeConn, ok func(*stanza.Element) bool) *stanza.Element {
	t.Helper()
	for {
		st := c.read(t)
		if st == nil {
			t.Fatal("stream closed")
		}
		if ok(st) {
			return st
		}
	}
}

// TestRTBLFollowsLists: after link-up the service subscribes to the list
// and loads it; a listed user is refused, an occupant who becomes listed
// is removed with 301, a retraction lets the user in again; after a
// reconnection the subscription and the load are sent again.
func TestRTBLFollowsLists(t *testing.T) {
	const svc = "pubsub.localhost"
	const node = "muc_bans_sha256"
	srv := newFakeServer(t, testDomain, testSecret)
	bl := NewBlocklist([]RTBLSource{{svc, node}})
	reg := room.NewRegistry(room.Options{Domain: testDomain, Blocklist: bl})
	defer reg.Close()
	hs := startRun(t, testConfig(srv), NewRouter(testDomain, reg).WithBlocklist(bl))
	c := srv.next(t)
	hs.waitState(t, true)

	sub := c.read(t)
	if sub.Attr("type") != "set" || sub.Attr("to") != svc || sub.Attr("from") != testDomain ||
		sub.Child(nsPubsub, "pubsub").Child(nsPubsub, "subscribe").Attr("node") != node ||
		sub.Child(nsPubsub, "pubsub").Child(nsPubsub, "subscribe").Attr("jid") != testDomain {
		t.Fatalf("subscription: %v", sub)
	}
	load := c.read(t)
	if load.Attr("type") != "get" || load.Child(nsPubsub, "pubsub").Child(nsPubsub, "items").Attr("node") != node {
		t.Fatalf("load: %v", load)
	}
	c.send(t, `<iq type='result' from='`+svc+`' to='`+testDomain+`' id='`+sub.Attr("id")+`'/>`)
	c.send(t, `<iq type='result' from='`+svc+`' to='`+testDomain+`' id='`+load.Attr("id")+`'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='`+node+`'>`+
		`<item id='`+jidHash("mallory@localhost")+`'/><item id='not-a-hash'/></items></pubsub></iq>`)

	// The service's stanzas and a room's run side by side: wait for the
	// list to change before a join that depends on it.
	waitListed := func(bare string, want bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); bl.Listed(bare) != want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s listed: %v, want %v", bare, !want, want)
			}
		}
	}
	waitListed("mallory@localhost", true)
	const roomJID = "room@" + testDomain
	joinFrom := func(full, nick string) {
		c.send(t, `<presence from='`+full+`' to='`+roomJID+`/`+nick+`'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	}
	joinFrom("alice@localhost/a", "alice")
	c.send(t, `<iq from='alice@localhost/a' to='`+roomJID+`' type='set' id='cfg'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	readStanzaUntil(t, c, func(st *stanza.Element) bool { return st.Attr("id") == "cfg" })
	joinFrom("mallory@localhost/m", "mallory")
	if e := readStanzaUntil(t, c, func(st *stanza.Element) bool { return st.Attr("to") == "mallory@localhost/m" }); stanza.ErrorOf(e).Condition != stanza.Forbidden {
		t.Fatalf("listed user: %v", e)
	}
	if bl.Len() != 1 || bl.Updated().IsZero() {
		t.Errorf("entries %d, updated %v", bl.Len(), bl.Updated())
	}

	joinFrom("bob@localhost/b", "bob")
	readStanzaUntil(t, c, func(st *stanza.Element) bool { return st.Attr("to") == "bob@localhost/b" && st.Local == "message" })
	// Bob is listed: he is removed with 301.
	c.send(t, `<message from='`+svc+`' to='`+testDomain+`'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='`+node+`'><item id='`+jidHash("bob@localhost")+`'/></items></event></message>`)
	p := readStanzaUntil(t, c, func(st *stanza.Element) bool { return st.Attr("to") == "bob@localhost/b" })
	if p.Attr("type") != "unavailable" || !containsStatus(p, "301") {
		t.Errorf("removal: %v", p)
	}
	// Mallory is retracted: she may enter.
	c.send(t, `<message from='`+svc+`' to='`+testDomain+`'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='`+node+`'><retract id='`+jidHash("mallory@localhost")+`'/></items></event></message>`)
	waitListed("mallory@localhost", false)
	joinFrom("mallory@localhost/m", "mallory")
	if p := readStanzaUntil(t, c, func(st *stanza.Element) bool { return st.Attr("to") == "mallory@localhost/m" }); p.Attr("type") == "error" {
		t.Errorf("retracted user refused: %v", p)
	}
	// A notification from anyone else changes nothing.
	c.send(t, `<message from='evil.example' to='`+testDomain+`'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='`+node+`'><item id='`+jidHash("alice@localhost")+`'/></items></event></message>`)

	// The link comes back: subscribe and load again.
	c.c.Close()
	hs.waitState(t, false)
	c = srv.next(t)
	hs.waitState(t, true)
	readStanzaUntil(t, c, func(st *stanza.Element) bool {
		return st.Local == "iq" && st.Child(nsPubsub, "pubsub") != nil && st.Child(nsPubsub, "pubsub").Child(nsPubsub, "subscribe") != nil
	})
	if bl.Len() != 1 || !bl.Listed("bob@localhost") || bl.Listed("alice@localhost") {
		t.Errorf("list after the notifications: %d entries", bl.Len())
	}
}

func containsStatus(p *stanza.Element, code string) bool {
	x := p.Child(room.NSMUCUser, "x")
	if x == nil {
		return false
	}
	for _, s := range x.ChildrenNamed(room.NSMUCUser, "status") {
		if s.Attr("code") == code {
			return true
		}
	}
	return false
}

// TestRTBLReload: the lists are asked for again every reload interval.
func TestRTBLReload(t *testing.T) {
	reg := room.NewRegistry(room.Options{Domain: testDomain})
	defer reg.Close()
	rt := NewRouter(testDomain, reg).WithBlocklist(NewBlocklist([]RTBLSource{{"pubsub.localhost", "n"}}))
	now := time.Now()
	if rt.rtblDue(now.Add(time.Hour)) {
		t.Error("a reload is due before the link came up")
	}
	if outs := rt.LinkUp(); len(outs) != 2 {
		t.Fatalf("link-up: %v", outs)
	}
	if rt.rtblDue(now.Add(time.Minute)) {
		t.Error("reload due after a minute")
	}
	due := rt.Due(now.Add(rtblReloadInterval + time.Second))
	if len(due) != 1 || due[0] != testDomain {
		t.Fatalf("due: %v", due)
	}
	if outs := rt.Fire(testDomain); len(outs) != 2 {
		t.Errorf("reload: %v", outs)
	}
	if NewRouter(testDomain, reg).LinkUp() != nil {
		t.Error("link-up stanzas without block lists")
	}
}
