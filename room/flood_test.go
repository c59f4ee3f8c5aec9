package room

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const groupchatX = `<message type='groupchat' to='` + room1 + `'><body>x</body></message>`

// delivered counts the groupchat messages in out sent to one address.
func delivered(out []Out, to string) int {
	n := 0
	for _, st := range Flatten(out) {
		if st.Local == "message" && st.Attr("type") == "groupchat" && st.Attr("to") == to {
			n++
		}
	}
	return n
}

// TestRateLimitSurvivesNickChangesAndRejoins attacks the message bucket the
// two ways that used to refill it: changing nick (the occupant was removed
// and added again, its bucket dropped) and leaving and rejoining. The
// bucket belongs to the user's bare JID in the room, so neither helps.
func TestRateLimitSurvivesNickChangesAndRejoins(t *testing.T) {
	for i, tc := range [...]struct {
		name  string
		reset func(h *harness, round int)
	}{
		0: {"nick change", func(h *harness, round int) {
			h.send(juliet, `<presence to='`+room1+`/J`+fmt.Sprint(round)+`'/>`)
		}},
		1: {"leave and rejoin", func(h *harness, round int) {
			h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
			h.send(juliet, join("Juliet"))
		}},
	} {
		h := newLimitedHarness(t, Limits{MessageRate: 1, MessageBurst: 5, PresenceRate: 100, PresenceBurst: 100})
		h.createRoom()
		h.send(juliet, join("Juliet"))
		got := 0
		// 200 messages, the bucket "reset" every 20, all within the same
		// instant: only the burst may pass.
		for m := 0; m < 200; m++ {
			if m > 0 && m%20 == 0 {
				tc.reset(h, m)
			}
			st := h.send(juliet, groupchatX)
			for _, s := range st {
				if s.Attr("to") == romeo && s.Attr("type") == "groupchat" {
					got++
				}
			}
		}
		if got != 5 {
			t.Errorf("%d (%s): %d of 200 messages delivered, want the burst of 5", i, tc.name, got)
		}
		// The bucket refills with time as before.
		h.advance(2 * time.Second)
		if out := h.send(juliet, groupchatX); len(pick(out, romeo, "message")) != 1 {
			t.Errorf("%d (%s): not refilled: %v", i, tc.name, out)
		}
	}
}

// TestNickChangesAreRateLimited: nick changes spend presence tokens; over
// the rate they wait instead of flooding the room with 303 pairs.
func TestNickChangesAreRateLimited(t *testing.T) {
	h := newLimitedHarness(t, Limits{PresenceRate: 0.1, PresenceBurst: 3})
	h.createRoom()
	h.send(juliet, join("Juliet")) // spends one token
	changes := 0
	for i := 0; i < 20; i++ {
		out := h.send(juliet, `<presence to='`+room1+`/N`+fmt.Sprint(i)+`'/>`)
		for _, p := range pick(out, romeo, "presence") {
			if strings.Contains(p.String(), "code='303'") {
				changes++
			}
		}
		for _, st := range out {
			if st.Attr("type") == "error" {
				t.Fatalf("a presence over the rate was answered with an error: %v", st)
			}
		}
	}
	if changes != 2 {
		t.Errorf("romeo saw %d nick changes, want the 2 tokens left of the burst", changes)
	}
}

// TestJoinsAreRateLimited: joins spend presence tokens, so a join/leave
// loop cannot flood the room with presences.
func TestJoinsAreRateLimited(t *testing.T) {
	h := newLimitedHarness(t, Limits{PresenceRate: 0.1, PresenceBurst: 3})
	h.createRoom()
	joined := 0
	for i := 0; i < 10; i++ {
		out := h.send(juliet, join("Juliet"))
		if p := pick(out, romeo, "presence"); len(p) == 1 && p[0].Attr("type") == "" {
			joined++
		} else if e := pick(out, juliet, "presence"); len(e) != 1 || condition(e[0]) != "wait/policy-violation" {
			t.Fatalf("join %d over the rate: %v", i, out)
		}
		h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	}
	if joined != 3 {
		t.Errorf("%d joins got through, want the burst of 3", joined)
	}
}

// TestPresenceFloodDeferred: presence updates over the rate are neither
// broadcast nor refused with an error presence (which clients read as
// having left the room): the latest one waits for a token and is then
// broadcast once.
func TestPresenceFloodDeferred(t *testing.T) {
	h := newLimitedHarness(t, Limits{PresenceRate: 0.5, PresenceBurst: 2})
	h.createRoom()
	h.send(juliet, join("Juliet")) // one token left
	show := func(s string) string {
		return `<presence to='` + room1 + `/Juliet'><show>` + s + `</show></presence>`
	}
	if out := h.send(juliet, show("away")); len(pick(out, romeo, "presence")) != 1 {
		t.Fatalf("update within the burst: %v", out)
	}
	for _, s := range []string{"xa", "dnd", "chat"} {
		if out := h.send(juliet, show(s)); len(out) != 0 {
			t.Fatalf("update over the rate sent %v, want nothing yet", out)
		}
	}
	if due := h.g.Due(h.clock()); len(due) != 0 {
		t.Fatalf("due before a token refilled: %v", due)
	}
	h.advance(2 * time.Second)
	due := h.g.Due(h.clock())
	if len(due) != 1 || due[0] != room1 {
		t.Fatalf("due after refill: %v", due)
	}
	out := Flatten(h.g.Fire(room1))
	p := pick(out, romeo, "presence")
	if len(p) != 1 || p[0].ChildText(NSClient, "show") != "chat" {
		t.Fatalf("deferred update: %v", out)
	}
	if self := pick(out, juliet, "presence"); len(self) != 1 || codes(self[0]) != "110" {
		t.Errorf("juliet's own copy: %v", out)
	}
	if again := h.g.Fire(room1); len(again) != 0 {
		t.Errorf("applied twice: %v", again)
	}

	// Leaving drops what was deferred; it is never held back itself.
	h.send(juliet, show("away"))
	if out := h.send(juliet, show("xa")); len(out) != 0 {
		t.Fatalf("update over the rate: %v", out)
	}
	if out := h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`); len(pick(out, romeo, "presence")) != 1 {
		t.Fatalf("leave held back: %v", out)
	}
	h.advance(10 * time.Second)
	for _, j := range h.g.Due(h.clock()) {
		if out := h.g.Fire(j); len(out) != 0 {
			t.Errorf("a deferred update of someone who left was sent: %v", out)
		}
	}
}

// TestLimiterForgetsOnlyRefilledBuckets: the map of buckets stays bounded
// by the users active within a refill time, and sweeping never forgets a
// bucket that is still drained.
func TestLimiterForgetsOnlyRefilledBuckets(t *testing.T) {
	var l limiter
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const rate, burst = 1.0, 2
	l.take("drained@x", now, rate, burst)
	l.take("drained@x", now, rate, burst)
	for i := 0; i < 10*minSweep; i++ {
		now = now.Add(10 * time.Millisecond)
		l.take(fmt.Sprintf("u%d@x", i), now, rate, burst)
		l.take(fmt.Sprintf("u%d@x", i), now, rate, burst)
	}
	// 640 users over 6.4 s, each drained; a bucket refills in 2 s, in
	// which 200 users came. Sweeps run when the map has doubled.
	if n := len(l.buckets); n > 2*200 {
		t.Errorf("%d buckets kept, want at most twice the 200 active within a refill time", n)
	}
	// A drained bucket survives a sweep.
	now2 := now
	l.take("late@x", now2, rate, burst)
	l.take("late@x", now2, rate, burst)
	l.sweep(now2, rate, burst)
	if l.take("late@x", now2, rate, burst) {
		t.Error("a drained bucket was forgotten by the sweep")
	}
}

// TestDeferredPresenceSurvivesLostTimer: a timer taken just as the link
// went down is never run; the session check after the reconnect asks for
// the room again, so the deferred update is not stuck.
func TestDeferredPresenceSurvivesLostTimer(t *testing.T) {
	h := newLimitedHarness(t, Limits{PresenceRate: 0.5, PresenceBurst: 1})
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.send(juliet, `<presence to='`+room1+`/Juliet'><show>dnd</show></presence>`)
	h.advance(time.Minute)
	if due := h.g.Due(h.clock()); len(due) != 1 {
		t.Fatalf("due: %v", due) // taken, and lost with the link
	}
	h.g.CheckSessions()
	due := h.g.Due(h.clock())
	if len(due) != 1 {
		t.Fatalf("not due again after the session check: %v", due)
	}
	if p := pick(Flatten(h.g.Fire(due[0])), romeo, "presence"); len(p) != 1 || p[0].ChildText(NSClient, "show") != "dnd" {
		t.Errorf("deferred update: %v", p)
	}
}
