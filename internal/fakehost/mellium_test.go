package fakehost_test

import (
	"context"
	"net"
	"testing"
	"time"

	"mellium.im/xmpp/component"
	"mellium.im/xmpp/jid"

	"chorus/internal/fakehost"
)

// TestMelliumComponentHandshake checks that the component client of
// mellium.im/xmpp, which Chorus uses, completes (and fails) the handshake
// with this host.
func TestMelliumComponentHandshake(t *testing.T) {
	const secret = "s3cret"
	h, err := fakehost.Start(fakehost.Options{Secret: secret, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addr := jid.MustParse(h.ComponentDomain())

	c, err := net.Dial("tcp", h.ComponentAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := component.NewSession(ctx, addr, []byte("wrong"), c); err == nil {
		t.Fatal("handshake with the wrong secret succeeded")
	}

	c2, err := net.Dial("tcp", h.ComponentAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	s, err := component.NewSession(ctx, addr, []byte(secret), c2)
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer s.Close()
	if err := h.WaitComponent(ctx, true); err != nil {
		t.Fatal(err)
	}
}
