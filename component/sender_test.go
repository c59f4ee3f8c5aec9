package component

import (
	"errors"
	"testing"
	"time"

	"chorus/room"
	"chorus/stanza"
)

// TestSenderInjects: stanzas no inbound stanza caused go out on the live
// link; with no link up, Send says so and sends nothing.
func TestSenderInjects(t *testing.T) {
	var s Sender
	msg := stanza.New(stanza.NSClient, "message", "from", "room@"+testDomain, "type", "groupchat").
		Add(stanza.New(stanza.NSClient, "body").AddText("maintenance"))
	outs := []room.Out{{To: []string{"alice@localhost/a"}, Stanza: msg}}
	if err := s.Send(outs); !errors.Is(err, ErrLinkDown) || s.Up() {
		t.Fatalf("Send before any link = %v (up %v)", err, s.Up())
	}

	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	cfg.Sender = &s
	hs := startRun(t, cfg, funcHandler{})
	c := srv.next(t)
	hs.waitState(t, true)
	for deadline := time.Now().Add(5 * time.Second); !s.Up(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("sender not up")
		}
	}
	if err := s.Send(outs); err != nil {
		t.Fatal(err)
	}
	st := c.read(t)
	if st == nil || st.Attr("to") != "alice@localhost/a" || st.ChildText(stanza.NSClient, "body") != "maintenance" {
		t.Fatalf("server got %v", st)
	}
	hs.stop(t)
	if err := s.Send(outs); !errors.Is(err, ErrLinkDown) {
		t.Fatalf("Send after the link ended = %v", err)
	}
}
