package component

import (
	"fmt"
	"strings"
	"testing"
)

// TestStreamNamespaceInsideStanza: elements in the stream namespace inside
// a stanza are payload, which servers forward as they are; only between
// stanzas are they the stream's (a stream error there still ends the
// link, see TestStreamErrorIsLoss).
func TestStreamNamespaceInsideStanza(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	h := &recordingHandler{}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)
	for i, inner := range []string{
		`<error xmlns='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></error>`,
		`<x xmlns='urn:x'><s:error xmlns:s='http://etherx.jabber.org/streams'/></x>`,
		`<features xmlns='http://etherx.jabber.org/streams'/>`,
		`<stream xmlns='http://etherx.jabber.org/streams'/>`,
	} {
		id := fmt.Sprint("s", i)
		c.send(t, `<iq from='mallory@localhost/x' to='room@`+testDomain+`' id='`+id+`' type='set'>`+inner+`</iq>`)
		if st := c.read(t); st == nil || st.Attr("id") != id {
			t.Fatalf("%s: got %v, want it handled", inner, st)
		}
	}
	select {
	case up := <-hs.states:
		t.Errorf("link state changed to %v", up)
	default:
	}
	if got := strings.Join(h.seen(), " "); got != "s0 s1 s2 s3" {
		t.Errorf("handler saw %q", got)
	}
}
