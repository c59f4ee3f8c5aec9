package room

import (
	"fmt"
	"testing"
	"time"
)

// TestDeferredPresenceDueExactly: a presence update over the rate is due
// when the bucket holds a token again: after (1 - tokens) / rate, not a
// moment before.
func TestDeferredPresenceDueExactly(t *testing.T) {
	h := newLimitedHarness(t, Limits{PresenceRate: 0.5, PresenceBurst: 2})
	h.createRoom()
	h.send(juliet, join("Juliet"))
	show := func(s string) string {
		return `<presence to='` + room1 + `/Juliet'><show>` + s + `</show></presence>`
	}
	h.send(juliet, show("away")) // the last token
	if out := h.send(juliet, show("xa")); len(out) != 0 {
		t.Fatalf("update over the rate sent: %v", out)
	}
	h.advance(2*time.Second - time.Millisecond)
	if due := h.g.Due(h.clock()); len(due) != 0 {
		t.Errorf("due before the token: %v", due)
	}
	h.advance(time.Millisecond)
	if due := h.g.Due(h.clock()); len(due) != 1 {
		t.Errorf("not due with the token: %v", due)
	}
}

// TestMessageRateRefillsAtRate: with two messages a second, a drained
// bucket holds a token again after exactly half a second.
func TestMessageRateRefillsAtRate(t *testing.T) {
	h := newLimitedHarness(t, Limits{MessageRate: 2, MessageBurst: 1})
	h.createRoom()
	msg := `<message type='groupchat' to='` + room1 + `'><body>x</body></message>`
	for i, tc := range [...]struct {
		after time.Duration
		ok    bool
	}{
		0: {0, true},
		1: {0, false},
		2: {499 * time.Millisecond, false},
		3: {time.Millisecond, true},
	} {
		h.advance(tc.after)
		out := h.send(romeo, msg)
		if ok := len(out) == 1 && out[0].Attr("type") == "groupchat"; ok != tc.ok {
			t.Errorf("%d: sent %v, want %v: %v", i, ok, tc.ok, out)
		}
	}
}

// TestLimiterSweepsWhenTheMapDoubles: the buckets are swept when their
// number reaches the threshold (minSweep, then twice what the last sweep
// kept), not before, so a sweep costs O(1) per bucket made; a sweep
// forgets only buckets full again at the limiter's rate.
func TestLimiterSweepsWhenTheMapDoubles(t *testing.T) {
	const rate, burst = 0.5, 2
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, tc := range [...]struct {
		users int // each spends one token at t0
		kept  int // buckets after one more user comes 2 s later
	}{
		0: {minSweep - 1, minSweep},
		1: {minSweep, 4},
	} {
		var l limiter
		for k := range tc.users {
			l.take(fmt.Sprint("u", k), t0, rate, burst)
			if k < 3 { // three users drain theirs: still short 2 s later
				l.take(fmt.Sprint("u", k), t0, rate, burst)
			}
		}
		l.take("late", t0.Add(2*time.Second), rate, burst) // the others are full again
		if n := len(l.buckets); n != tc.kept {
			t.Errorf("%d: %d buckets, want %d", i, n, tc.kept)
		}
		if tc.kept == 4 && l.sweepAt != 6 {
			t.Errorf("%d: next sweep at %d buckets, want twice the 3 kept", i, l.sweepAt)
		}
	}
	// Refilled at 0.5 token a second, a bucket drained 1 s ago holds half
	// a token: the sweep keeps it, and its owner must still wait.
	var l limiter
	l.take("drained", t0, rate, burst)
	l.take("drained", t0, rate, burst)
	l.sweep(t0.Add(time.Second), rate, burst)
	if l.take("drained", t0.Add(time.Second), rate, burst) {
		t.Error("a bucket half refilled was forgotten by the sweep")
	}
}

// TestDeferredPresenceDueWithPartToken: a bucket that has refilled part
// of a token waits only for the rest of it.
func TestDeferredPresenceDueWithPartToken(t *testing.T) {
	h := newLimitedHarness(t, Limits{PresenceRate: 0.5, PresenceBurst: 2})
	h.createRoom()
	h.send(juliet, join("Juliet"))
	show := func(s string) string {
		return `<presence to='` + room1 + `/Juliet'><show>` + s + `</show></presence>`
	}
	h.send(juliet, show("away")) // the last token
	h.advance(time.Second)       // half a token back
	if out := h.send(juliet, show("xa")); len(out) != 0 {
		t.Fatalf("update over the rate sent: %v", out)
	}
	h.advance(time.Second - time.Millisecond)
	if due := h.g.Due(h.clock()); len(due) != 0 {
		t.Errorf("due before the token: %v", due)
	}
	h.advance(time.Millisecond)
	if due := h.g.Due(h.clock()); len(due) != 1 {
		t.Errorf("not due with the token: %v", due)
	}
}
