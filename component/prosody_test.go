package component

import (
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"chorus/internal/prosody"
	"chorus/room"
	"chorus/stanza"
)

func startProsody(t *testing.T) *prosody.Server {
	t.Helper()
	prosody.Require(t)
	s, err := prosody.Start(t, prosody.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pingHandler answers every IQ get with an empty result. Before the answer
// it returns a stanza from a foreign domain, which the writer must drop:
// Prosody would close the stream for it.
var pingHandler = funcHandler{handle: func(st *stanza.Element) []room.Out {
	if st.Local != "iq" || st.Attr("type") != "get" {
		return nil
	}
	foreign := stanza.New(stanza.NSClient, "message", "from", "intruder@localhost").Add(stanza.New(stanza.NSClient, "body").AddText("x"))
	res := stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", st.Attr("id"), "type", "result")
	return []room.Out{room.To1(st.Attr("from"), foreign), room.To1(st.Attr("from"), res)}
}}

func TestProsodyReconnect(t *testing.T) {
	s := startProsody(t)
	hs := startRun(t, Config{Domain: s.Component(), Secret: s.Secret(), Server: s.ComponentAddr(),
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}, pingHandler)
	hs.waitState(t, true)
	clientPing(t, s)

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	hs.waitState(t, false)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	select {
	case up := <-hs.states:
		if !up {
			t.Fatal("state went down again")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no reconnect within 30 s")
	}
	clientPing(t, s)
}

func TestProsodyWrongSecret(t *testing.T) {
	s := startProsody(t)
	hs := startRun(t, Config{Domain: s.Component(), Secret: "not-" + s.Secret(), Server: s.ComponentAddr(),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}, funcHandler{})
	const msg = "component handshake refused: check CHORUS_SECRET"
	deadline := time.Now().Add(10 * time.Second)
	for hs.logs.count(msg) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := hs.logs.count(msg); n < 2 {
		t.Fatalf("%d handshake-refused lines, want at least 2:\n%s", n, hs.logs)
	}
	select {
	case up := <-hs.states:
		t.Errorf("state changed to %v with a wrong secret", up)
	default:
	}
}

func TestProsodyConflict(t *testing.T) {
	s := startProsody(t)
	cfg := Config{Domain: s.Component(), Secret: s.Secret(), Server: s.ComponentAddr(),
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	first := startRun(t, cfg, funcHandler{})
	first.waitState(t, true)
	second := startRun(t, cfg, pingHandler)
	const msg = "the server still holds another connection for this domain"
	deadline := time.Now().Add(10 * time.Second)
	for second.logs.count(msg) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := second.logs.count(msg); n < 2 {
		t.Fatalf("%d conflict lines, want at least 2:\n%s", n, second.logs)
	}
	// Once the first link is gone, the second takes over by itself.
	first.stop(t)
	second.waitState(t, true)
	clientPing(t, s)
}

// clientPing logs a client in over c2s and pings the component through
// Prosody; the answer proves the link works in both directions and that
// the foreign stanza was not sent (Prosody would have closed the stream).
func clientPing(t *testing.T, s *prosody.Server) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.C2SAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	d := xml.NewDecoder(c)
	send := func(format string, args ...any) {
		t.Helper()
		if _, err := fmt.Fprintf(c, format, args...); err != nil {
			t.Fatal(err)
		}
	}
	// next returns the next top-level element, skipping stream headers.
	next := func() *stanza.Element {
		t.Helper()
		for {
			tok, err := d.Token()
			if err != nil {
				t.Fatalf("client stream: %v", err)
			}
			if st, ok := tok.(xml.StartElement); ok && st.Name.Local != "stream" {
				el, err := stanza.Decode(d, st, stanza.DefaultLimits)
				if err != nil {
					t.Fatal(err)
				}
				return el
			}
		}
	}
	header := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>`
	send(header, s.Host())
	next() // features
	send(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>`,
		base64.StdEncoding.EncodeToString([]byte("\x00tester\x00any")))
	if el := next(); el.Local != "success" {
		t.Fatalf("auth: %s", el)
	}
	send(header, s.Host())
	next() // features
	send(`<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`)
	if el := next(); el.Attr("type") != "result" {
		t.Fatalf("bind: %s", el)
	}
	send(`<iq type='get' id='ping' to='%s'><ping xmlns='urn:xmpp:ping'/></iq>`, s.Component())
	for {
		el := next()
		if el.Local == "iq" && el.Attr("id") == "ping" {
			if el.Attr("type") != "result" || el.Attr("from") != s.Component() {
				t.Fatalf("ping answered with %s", el)
			}
			// Close as a client should, so the session is gone before a
			// test stops Prosody.
			send(`</stream:stream>`)
			io.Copy(io.Discard, c)
			return
		}
		if el.Local == "message" {
			t.Fatalf("foreign stanza reached the client: %s", el)
		}
	}
}
