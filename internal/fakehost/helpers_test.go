package fakehost

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"chorus/stanza"
)

const testSecret = "s3cret"

func startHost(t *testing.T) *Host {
	t.Helper()
	h, err := Start(Options{Secret: testSecret, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return h
}

// peer is the test's end of a connection, read synchronously.
type peer struct {
	t *testing.T
	*stream
}

func dial(t *testing.T, addr string) *peer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, stream: newStream(c)}
	t.Cleanup(p.close)
	return p
}

func (p *peer) send(format string, args ...any) {
	p.t.Helper()
	if err := p.write(fmt.Appendf(nil, format, args...)); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// recv returns the next element, failing the test after a second.
func (p *peer) recv() *stanza.Element {
	p.t.Helper()
	el, err := p.recvErr(time.Second)
	if err != nil {
		p.t.Fatalf("recv: %v", err)
	}
	return el
}

func (p *peer) recvErr(d time.Duration) (*stanza.Element, error) {
	_ = p.conn.SetReadDeadline(time.Now().Add(d))
	return p.next()
}

// quiet asserts that nothing arrives for a short while.
func (p *peer) quiet() {
	p.t.Helper()
	el, err := p.recvErr(150 * time.Millisecond)
	var ne net.Error
	if err == nil {
		p.t.Fatalf("unexpected %s", el)
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		p.t.Fatalf("expected silence, got %v", err)
	}
	// A timed-out decoder is unusable; that is fine, quiet ends a test's
	// use of the peer.
}

// streamError reads until the stream error and returns its condition.
func (p *peer) streamError() string {
	p.t.Helper()
	for {
		el := p.recv()
		if el.Is(stanza.NSStream, "error") {
			if c := el.FirstChild(); c != nil {
				return c.Local
			}
			return ""
		}
	}
}

func (p *peer) header(ns, to string) (id string) {
	p.t.Helper()
	p.send("<stream:stream xmlns='%s' xmlns:stream='%s' to='%s' version='1.0'>", ns, stanza.NSStream, to)
	_ = p.conn.SetReadDeadline(time.Now().Add(time.Second))
	_, attrs, err := p.readHeader()
	if err != nil {
		p.t.Fatalf("header: %v", err)
	}
	return attrs["id"]
}

// dialComponent connects and completes the handshake with secret, returning
// the peer and the host's answer (handshake or stream error).
func dialComponent(t *testing.T, h *Host, secret string) (*peer, *stanza.Element) {
	t.Helper()
	p := dial(t, h.ComponentAddr())
	id := p.header(stanza.NSComponent, h.ComponentDomain())
	sum := sha1.Sum([]byte(id + secret))
	p.send("<handshake>%s</handshake>", hex.EncodeToString(sum[:]))
	return p, p.recv()
}

func attachedComponent(t *testing.T, h *Host) *peer {
	t.Helper()
	p, reply := dialComponent(t, h, testSecret)
	if !reply.Is(stanza.NSClient, "handshake") {
		t.Fatalf("handshake refused: %s", reply)
	}
	return p
}

// client logs in as user, asking for resource, and returns the peer and
// its bound JID.
func client(t *testing.T, h *Host, user, resource string) (*peer, string) {
	t.Helper()
	p := dial(t, h.C2SAddr())
	p.header(stanza.NSClient, h.Domain())
	if f := p.recv(); f.Child(stanza.NSSASL, "mechanisms") == nil {
		t.Fatalf("features: %s", f)
	}
	p.send("<auth xmlns='%s' mechanism='PLAIN'>%s</auth>", stanza.NSSASL,
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00pw")))
	if r := p.recv(); !r.Is(stanza.NSSASL, "success") {
		t.Fatalf("auth: %s", r)
	}
	p.restart()
	p.header(stanza.NSClient, h.Domain())
	if f := p.recv(); f.Child(stanza.NSBind, "bind") == nil {
		t.Fatalf("features after auth: %s", f)
	}
	res := ""
	if resource != "" {
		res = "<resource>" + resource + "</resource>"
	}
	p.send("<iq type='set' id='b1'><bind xmlns='%s'>%s</bind></iq>", stanza.NSBind, res)
	r := p.recv()
	j := r.Child(stanza.NSBind, "bind").ChildText(stanza.NSBind, "jid")
	if r.Attr("type") != "result" || j == "" {
		t.Fatalf("bind: %s", r)
	}
	return p, j
}

// wantAttrs fails unless el has the given name and attribute values.
func wantAttrs(t *testing.T, el *stanza.Element, local string, kv ...string) {
	t.Helper()
	if el.Local != local {
		t.Fatalf("got %s, want <%s>", el, local)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if v := el.Attr(kv[i]); v != kv[i+1] {
			t.Fatalf("%s: %s=%q, want %q", el, kv[i], v, kv[i+1])
		}
	}
}

func errorCondition(el *stanza.Element) string {
	if c := el.Child(stanza.NSClient, "error").FirstChild(); c != nil {
		return c.Local
	}
	return ""
}
