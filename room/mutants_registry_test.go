package room

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"chorus/store"
)

const destroyReq = `<iq type='set' id='d' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy/></query></iq>`

// TestTombstoneLifetime: a destroyed persistent room's address stays gone for the
// service's tombstone time, 31 days unless configured (XEP-0045 §10.9
// leaves it to the service), and is free again just after.
func TestTombstoneLifetime(t *testing.T) {
	for i, tc := range [...]struct {
		ttl   time.Duration // Options.TombstoneTTL
		after time.Duration
		gone  bool
	}{
		0: {0, 31*24*time.Hour - time.Second, true},
		1: {0, 31 * 24 * time.Hour, true},
		2: {0, 31*24*time.Hour + time.Second, false},
		3: {time.Hour, time.Hour, true},
		4: {time.Hour, time.Hour + time.Second, false},
	} {
		h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		h.g = NewRegistry(Options{Domain: "conference.localhost", Now: h.clock, TombstoneTTL: tc.ttl})
		h.createRoom("muc#roomconfig_persistentroom", "1")
		h.send(romeo, destroyReq)
		h.advance(tc.after)
		out := h.send(juliet, join("Juliet"))
		if gone := len(out) == 1 && condition(out[0]) == "cancel/gone"; gone != tc.gone {
			t.Errorf("%d: gone %v, want %v: %v", i, gone, tc.gone, out)
		}
	}
}

// TestMessageIDsFromOptions: a groupchat message sent without an id gets
// one from Options.NewID, the service's source of ids.
func TestMessageIDsFromOptions(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>hi</body></message>`)
	id := pick(out, romeo, "message")[0].Attr("id")
	if len(id) < 3 || id[:2] != "id" {
		t.Errorf("message id %q not from Options.NewID", id)
	}
}

// countingStore records the size of each Append.
type countingStore struct {
	*memStore
	mu      sync.Mutex
	appends []int
}

func (c *countingStore) Append(ctx context.Context, msgs []store.Message) error {
	c.mu.Lock()
	c.appends = append(c.appends, len(msgs))
	c.mu.Unlock()
	return c.memStore.Append(ctx, msgs)
}

// TestArchiveWritesFullBatchesAtOnce: the archive queue writes a full
// batch in one transaction as soon as it is full, without waiting for the
// flush tick, and lets a partial batch wait for the tick.
func TestArchiveWritesFullBatchesAtOnce(t *testing.T) {
	for i, n := range [...]int{0: archiveBatch - 1, 1: archiveBatch} {
		synctest.Test(t, func(t *testing.T) {
			st := &countingStore{memStore: newMemStore()}
			a := newArchiver(st, nil)
			for k := range n {
				a.ch <- archiveOp{msg: &store.Message{Room: room1, ID: fmt.Sprint(k)}}
			}
			synctest.Wait()
			st.mu.Lock()
			got := fmt.Sprint(st.appends)
			st.mu.Unlock()
			want := "[]"
			if n == archiveBatch {
				want = fmt.Sprint([]int{archiveBatch})
			}
			if got != want {
				t.Errorf("%d: appends before the tick %s, want %s", i, got, want)
			}
			time.Sleep(archiveFlushEvery)
			synctest.Wait()
			st.mu.Lock()
			got = fmt.Sprint(st.appends)
			st.mu.Unlock()
			if want := fmt.Sprint([]int{n}); got != want {
				t.Errorf("%d: appends after the tick %s, want %s", i, got, want)
			}
			close(a.ch)
			<-a.done
		})
	}
}
