package integration

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/internal/ejabberd"
	"chorus/internal/prosody"
	"chorus/room"
)

// lockedBuffer collects a logger's output from Run's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hintFor runs Chorus against server with domain and secret until its log
// says want (or 10 s pass), and returns the log.
func hintFor(t *testing.T, server, domain, secret, want string) string {
	t.Helper()
	var log lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		reg := room.NewRegistry(room.Options{Domain: domain})
		defer reg.Close()
		component.Run(ctx, component.Config{Domain: domain, Secret: secret, Server: server,
			Logger: zerolog.New(&log), MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
			component.NewRouter(domain, reg))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	return log.String()
}

// TestOperatorHints: the usual mistakes of a first set-up, against the
// real servers, each logged with what to check.
func TestOperatorHints(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range [...]struct {
		server, domain, secret, want string
	}{
		0: {srv.C2SAddr(), Service, srv.Secret(), "CHORUS_SERVER looks like a client port"},
		1: {srv.C2SAddr(), Host, srv.Secret(), "CHORUS_SERVER looks like a client port"},
		2: {srv.ComponentAddr(), "other." + Host, srv.Secret(), "the server has no component configured for this domain"},
		3: {srv.ComponentAddr(), Service, "wrong", "check CHORUS_SECRET"},
		4: {closedAddr(t), Service, srv.Secret(), "nothing listens at CHORUS_SERVER"},
	} {
		if log := hintFor(t, tc.server, tc.domain, tc.secret, tc.want); !strings.Contains(log, tc.want) {
			t.Errorf("%d: log lacks %q:\n%s", i, tc.want, log)
		}
	}
}

// TestOperatorHintsEjabberd: ejabberd answers an unknown component domain
// as it answers a wrong secret; the hint names both.
func TestOperatorHintsEjabberd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with ejabberd skipped in -short mode")
	}
	require(t, ejabberd.Available())
	srv, err := ejabberd.Start(t, ejabberd.Options{Host: Host, Component: Service})
	if err != nil {
		t.Fatal(err)
	}
	const want = "also check that the ejabberd_service listener's hosts include CHORUS_DOMAIN"
	if log := hintFor(t, srv.ComponentAddr(), "other."+Host, srv.Secret(), want); !strings.Contains(log, want) {
		t.Errorf("unknown domain on ejabberd: log lacks %q:\n%s", want, log)
	}
	if log := hintFor(t, srv.C2SAddr(), Service, srv.Secret(), "CHORUS_SERVER looks like a client port"); !strings.Contains(log, "client port") {
		t.Errorf("ejabberd's client port: log lacks the hint:\n%s", log)
	}
}

// closedAddr returns a loopback address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
