package fakehost

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"chorus/stanza"
)

func TestComponentHandshake(t *testing.T) {
	h := startHost(t)
	if h.ComponentConnected() {
		t.Fatal("connected before any component")
	}

	bad, reply := dialComponent(t, h, "wrong")
	if !reply.Is(stanza.NSStream, "error") || reply.FirstChild().Local != "not-authorized" {
		t.Fatalf("wrong secret: got %s", reply)
	}
	if _, err := bad.recvErr(time.Second); !errors.Is(err, io.EOF) && !errors.Is(err, errEndOfStream) {
		t.Errorf("after refusal: %v, want end of stream", err)
	}
	if h.ComponentConnected() {
		t.Fatal("refused component counted as connected")
	}

	attachedComponent(t, h)
	if !h.ComponentConnected() {
		t.Fatal("not connected after handshake")
	}

	_, reply = dialComponent(t, h, testSecret)
	if !reply.Is(stanza.NSStream, "error") || reply.FirstChild().Local != "conflict" {
		t.Fatalf("second component: got %s", reply)
	}

	if !h.DropComponent() || h.ComponentConnected() {
		t.Fatal("DropComponent did not detach")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	attachedComponent(t, h)
	if err := h.WaitComponent(ctx, true); err != nil {
		t.Fatal(err)
	}
}

func TestComponentWrongDomain(t *testing.T) {
	h := startHost(t)
	p := dial(t, h.ComponentAddr())
	p.header(stanza.NSComponent, "other.localhost")
	if c := p.streamError(); c != "host-unknown" {
		t.Fatalf("got %q, want host-unknown", c)
	}
}

func TestDropComponentEndsItsConnection(t *testing.T) {
	h := startHost(t)
	comp := attachedComponent(t, h)
	h.DropComponent()
	if _, err := comp.recvErr(time.Second); err == nil {
		t.Fatal("component connection still readable after drop")
	}
}

func TestClientLoginAndBind(t *testing.T) {
	h := startHost(t)
	_, j := client(t, h, "Romeo", "balcony")
	if j != "romeo@localhost/balcony" {
		t.Errorf("bound %q", j)
	}
	_, j2 := client(t, h, "romeo", "balcony")
	if j2 == j || !strings.HasPrefix(j2, "romeo@localhost/") {
		t.Errorf("taken resource: bound %q", j2)
	}
	_, j3 := client(t, h, "juliet", "")
	if !strings.HasPrefix(j3, "juliet@localhost/") || len(j3) <= len("juliet@localhost/") {
		t.Errorf("generated resource: bound %q", j3)
	}
}

func TestClientWrongHost(t *testing.T) {
	h := startHost(t)
	p := dial(t, h.C2SAddr())
	p.header(stanza.NSClient, "example.org")
	if c := p.streamError(); c != "host-unknown" {
		t.Fatalf("got %q", c)
	}
}

func TestRouting(t *testing.T) {
	h := startHost(t)
	comp := attachedComponent(t, h)
	romeo, rj := client(t, h, "romeo", "a")
	romeo2, rj2 := client(t, h, "romeo", "b")
	juliet, jj := client(t, h, "juliet", "x")

	t.Run("client to component, from stamped", func(t *testing.T) {
		romeo.send("<message to='room@conference.localhost' from='forged@localhost/z' type='groupchat'><body>hi</body></message>")
		got := comp.recv()
		wantAttrs(t, got, "message", "from", rj, "to", "room@conference.localhost", "type", "groupchat")
		if got.ChildText(stanza.NSClient, "body") != "hi" {
			t.Errorf("payload lost: %s", got)
		}
	})
	t.Run("component to full JID", func(t *testing.T) {
		comp.send("<presence from='room@conference.localhost/R' to='%s'><x xmlns='urn:test'/></presence>", jj)
		got := juliet.recv()
		wantAttrs(t, got, "presence", "from", "room@conference.localhost/R")
		if got.Child("urn:test", "x") == nil {
			t.Errorf("payload lost: %s", got)
		}
	})
	t.Run("component to bare JID reaches all sessions", func(t *testing.T) {
		comp.send("<message from='room@conference.localhost' to='romeo@localhost' id='inv'/>")
		wantAttrs(t, romeo.recv(), "message", "id", "inv")
		wantAttrs(t, romeo2.recv(), "message", "id", "inv")
	})
	t.Run("client to client", func(t *testing.T) {
		romeo.send("<message to='%s' id='m1'><body>x</body></message>", jj)
		wantAttrs(t, juliet.recv(), "message", "id", "m1", "from", rj)
	})
	t.Run("offline full JID bounces to component", func(t *testing.T) {
		comp.send("<message from='room@conference.localhost' to='nobody@localhost/gone' type='groupchat' id='g1'/>")
		got := comp.recv()
		wantAttrs(t, got, "message", "type", "error", "id", "g1", "from", "nobody@localhost/gone", "to", "room@conference.localhost")
		if c := errorCondition(got); c != "service-unavailable" {
			t.Errorf("condition %q", c)
		}
	})
	t.Run("iq to host and to bare JID", func(t *testing.T) {
		romeo.send("<iq to='localhost' type='get' id='q1'><query xmlns='jabber:iq:version'/></iq>")
		got := romeo.recv()
		wantAttrs(t, got, "iq", "type", "error", "id", "q1", "from", "localhost", "to", rj)
		romeo.send("<iq to='juliet@localhost' type='get' id='q2'><query xmlns='jabber:iq:version'/></iq>")
		got = romeo.recv()
		wantAttrs(t, got, "iq", "type", "error", "id", "q2")
		if c := errorCondition(got); c != "service-unavailable" {
			t.Errorf("condition %q", c)
		}
	})
	t.Run("broadcast presence echoes to own sessions", func(t *testing.T) {
		romeo2.send("<presence/>")
		wantAttrs(t, romeo.recv(), "presence", "from", rj2)
		wantAttrs(t, romeo2.recv(), "presence", "from", rj2)
	})
	t.Run("session establishment", func(t *testing.T) {
		romeo.send("<iq type='set' id='s1'><session xmlns='%s'/></iq>", stanza.NSSession)
		wantAttrs(t, romeo.recv(), "iq", "type", "result", "id", "s1")
	})
	t.Run("no component", func(t *testing.T) {
		h.DropComponent()
		romeo.send("<iq to='conference.localhost' type='get' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
		got := romeo.recv()
		wantAttrs(t, got, "iq", "type", "error", "id", "d1", "from", "conference.localhost")
		if c := errorCondition(got); c != "service-unavailable" {
			t.Errorf("condition %q", c)
		}
	})
	juliet.quiet()
}

func TestDirectedPresenceOnDisconnect(t *testing.T) {
	for _, how := range []string{"stream close", "tcp drop"} {
		t.Run(how, func(t *testing.T) {
			h := startHost(t)
			comp := attachedComponent(t, h)
			romeo, rj := client(t, h, "romeo", "r")

			romeo.send("<presence to='room@conference.localhost/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>")
			wantAttrs(t, comp.recv(), "presence", "from", rj)
			romeo.send("<presence to='left@conference.localhost/Romeo'/>")
			comp.recv()
			romeo.send("<presence to='left@conference.localhost/Romeo' type='unavailable'/>")
			comp.recv()

			if how == "stream close" {
				romeo.send("</stream:stream>")
				if _, err := romeo.recvErr(time.Second); !errors.Is(err, errEndOfStream) {
					t.Errorf("host did not close its stream: %v", err)
				}
			} else {
				romeo.close()
			}
			got := comp.recv()
			wantAttrs(t, got, "presence", "type", "unavailable", "from", rj, "to", "room@conference.localhost/Romeo")
			// The left room was forgotten: nothing more arrives for it.
			comp.quiet()
		})
	}
}

func TestBroadcastUnavailableReachesDirectedRecipients(t *testing.T) {
	h := startHost(t)
	comp := attachedComponent(t, h)
	romeo, rj := client(t, h, "romeo", "r")
	romeo.send("<presence to='room@conference.localhost/Romeo'/>")
	comp.recv()
	romeo.send("<presence type='unavailable'/>")
	wantAttrs(t, comp.recv(), "presence", "type", "unavailable", "from", rj, "to", "room@conference.localhost/Romeo")
}

func TestComponentAddressingIsEnforced(t *testing.T) {
	for _, tc := range []struct{ name, stanza, cond string }{
		{"foreign from", "<message from='evil@localhost' to='romeo@localhost'/>", "invalid-from"},
		{"no from", "<message to='romeo@localhost'/>", "invalid-from"},
		{"lookalike domain", "<message from='room@conference.localhost.evil' to='romeo@localhost'/>", "invalid-from"},
		{"no to", "<presence from='room@conference.localhost/n'/>", "improper-addressing"},
		{"not a stanza", "<foo from='conference.localhost' to='localhost'/>", "unsupported-stanza-type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHost(t)
			comp := attachedComponent(t, h)
			comp.send("%s", tc.stanza)
			if c := comp.streamError(); c != tc.cond {
				t.Fatalf("got %q, want %q", c, tc.cond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := h.WaitComponent(ctx, false); err != nil {
				t.Fatal("component still attached")
			}
		})
	}
	t.Run("valid", func(t *testing.T) {
		h := startHost(t)
		comp := attachedComponent(t, h)
		romeo, rj := client(t, h, "romeo", "r")
		comp.send("<message from='conference.localhost' to='%s' id='ok'/>", rj)
		wantAttrs(t, romeo.recv(), "message", "id", "ok")
	})
}

func TestCloseUnblocksEverything(t *testing.T) {
	h, err := Start(Options{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	attachedComponent(t, h)
	client(t, h, "romeo", "r")
	// A connection that never sends its header.
	c, err := net.Dial("tcp", h.C2SAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error)
	go func() { done <- h.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if _, err := net.Dial("tcp", h.C2SAddr()); err == nil {
		t.Error("still listening after Close")
	}
}
