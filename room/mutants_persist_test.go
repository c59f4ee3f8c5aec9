package room

import (
	"testing"
	"time"
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
