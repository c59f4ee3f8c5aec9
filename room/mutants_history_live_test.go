package room

import (
	"context"
	"strings"
	"testing"
)

// TestSelfRetractionReachesLiveState: a temporary room keeps its history
// only in the live state, so an author's retraction that both takes the
// message out of the history and adds the retraction to it must reach
// the live state: a restart then never serves the retracted text.
func TestSelfRetractionReachesLiveState(t *testing.T) {
	p := newLiveProbe(t)
	h := newLiveHarness(t, p, "", nil)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	old := sayIn(t, h, juliet, room1, "oops")
	h.tick()
	h.send(juliet, `<message type='groupchat' to='`+room1+`'><retract xmlns='urn:xmpp:message-retract:1' id='`+old+`'/><body>retracted</body></message>`)
	h.tick()
	rooms, err := p.LoadLive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, lr := range rooms {
		if lr.JID != room1 {
			continue
		}
		if s := string(lr.Data); strings.Contains(s, "oops") || !strings.Contains(s, "retracted") {
			t.Fatalf("live state of the room after the retraction: %s", s)
		}
		return
	}
	t.Fatalf("room not in the live state: %+v", rooms)
}
