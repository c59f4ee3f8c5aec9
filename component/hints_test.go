package component

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// scriptedServer answers every connection with reply after reading the
// component's stream header, then closes it.
func scriptedServer(t *testing.T, reply string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				// The header ends at the first '>' after the declaration.
				r := bufio.NewReader(c)
				for n := 0; n < 2; n++ {
					if _, err := r.ReadString('>'); err != nil {
						return
					}
				}
				c.Write([]byte(reply))
				time.Sleep(50 * time.Millisecond)
			}()
		}
	}()
	return ln.Addr().String()
}

// closedPort returns an address on which nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestStartupHints: the mistakes of an operator's first minutes are logged
// with what to check, not only the protocol's word for them.
func TestStartupHints(t *testing.T) {
	const header = `<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' `
	for i, tc := range [...]struct {
		server string // "" for a closed port
		reply  string
		want   string
	}{
		// A client port: Prosody's says host-unknown for the component's
		// domain, ejabberd's invalid-namespace; its header gives it away.
		0: {reply: header + `xmlns='jabber:client' id='c1' from='localhost'><stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
			want: "CHORUS_SERVER looks like a client port"},
		1: {reply: header + `xmlns='jabber:client' id='c2'><stream:error><invalid-namespace xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
			want: "CHORUS_SERVER looks like a client port"},
		// A component listener that does not serve the domain: Prosody
		// sends a header without id, then the error.
		2: {reply: header + `xmlns='jabber:component:accept' from='conference.localhost'><stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
			want: "the server has no component configured for this domain"},
		3: {reply: header + `xmlns='jabber:component:accept' id='x'><stream:error><invalid-namespace xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
			want: "CHORUS_SERVER looks like a client port"},
		// ejabberd answers not-authorized for a wrong secret and for a
		// domain no listener serves alike.
		4: {reply: header + `xmlns='jabber:component:accept' id='x'><stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`,
			want: "also check that the ejabberd_service listener's hosts include CHORUS_DOMAIN"},
		5: {want: "nothing listens at CHORUS_SERVER: check the server's component listener"},
	} {
		addr := closedPort(t)
		if tc.reply != "" {
			addr = scriptedServer(t, tc.reply)
		}
		hs := startRun(t, Config{Domain: testDomain, Secret: testSecret, Server: addr}, funcHandler{})
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(hs.logs.String(), tc.want) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		hs.stop(t)
		if !strings.Contains(hs.logs.String(), tc.want) {
			t.Errorf("%d: log lacks %q:\n%s", i, tc.want, hs.logs)
		}
	}
}
