package component

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/room"
	"chorus/stanza"
)

// fakeServer is the server side of XEP-0114, just enough to test the link:
// it reads the stream header, sends its own with an id, checks the
// handshake digest and answers <handshake/> or not-authorized.
type fakeServer struct {
	t        testing.TB
	ln       net.Listener
	domain   string
	secret   string
	attempts atomic.Int32
	conns    chan *fakeConn
	// refuse, if set, names a stream error condition to answer a correct
	// handshake of attempt n with ("" accepts it).
	refuse func(n int32) string
}

func newFakeServer(t testing.TB, domain, secret string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, domain: domain, secret: secret, conns: make(chan *fakeConn, 16)}
	go s.accept()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }

func (s *fakeServer) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		n := s.attempts.Add(1)
		fc, ok := s.handshake(c, n)
		if !ok {
			c.Close()
			continue
		}
		s.conns <- fc
	}
}

func (s *fakeServer) handshake(c net.Conn, n int32) (*fakeConn, bool) {
	id := fmt.Sprintf("stream-%d", n)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	d := xml.NewDecoder(c)
	fc := &fakeConn{c: c, d: d}
	start, err := fakeNextStart(d)
	if err != nil || start.Name.Local != "stream" || fakeAttr(start, "to") != s.domain {
		return nil, false
	}
	fmt.Fprintf(c, `<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='%s' from='%s'>`, id, s.domain)
	start, err = fakeNextStart(d)
	if err != nil || start.Name.Local != "handshake" {
		return nil, false
	}
	var digest string
	if err := d.DecodeElement(&digest, &start); err != nil {
		return nil, false
	}
	sum := sha1.Sum([]byte(id + s.secret))
	if digest != hex.EncodeToString(sum[:]) {
		fmt.Fprint(c, `<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Given token does not match calculated token</text></stream:error></stream:stream>`)
		return nil, false
	}
	if s.refuse != nil {
		if cond := s.refuse(n); cond != "" {
			fmt.Fprintf(c, `<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`, cond)
			return nil, false
		}
	}
	fmt.Fprint(c, `<handshake/>`)
	c.SetDeadline(time.Time{})
	return fc, true
}

// next waits for the next connection that completed the handshake.
func (s *fakeServer) next(t testing.TB) *fakeConn {
	t.Helper()
	select {
	case c := <-s.conns:
		t.Cleanup(func() { c.c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no component connection")
		return nil
	}
}

type fakeConn struct {
	c net.Conn
	d *xml.Decoder
}

func (c *fakeConn) send(t testing.TB, s string) {
	t.Helper()
	if _, err := c.c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// read returns the next stanza, or nil at </stream:stream>.
func (c *fakeConn) read(t testing.TB) *stanza.Element {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		tok, err := c.d.Token()
		if err != nil {
			t.Fatalf("reading from component: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			el, err := stanza.Decode(c.d, tok, stanza.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			return el
		case xml.EndElement:
			if tok.Name.Local == "stream" {
				return nil
			}
		}
	}
}

func fakeNextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.StartElement{}, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s, nil
		}
	}
}

func fakeAttr(s xml.StartElement, name string) string {
	for _, a := range s.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// funcHandler adapts functions to Handler.
type funcHandler struct {
	handle   func(*stanza.Element) []room.Out
	shutdown func() []room.Out
}

func (h funcHandler) HandleAt(_ room.Address, st *stanza.Element) []room.Out {
	if h.handle == nil {
		return nil
	}
	return h.handle(st)
}

func (h funcHandler) Shutdown() []room.Out {
	if h.shutdown == nil {
		return nil
	}
	return h.shutdown()
}

// syncBuffer collects log output from Run's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) count(s string) int { return strings.Count(b.String(), s) }

// harness runs Run in the background and records its state changes.
type harness struct {
	cancel context.CancelFunc
	halt   func() // cancels Run's context with ErrHalted
	done   chan error
	logs   *syncBuffer
	states chan bool
}

func startRun(t *testing.T, cfg Config, h Handler) *harness {
	t.Helper()
	hs := &harness{done: make(chan error, 1), logs: &syncBuffer{}, states: make(chan bool, 64)}
	cfg.Logger = zerolog.New(hs.logs).Level(zerolog.DebugLevel)
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 10 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 50 * time.Millisecond
	}
	cfg.OnState = func(up bool) { hs.states <- up }
	ctx, cancel := context.WithCancelCause(context.Background())
	hs.cancel = func() { cancel(nil) }
	hs.halt = func() { cancel(ErrHalted) }
	go func() { hs.done <- Run(ctx, cfg, h) }()
	t.Cleanup(func() {
		hs.stop(t)
		if t.Failed() {
			t.Logf("component log:\n%s", hs.logs)
		}
	})
	return hs
}

// stop cancels Run and waits for it to return.
func (hs *harness) stop(t *testing.T) {
	t.Helper()
	hs.cancel()
	select {
	case err, ok := <-hs.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(hs.done)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func (hs *harness) waitState(t *testing.T, want bool) {
	t.Helper()
	select {
	case got := <-hs.states:
		if got != want {
			t.Fatalf("state %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no state change to %v", want)
	}
}
