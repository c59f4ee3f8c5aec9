package component

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

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
	hs := startRun(t, testConfig(srv), NewRouter(testDomain, reg).WithBlocklist(bl, zerolog.Nop()))
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
	rt := NewRouter(testDomain, reg).WithBlocklist(NewBlocklist([]RTBLSource{{"pubsub.localhost", "n"}}), zerolog.Nop())
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

// rtblIDs returns the ids of the subscription and the load that outs
// (one round for one list) ask for.
func rtblIDs(t *testing.T, outs []room.Out) (sub, load string) {
	t.Helper()
	if len(outs) != 2 {
		t.Fatalf("round: %v", outs)
	}
	return outs[0].Stanza.Attr("id"), outs[1].Stanza.Attr("id")
}

// logLines decodes the JSON lines of a log.
func logLines(t *testing.T, buf *strings.Builder) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var f map[string]any
		if err := json.Unmarshal([]byte(l), &f); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, f)
	}
	return lines
}

// TestRTBLRefusalLoggedAndRetried: a list service that refuses the
// subscription and the load (the node is missing) is logged once per
// round, naming the list and the error, and asked again well before the
// periodic reload, later after each failed round; a round that goes
// through loads the list.
func TestRTBLRefusalLoggedAndRetried(t *testing.T) {
	const svc, node = "pubsub.localhost", "muc_bans_sha256"
	var buf strings.Builder
	bl := NewBlocklist([]RTBLSource{{svc, node}})
	reg := room.NewRegistry(room.Options{Domain: testDomain, Blocklist: bl})
	defer reg.Close()
	rt := NewRouter(testDomain, reg).WithBlocklist(bl, zerolog.New(&buf))
	refuse := func(id string) {
		t.Helper()
		if outs := rt.HandleStanza(stanza.MustParse(`<iq type='error' from='` + svc + `' to='` + testDomain + `' id='` + id + `'>` +
			`<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)); len(outs) != 0 {
			t.Errorf("answered an error: %v", outs)
		}
	}
	for round, retry := range []time.Duration{rtblRetryInterval, 2 * rtblRetryInterval} {
		var sub, load string
		if round == 0 {
			sub, load = rtblIDs(t, rt.LinkUp())
		} else {
			sub, load = rtblIDs(t, rt.Fire(testDomain))
		}
		refuse(sub)
		refuse(load)
		refuse(load) // a duplicate answer is not logged again
		lines := logLines(t, &buf)
		if len(lines) != round+1 {
			t.Fatalf("round %d: %d log lines: %s", round, len(lines), buf.String())
		}
		l := lines[round]
		if l["level"] != "warn" || l["list"] != svc+"/"+node || l["error"] != "item-not-found" || l["message"] != "block list request failed" {
			t.Errorf("round %d: %v", round, l)
		}
		if rt.rtblDue(time.Now().Add(retry - time.Second)) {
			t.Errorf("round %d: retried before %v", round, retry)
		}
		if !rt.rtblDue(time.Now().Add(retry + time.Second)) {
			t.Fatalf("round %d: not retried after %v", round, retry)
		}
	}
	// The node is there now: the round goes through and loads the list.
	sub, load := rtblIDs(t, rt.Fire(testDomain))
	rt.HandleStanza(stanza.MustParse(`<iq type='result' from='` + svc + `' to='` + testDomain + `' id='` + sub + `'/>`))
	rt.HandleStanza(stanza.MustParse(`<iq type='result' from='` + svc + `' to='` + testDomain + `' id='` + load + `'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='` + node + `'>` +
		`<item id='` + jidHash("mallory@localhost") + `'/></items></pubsub></iq>`))
	if !bl.Listed("mallory@localhost") {
		t.Error("list not loaded")
	}
	if rt.rtblDue(time.Now().Add(rtblReloadInterval - time.Second)) {
		t.Error("a round that went through is followed by a retry")
	}
	if n := len(logLines(t, &buf)); n != 2 {
		t.Errorf("%d log lines", n)
	}
}

// TestRTBLPaged: a list service that pages the items (XEP-0059 result set
// in XEP-0060 §6.5.4) is asked for the next page after the last item it
// sent, until the count is reached; the list changes only once it is
// whole.
func TestRTBLPaged(t *testing.T) {
	const svc, node = "pubsub.localhost", "muc_bans_sha256"
	bl := NewBlocklist([]RTBLSource{{svc, node}})
	reg := room.NewRegistry(room.Options{Domain: testDomain, Blocklist: bl})
	defer reg.Close()
	rt := NewRouter(testDomain, reg).WithBlocklist(bl, zerolog.Nop())
	_, load := rtblIDs(t, rt.LinkUp())
	users := []string{"a@localhost", "b@localhost", "c@localhost", "d@localhost", "e@localhost"}
	page := func(id string, from, to int) []room.Out {
		t.Helper()
		var items string
		for _, u := range users[from:to] {
			items += `<item id='` + jidHash(u) + `'/>`
		}
		return rt.HandleStanza(stanza.MustParse(`<iq type='result' from='` + svc + `' to='` + testDomain + `' id='` + id + `'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='` + node + `'>` +
			items + `</items><set xmlns='http://jabber.org/protocol/rsm'><first index='` + fmt.Sprint(from) + `'>` + jidHash(users[from]) + `</first><last>` + jidHash(users[to-1]) + `</last><count>5</count></set></pubsub></iq>`))
	}
	for _, p := range [][2]int{{0, 2}, {2, 4}} {
		outs := page(load, p[0], p[1])
		if len(outs) != 1 {
			t.Fatalf("page %v: %v", p, outs)
		}
		next := outs[0].Stanza
		ps := next.Child(nsPubsub, "pubsub")
		if next.Attr("type") != "get" || next.Attr("to") != svc || ps.Child(nsPubsub, "items").Attr("node") != node ||
			ps.Child(stanza.NSRSM, "set").ChildText(stanza.NSRSM, "after") != jidHash(users[p[1]-1]) {
			t.Fatalf("after page %v: %v", p, next)
		}
		if bl.Len() != 0 {
			t.Fatalf("list changed before it was whole: %d", bl.Len())
		}
		load = next.Attr("id")
	}
	if outs := page(load, 4, 5); len(outs) != 0 {
		t.Fatalf("after the last page: %v", outs)
	}
	if bl.Len() != 5 || !bl.Listed("a@localhost") || !bl.Listed("e@localhost") {
		t.Errorf("%d entries", bl.Len())
	}
}
