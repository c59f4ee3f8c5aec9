package room

import (
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
