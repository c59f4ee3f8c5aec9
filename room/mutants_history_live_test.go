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

// TestTemporaryAffiliationReachesLiveState: a temporary room keeps its
// affiliations only in the live state, so granting one marks it.
func TestTemporaryAffiliationReachesLiveState(t *testing.T) {
	p := newLiveProbe(t)
	h := newLiveHarness(t, p, "", nil)
	h.createRoom()
	h.tick()
	if out := h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`)); out[len(out)-1].Attr("type") != "result" {
		t.Fatalf("grant refused: %v", out)
	}
	h.tick()
	rooms, err := p.LoadLive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, lr := range rooms {
		for _, a := range lr.Affiliations {
			if lr.JID == room1 && a.JID == "nurse@localhost" {
				return
			}
		}
	}
	t.Fatalf("the membership is not in the live state: %+v", rooms)
}

// TestSubjectKeepsItsID: the subject change the room broadcasts carries
// the id its author gave it, so the author's client recognises its echo.
func TestSubjectKeepsItsID(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(romeo, `<message type='groupchat' id='subj-1' to='`+room1+`'><subject>Plans</subject></message>`)
	m := pick(out, romeo, "message")
	if len(m) != 1 || m[0].Attr("id") != "subj-1" {
		t.Fatalf("subject echo: %v", m)
	}
	out = h.send(romeo, `<message type='groupchat' to='`+room1+`'><subject>More plans</subject></message>`)
	if m := pick(out, romeo, "message"); len(m) != 1 || m[0].Attr("id") != "" {
		t.Fatalf("subject echo without an id: %v", m)
	}
}
