package room

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"chorus/stanza"
	"chorus/store"
)

// gatedStore holds up the load or the durable write of one room until the
// test releases it, and counts loads. It wraps memStore.
type gatedStore struct {
	*memStore
	room string

	mu                  sync.Mutex
	holdLoad, holdWrite bool
	loads               map[string]int
	writes              int
	wrote               chan error // each write's result, when someone listens

	entered chan string   // "load" or "write", when a call is held
	release chan struct{} // closed to let held calls through
}

func newGatedStore(room string) *gatedStore {
	return &gatedStore{memStore: newMemStore(), room: room, loads: map[string]int{},
		entered: make(chan string, 16), release: make(chan struct{}), wrote: make(chan error, 64)}
}

func (g *gatedStore) hold(what string, jid string) {
	g.mu.Lock()
	held := jid == g.room && ((what == "load" && g.holdLoad) || (what == "write" && g.holdWrite))
	g.mu.Unlock()
	if held {
		g.entered <- what
		<-g.release
	}
}

func (g *gatedStore) LoadRoom(ctx context.Context, jid string) (*store.RoomState, error) {
	g.mu.Lock()
	g.loads[jid]++
	g.mu.Unlock()
	g.hold("load", jid)
	return g.memStore.LoadRoom(ctx, jid)
}

func (g *gatedStore) UpdateRoom(ctx context.Context, u store.RoomUpdate) error {
	g.hold("write", u.JID)
	err := g.memStore.UpdateRoom(ctx, u)
	g.mu.Lock()
	g.writes++
	g.mu.Unlock()
	select {
	case g.wrote <- err:
	default:
	}
	return err
}

func (g *gatedStore) writeCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes
}

func (g *gatedStore) loadsOf(jid string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.loads[jid]
}

// waitHeld waits until a call of the kind is held in the store.
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

// within runs f in a goroutine and returns its stanzas, or fails the test
// when f has not returned by the deadline (which only bounds the wait: f
// is expected to return at once).
func within(t *testing.T, what string, f func() []*stanza.Element) []*stanza.Element {
	t.Helper()
	done := make(chan []*stanza.Element, 1)
	go func() { done <- f() }()
	select {
	case out := <-done:
		return out
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer while another room's store call is held up", what)
		return nil
	}
}

const room2 = "other@conference.localhost"

// TestSlowLoadHoldsUpOnlyItsRoom: while the store takes its time loading
// one room, a live room is served, and stanzas for the loading room wait
// for that one load instead of loading again.
func TestSlowLoadHoldsUpOnlyItsRoom(t *testing.T) {
	st := newGatedStore(room1)
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.g.Shutdown()
	h.g.Close()
	h = newStoreHarness(t, st, nil) // the stored room is not in memory
	var once sync.Once
	free := func() { once.Do(func() { close(st.release) }) }
	t.Cleanup(free)
	h.send(nurse, strings.Replace(join("Nurse"), room1, room2, 1))
	loadsBefore := st.loadsOf(room1)
	st.mu.Lock()
	st.holdLoad = true
	st.mu.Unlock()

	first := make(chan []*stanza.Element, 1)
	go func() { first <- h.send(romeo, join("Romeo")) }()
	st.waitHeld(t, "load")
	second := make(chan []*stanza.Element, 1)
	go func() {
		second <- h.send(juliet, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	}()

	out := within(t, "message to a live room", func() []*stanza.Element {
		return h.send(nurse, `<message type='groupchat' id='m' to='`+room2+`'><body>hi</body></message>`)
	})
	if len(pick(out, nurse, "message")) != 1 {
		t.Errorf("message to the live room not delivered: %v", out)
	}

	free()
	if self := pick(<-first, romeo, "presence"); len(self) == 0 || !strings.HasSuffix(codes(self[len(self)-1]), "110") {
		t.Errorf("join after the load: %v", self)
	}
	if out := <-second; len(out) != 1 || out[0].Attr("type") != "result" {
		t.Errorf("query after the load: %v", out)
	}
	if n := st.loadsOf(room1) - loadsBefore; n != 1 {
		t.Errorf("room loaded %d times, want once", n)
	}
}

// TestSlowWriteHoldsUpOnlyChanges: while a change to a room waits for its
// durable write, the room still answers what only reads it, from the
// state the store holds, and other rooms go on; the change is announced
// once the store has it.
func TestSlowWriteHoldsUpOnlyChanges(t *testing.T) {
	st := newGatedStore(room1)
	h := newStoreHarness(t, st, nil)
	var once sync.Once
	free := func() { once.Do(func() { close(st.release) }) }
	t.Cleanup(free)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(juliet, join("Juliet"))
	h.send(nurse, strings.Replace(join("Nurse"), room1, room2, 1))
	st.mu.Lock()
	st.holdWrite = true
	st.mu.Unlock()

	change := make(chan []*stanza.Element, 1)
	go func() {
		change <- h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	}()
	st.waitHeld(t, "write")

	out := within(t, "disco#info to the room being written", func() []*stanza.Element {
		return h.send(juliet, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	})
	if len(out) != 1 || out[0].Attr("type") != "result" {
		t.Errorf("disco#info: %v", out)
	}
	out = within(t, "member list of the room being written", func() []*stanza.Element {
		return h.send(romeo, `<iq type='get' id='l' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`)
	})
	if len(out) != 1 || strings.Contains(out[0].String(), "juliet@localhost") {
		t.Errorf("a change not yet stored is visible: %v", out)
	}
	out = within(t, "message in the room being written", func() []*stanza.Element {
		return h.send(juliet, `<message type='groupchat' id='m1' to='`+room1+`'><body>still here</body></message>`)
	})
	if len(pick(out, romeo, "message")) != 1 {
		t.Errorf("message not delivered: %v", out)
	}
	out = within(t, "message to another room", func() []*stanza.Element {
		return h.send(nurse, `<message type='groupchat' id='m2' to='`+room2+`'><body>hi</body></message>`)
	})
	if len(pick(out, nurse, "message")) != 1 {
		t.Errorf("message to another room not delivered: %v", out)
	}

	select {
	case out := <-change:
		t.Fatalf("change acknowledged before it was stored: %v", out)
	default:
	}
	free()
	if res := pick(<-change, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		t.Errorf("change not acknowledged once stored: %v", res)
	}
	out = h.send(romeo, `<iq type='get' id='l' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`)
	if !strings.Contains(out[0].String(), "juliet@localhost") {
		t.Errorf("stored change not in place: %v", out)
	}
}

// TestAbsentRoomAsksStoreOnce: stanzas to a room that does not exist ask
// the store once within a few seconds, not once each; creating the room
// is not hidden by that.
func TestAbsentRoomAsksStoreOnce(t *testing.T) {
	st := newGatedStore(room1)
	h := newStoreHarness(t, st, nil)
	disco := `<iq type='get' id='i' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`
	for i := range 5 {
		if out := h.send(juliet, disco); len(out) != 1 || condition(out[0]) != "cancel/item-not-found" {
			t.Fatalf("%d: %v", i, out)
		}
	}
	if n := st.loadsOf(room1); n != 1 {
		t.Errorf("store asked %d times for a room that does not exist, want once", n)
	}
	h.advance(time.Minute)
	h.send(juliet, disco)
	if n := st.loadsOf(room1); n != 2 {
		t.Errorf("store asked %d times after the cache expired, want 2", n)
	}
	if out := h.send(romeo, join("Romeo")); len(out) == 0 || codes(out[0]) != "201,110" {
		t.Errorf("room creation after a negative look-up: %v", out)
	}
	if out := h.send(juliet, disco); len(out) != 1 || out[0].Attr("type") != "result" {
		t.Errorf("created room hidden: %v", out)
	}
}

// TestFailedWriteRetriedInBackground: state that a failed write left
// unstored is retried in the background, not by every later stanza (each
// of which would wait for the failing store again), and reaches the store
// once it works.
func TestFailedWriteRetriedInBackground(t *testing.T) {
	st := newGatedStore(room1)
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(juliet, join("Juliet"))
	h.g.mu.Lock()
	r := h.g.rooms[room1]
	h.g.mu.Unlock()
	st.memStore.mu.Lock()
	st.fail = true
	st.memStore.mu.Unlock()
	r.mu.Lock()
	r.dirtyData = true // changed with nobody waiting for an answer
	r.mu.Unlock()
	for len(st.wrote) > 0 {
		<-st.wrote
	}
	before := st.writeCount()
	for i := range 5 {
		if out := h.send(nurse, join("Nurse")); len(pick(out, nurse, "presence")) == 0 {
			t.Fatalf("%d: join not answered: %v", i, out)
		}
		h.send(nurse, `<presence type='unavailable' to='`+room1+`/Nurse'/>`)
	}
	// One attempt by the first stanza, and a few by the background writer
	// if this loop was slow; not one per stanza.
	if n := st.writeCount() - before; n >= 5 {
		t.Errorf("%d writes for 10 presences while the store fails: the failed state is retried per stanza", n)
	}
	st.memStore.mu.Lock()
	st.fail = false
	st.memStore.mu.Unlock()
	for {
		select {
		case err := <-st.wrote:
			if err != nil {
				continue
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the unstored state was never written")
		}
		break
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirtyData || !r.stored {
		t.Error("room still has unstored state")
	}
}
