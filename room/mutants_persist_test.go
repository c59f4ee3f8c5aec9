package room

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"chorus/stanza"
	"chorus/store"
)

// TestRoomLeavesAfterBackgroundWrite: an empty persistent room stays in
// memory while its state is unstored, and leaves once the background
// writer has stored it, with no stanza to trigger that.
func TestRoomLeavesAfterBackgroundWrite(t *testing.T) {
	st := newGatedStore(room1)
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.g.mu.Lock()
	r := h.g.rooms[room1]
	h.g.mu.Unlock()
	st.memStore.mu.Lock()
	st.fail = true
	st.memStore.mu.Unlock()
	r.mu.Lock()
	r.dirtyData = true // changed with nobody waiting for an answer
	r.mu.Unlock()
	h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
	h.g.mu.Lock()
	live := h.g.rooms[room1] != nil
	h.g.mu.Unlock()
	if !live {
		t.Fatal("the room left memory with its state unstored")
	}
	st.memStore.mu.Lock()
	st.fail = false
	st.memStore.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.g.mu.Lock()
		live = h.g.rooms[room1] != nil
		h.g.mu.Unlock()
		if !live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the room never left memory after its state was stored")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dirtyData || !r.stored {
		t.Error("the room left with unstored state")
	}
}

// flakyStore refuses the next failures room writes, then writes.
type flakyStore struct {
	*memStore
	mu       sync.Mutex
	failures int
	attempts int
}

func (f *flakyStore) UpdateRoom(ctx context.Context, u store.RoomUpdate) error {
	f.mu.Lock()
	f.attempts++
	fail := f.failures > 0
	if fail {
		f.failures--
	}
	f.mu.Unlock()
	if fail {
		return errFail
	}
	return f.memStore.UpdateRoom(ctx, u)
}

func (f *flakyStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts
}

// TestBackgroundWriteBacksOff: a background write the store keeps
// refusing is retried after 0.5 s, then after twice as long each time,
// not at once (the store is likely down); in fake time.
func TestBackgroundWriteBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &flakyStore{memStore: newMemStore()}
		h := newStoreHarness(t, st, nil)
		h.createRoom("muc#roomconfig_persistentroom", "1")
		synctest.Wait()
		st.mu.Lock()
		st.failures, st.attempts = 20, 0 // a bound for a writer that would not wait
		st.mu.Unlock()
		h.g.mu.Lock()
		r := h.g.rooms[room1]
		h.g.mu.Unlock()
		r.mu.Lock()
		r.dirtyData = true // changed with nobody waiting for an answer
		r.scheduleFlush()
		r.mu.Unlock()
		// Attempts at 0.5, 1.5, 3.5 and 7.5 s.
		time.Sleep(8 * time.Second)
		synctest.Wait()
		if n := st.count(); n != 4 {
			t.Errorf("%d attempts in 8 s of a refusing store, want 4", n)
		}
	})
}

// TestFailAcksReplacesOnlyTheSendersResult: when a change could not be
// stored, the sender's success reply becomes an error; the rest of what
// the room sends stays.
func TestFailAcksReplacesOnlyTheSendersResult(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	r := h.g.rooms[room1]
	in := stanza.MustParse(`<iq type='set' id='c1' from='` + romeo + `' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#admin'/></iq>`)
	req := &request{st: in, from: romeo, bare: "romeo@localhost", to: room1, typ: "set"}
	ok := stanza.New(NSClient, "iq", "type", "result", "id", "c1", "from", room1)
	other := stanza.New(NSClient, "iq", "type", "result", "id", "c1", "from", room1)
	differentID := stanza.New(NSClient, "iq", "type", "result", "id", "c2", "from", room1)
	msg := stanza.New(NSClient, "message", "id", "c1", "from", room1)
	r.mu.Lock()
	r.out = []Out{To1(romeo, ok), To1(juliet, other), To1(romeo, differentID), To1(romeo, msg), {To: []string{romeo, juliet}, Stanza: ok}}
	r.failAcks(req, errFail)
	got := append([]Out(nil), r.out...)
	r.out = nil
	r.failAcks(nil, errFail) // no sender: nothing to replace, no panic
	r.mu.Unlock()
	if st := got[0].Stanza; st.Attr("type") != "error" || condition(st) != "wait/internal-server-error" || got[0].To[0] != romeo {
		t.Errorf("the sender's result: %v", st)
	}
	for i, want := range []*stanza.Element{other, differentID, msg, ok} {
		if got[i+1].Stanza != want {
			t.Errorf("out %d replaced: %v", i+1, got[i+1].Stanza)
		}
	}
}
