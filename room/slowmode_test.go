package room

import (
	"strings"
	"testing"
	"time"
)

func groupchat(body string) string {
	return `<message type='groupchat' to='` + room1 + `'><body>` + body + `</body></message>`
}

// TestSlowMode: with slow mode on, a participant's second message within
// the duration is refused with wait/policy-violation saying how long to
// wait; it passes once the time is up; body-less messages and moderators
// are not limited; the wait outlives leaving and rejoining.
func TestSlowMode(t *testing.T) {
	h := newHarness(t)
	h.createRoom(configSlowMode, "30")
	h.send(juliet, join("Juliet"))
	if out := h.send(juliet, groupchat("one")); len(out) != 2 {
		t.Fatalf("first message: %v", out)
	}
	h.advance(10 * time.Second)
	out := h.send(juliet, groupchat("two"))
	if len(out) != 1 || out[0].Attr("to") != juliet || condition(out[0]) != "wait/policy-violation" {
		t.Fatalf("second message within 30 s: %v", out)
	}
	if txt := out[0].String(); !strings.Contains(txt, "Wait 20 more seconds") || !strings.Contains(txt, "every 30 seconds") {
		t.Errorf("the error does not say how long to wait: %v", out[0])
	}
	if got := h.g.Refusals().SlowMode; got != 1 {
		t.Errorf("refusals counted: %d", got)
	}
	// A chat state has no body: it passes.
	if out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`); len(out) != 2 {
		t.Errorf("chat state refused: %v", out)
	}
	// Leaving and rejoining does not reset the wait.
	h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	h.send(juliet, join("Juliet2"))
	if out := h.send(juliet, groupchat("three")); len(out) != 1 || condition(out[0]) != "wait/policy-violation" {
		t.Errorf("rejoined: %v", out)
	}
	// The owner (a moderator) is not limited.
	for i := 0; i < 3; i++ {
		if out := h.send(romeo, groupchat("owner")); len(out) != 2 {
			t.Errorf("moderator %d: %v", i, out)
		}
	}
	h.advance(20 * time.Second)
	if out := h.send(juliet, groupchat("four")); len(out) != 2 {
		t.Errorf("after the wait: %v", out)
	}
	// Turned off, nothing is limited.
	h.send(romeo, config(configSlowMode, "0"))
	if out := h.send(juliet, groupchat("five")); len(out) != 2 {
		t.Errorf("slow mode off: %v", out)
	}
}

// TestSlowModeAdvertised: the duration is in the configuration form and
// in the room's disco#info (XEP-0500 §4), 0 when off.
func TestSlowModeAdvertised(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	info := `<iq type='get' id='i' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`
	if out := h.send(romeo, info); !strings.Contains(out[0].String(), "var='"+roomInfoSlowMode+"' type='text-single'><value>0</value>") {
		t.Errorf("roominfo, off: %v", out)
	}
	h.send(romeo, config(configSlowMode, "15"))
	if out := h.send(romeo, info); !strings.Contains(out[0].String(), "var='"+roomInfoSlowMode+"' type='text-single'><value>15</value>") {
		t.Errorf("roominfo, on: %v", out)
	}
	out := h.send(romeo, `<iq type='get' id='f' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'/></iq>`)
	if !strings.Contains(out[0].String(), "(0 = off)'><value>15</value>") {
		t.Errorf("config form: %v", out)
	}
}

// TestSlowModeBounds: negative, huge and non-numeric durations are refused
// with modify/not-acceptable and change nothing.
func TestSlowModeBounds(t *testing.T) {
	for _, v := range []string{"-1", "86401", "99999999999999999999", "ten", "1.5"} {
		h := newHarness(t)
		h.createRoom()
		out := h.send(romeo, config(configSlowMode, v))
		if len(out) != 1 || condition(out[0]) != "modify/not-acceptable" {
			t.Errorf("%s: %v", v, out)
		}
		if h.g.rooms[room1].cfg.SlowMode != 0 {
			t.Errorf("%s: the room changed", v)
		}
	}
	h := newHarness(t)
	h.createRoom(configSlowMode, "86400")
	if h.g.rooms[room1].cfg.SlowMode != 86400 {
		t.Error("the largest duration was not kept")
	}
}
