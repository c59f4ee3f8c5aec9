package component

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// gatedStore holds up the load or the durable write of one room until the
// test releases it.
type gatedStore struct {
	store.Store
	room string

	mu                  sync.Mutex
	holdLoad, holdWrite bool

	entered chan string   // "load" or "write", when a call is held
	release chan struct{} // closed to let held calls through
}

func (g *gatedStore) hold(what, jid string) {
	g.mu.Lock()
	held := jid == g.room && ((what == "load" && g.holdLoad) || (what == "write" && g.holdWrite))
	g.mu.Unlock()
	if held {
		g.entered <- what
		<-g.release
	}
}

func (g *gatedStore) LoadRoom(ctx context.Context, jid string) (*store.RoomState, error) {
	g.hold("load", jid)
	return g.Store.LoadRoom(ctx, jid)
}

func (g *gatedStore) UpdateRoom(ctx context.Context, u store.RoomUpdate) error {
	g.hold("write", u.JID)
	return g.Store.UpdateRoom(ctx, u)
}

func (g *gatedStore) set(load, write bool) {
	g.mu.Lock()
	g.holdLoad, g.holdWrite = load, write
	g.mu.Unlock()
}

func (g *gatedStore) waitHeld(t *testing.T, what string) {
	t.Helper()
	select {
	case got := <-g.entered:
		if got != what {
			t.Fatalf("store held a %s, want a %s", got, what)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s reached the store", what)
	}
}

// isolationRun starts the service on a fake server with a store that can
// hold up room a. The returned release lets held calls through.
func isolationRun(t *testing.T, a string) (*gatedStore, *fakeConn, func()) {
	t.Helper()
	base, err := store.Open(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	st := &gatedStore{Store: base, room: a, entered: make(chan string, 4), release: make(chan struct{})}
	reg := room.NewRegistry(room.Options{Domain: testDomain, Store: st})
	t.Cleanup(reg.Close)
	srv := newFakeServer(t, testDomain, testSecret)
	hs := startRun(t, testConfig(srv), NewRouter(testDomain, reg))
	var once sync.Once
	release := func() { once.Do(func() { close(st.release) }) }
	t.Cleanup(release) // before the run's own cleanup, which waits for the rooms
	c := srv.next(t)
	hs.waitState(t, true)
	return st, c, release
}

// sameOldWorker returns a room that shared a worker with a when rooms
// were spread over a fixed number of workers (FNV-1a of the bare address
// modulo 1 to 8 workers), so that these tests also cover that layout.
func sameOldWorker(a string) string {
	fnv := func(s string) uint32 {
		h := uint32(2166136261)
		for i := 0; i < len(s); i++ {
			h ^= uint32(s[i])
			h *= 16777619
		}
		return h
	}
	for i := 0; ; i++ {
		b := fmt.Sprintf("fast%d@%s", i, testDomain)
		if fnv(b)%840 == fnv(a)%840 { // 840: every count from 1 to 8 divides it
			return b
		}
	}
}

// readUntilID reads stanzas until one with the id, and returns the
// stanzas read before it.
func readUntilID(t *testing.T, c *fakeConn, id string) []*stanza.Element {
	t.Helper()
	var before []*stanza.Element
	for {
		st := c.read(t)
		if st == nil {
			t.Fatalf("stream closed before %s", id)
		}
		if st.Attr("id") == id {
			return before
		}
		before = append(before, st)
	}
}

// readNext reads the next stanza and checks its id.
func readNext(t *testing.T, c *fakeConn, id, while string) *stanza.Element {
	t.Helper()
	st := c.read(t)
	if st == nil || st.Attr("id") != id {
		t.Fatalf("%s: got %v, want %s", while, st, id)
	}
	return st
}

// openRoom creates a room owned by user, configured with the form fields.
func openRoom(t *testing.T, c *fakeConn, roomJID, user string, fields string) {
	t.Helper()
	c.send(t, `<presence from='`+user+`' to='`+roomJID+`/owner' id='j-`+roomJID+`'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	c.send(t, `<iq type='set' id='cfg-`+roomJID+`' from='`+user+`' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'>`+
		`<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+
		fields+`</x></query></iq>`)
	if st := c.read(t); st == nil {
		t.Fatal("no answer to the join")
	}
	readUntilID(t, c, "cfg-"+roomJID)
}

// TestSlowLoadHoldsUpOnlyItsRoom: while the store loads one room, a room
// that shared that room's worker is served; then the loading room's queued
// stanzas are handled, in order.
func TestSlowLoadHoldsUpOnlyItsRoom(t *testing.T) {
	a := "slow@" + testDomain
	b := sameOldWorker(a)
	st, c, release := isolationRun(t, a)
	openRoom(t, c, b, "bob@localhost/x", "")
	st.set(true, false)

	c.send(t, `<presence from='alice@localhost/x' to='`+a+`/alice' id='ja'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	st.waitHeld(t, "load")
	for _, id := range []string{"a1", "a2", "a3"} {
		c.send(t, `<iq type='get' id='`+id+`' from='alice@localhost/x' to='`+a+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	}
	c.send(t, `<message type='groupchat' id='m1' from='bob@localhost/x' to='`+b+`'><body>hi</body></message>`)
	readNext(t, c, "m1", "while another room loads")

	release()
	if before := readUntilID(t, c, "a1"); len(before) == 0 || before[0].Local != "presence" {
		t.Errorf("join not answered before the query: %v", before)
	}
	readNext(t, c, "a2", "the loading room's stanzas in order")
	readNext(t, c, "a3", "the loading room's stanzas in order")
}

// TestSlowWriteHoldsUpOnlyItsChanges: while a change to one room waits for
// its durable write, that room still answers another user's disco#info,
// and a room that shared its worker is served; the change is acknowledged
// once stored, and its sender's next stanza is handled after it.
func TestSlowWriteHoldsUpOnlyItsChanges(t *testing.T) {
	a := "slow@" + testDomain
	b := sameOldWorker(a)
	st, c, release := isolationRun(t, a)
	openRoom(t, c, a, "alice@localhost/x", `<field var='muc#roomconfig_persistentroom'><value>1</value></field>`)
	openRoom(t, c, b, "bob@localhost/x", "")
	st.set(false, true)

	c.send(t, `<iq type='set' id='w' from='alice@localhost/x' to='`+a+`'><query xmlns='http://jabber.org/protocol/muc#admin'>`+
		`<item affiliation='member' jid='carol@localhost'/></query></iq>`)
	st.waitHeld(t, "write")
	c.send(t, `<iq type='get' id='d0' from='alice@localhost/x' to='`+a+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	c.send(t, `<iq type='get' id='d1' from='dave@localhost/x' to='`+a+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if res := readNext(t, c, "d1", "disco#info to the room being written"); res.Attr("type") != "result" {
		t.Errorf("disco#info: %v", res)
	}
	c.send(t, `<message type='groupchat' id='m1' from='bob@localhost/x' to='`+b+`'><body>hi</body></message>`)
	readNext(t, c, "m1", "while another room writes")

	release()
	readUntilID(t, c, "w")
	readNext(t, c, "d0", "the sender's next stanza after its change")
}

// TestFullRoomQueueRefusesOnlyThatRoom: a room whose handling is stuck gets
// its stanzas beyond the queue bound refused with wait/resource-constraint,
// while the reader goes on and other rooms are served.
func TestFullRoomQueueRefusesOnlyThatRoom(t *testing.T) {
	a := "stuck@" + testDomain
	b := sameOldWorker(a)
	srv := newFakeServer(t, testDomain, testSecret)
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		if st.Attr("to") == a {
			<-release
		}
		return []room.Out{room.To1(st.Attr("from"), stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", st.Attr("id"), "type", "result"))}
	}}
	hs := startRun(t, testConfig(srv), h)
	t.Cleanup(free)
	c := srv.next(t)
	hs.waitState(t, true)

	const n = roomQueueLen + 8
	for i := range n {
		c.send(t, fmt.Sprintf(`<iq from='u@localhost/x' to='%s' id='q%d' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`, a, i))
	}
	c.send(t, `<iq from='u@localhost/x' to='`+b+`' id='b1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	refused := map[string]bool{}
	for {
		st := c.read(t)
		if st.Attr("id") == "b1" {
			break
		}
		if cond := st.FirstChild().FirstChild(); st.Attr("type") != "error" || cond == nil || cond.Local != "resource-constraint" {
			t.Fatalf("while the room is stuck: %v", st)
		}
		refused[st.Attr("id")] = true
	}
	if len(refused) == 0 || len(refused) > n-roomQueueLen {
		t.Errorf("%d stanzas refused, want up to %d", len(refused), n-roomQueueLen)
	}
	free()
	for i := range n {
		if id := fmt.Sprintf("q%d", i); !refused[id] {
			readNext(t, c, id, "the stuck room's queue in order")
		}
	}
}
