package component

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"chorus/room"
	"chorus/stanza"
)

// linkAttack is one stanza a server accepts from a user and forwards to us,
// over one of the link's per-stanza limits (Chorus's defaults).
type linkAttack struct {
	name   string
	stanza func(id, to string) string
	text   string // the start of the refusal's <text/>
}

const attackFrom = "mallory@localhost/x"

func attackStanza(id, to, inner string) string {
	return `<message from='` + attackFrom + `' to='` + to + `' id='` + id + `' type='chat'>` + inner + `</message>`
}

// linkAttacks are the shapes of the issue: deep nesting, many attributes,
// huge text, and text that the server re-escaped to six times the size the
// user sent (Prosody writes each " as &quot;), all below the bytes the link
// reads before it gives a stream up.
var linkAttacks = []linkAttack{
	{"33 nested elements", func(id, to string) string {
		return attackStanza(id, to, strings.Repeat("<x xmlns='urn:x'>", 33)+strings.Repeat("</x>", 33))
	}, "Stanza nested too deeply"},
	{"5000 nested elements", func(id, to string) string {
		return attackStanza(id, to, strings.Repeat("<x xmlns='urn:x'>", 5000)+strings.Repeat("</x>", 5000))
	}, "Stanza nested too deeply"},
	{"65 attributes", func(id, to string) string {
		return attackStanza(id, to, "<x xmlns='urn:x'"+manyPlainAttrs(65)+"/>")
	}, "Element with too many attributes"},
	{"20000 attributes", func(id, to string) string {
		return attackStanza(id, to, "<x xmlns='urn:x'"+manyPlainAttrs(20000)+"/>")
	}, "Element with too many attributes"},
	{"300 KB text", func(id, to string) string {
		return attackStanza(id, to, "<body>"+strings.Repeat("x", 300<<10)+"</body>")
	}, "Stanza too large"},
	{"300 KB text escaped to 1.8 MB", func(id, to string) string {
		return attackStanza(id, to, "<body>"+strings.Repeat("&quot;", 300<<10)+"</body>")
	}, "Stanza too large"},
}

func manyPlainAttrs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " a%d='v'", i)
	}
	return b.String()
}

// TestOneStanzaNeverCostsTheLink: stanzas over every per-stanza limit, to
// a room, an occupant and the bare service, several times in a row, are
// refused one by one with modify/policy-violation from the address they
// were sent to, while another user's stanzas in between are all handled;
// the link never goes down and no stream error is sent.
func TestOneStanzaNeverCostsTheLink(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	h := &recordingHandler{}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)

	targets := []string{"room@" + testDomain, "room@" + testDomain + "/Nick", testDomain}
	const rounds = 3
	type refusal struct{ from, text string }
	want := map[string]refusal{} // by id
	var victim []string
	var input strings.Builder
	for r := range rounds {
		for i, a := range linkAttacks {
			for j, to := range targets {
				id := fmt.Sprintf("a%d-%d-%d", r, i, j)
				want[id] = refusal{to, a.text}
				input.WriteString(a.stanza(id, to))
				v := fmt.Sprintf("v%d-%d-%d", r, i, j)
				victim = append(victim, v)
				input.WriteString(`<iq from='juliet@localhost/b' to='room@` + testDomain + `' id='` + v + `' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
			}
		}
	}
	// Never answered: an error reply, and a stanza without sender.
	input.WriteString(strings.Replace(linkAttacks[0].stanza("e", targets[0]), "type='chat'", "type='error'", 1))
	input.WriteString(strings.Replace(linkAttacks[0].stanza("n", targets[0]), "from='"+attackFrom+"' ", "", 1))
	input.WriteString(ping("last"))
	werr := make(chan error, 1)
	go func() { _, err := io.WriteString(c.c, input.String()); werr <- err }()

	gotVictim := map[string]bool{}
	for {
		st := readWithin(t, c, time.Minute)
		if st == nil || st.Local == "error" {
			t.Fatalf("got %v, want the link to stay up", st)
		}
		id := st.Attr("id")
		if id == "last" {
			break
		}
		if strings.HasPrefix(id, "v") {
			if st.Attr("type") != "result" || st.Attr("to") != "juliet@localhost/b" {
				t.Errorf("victim's stanza answered with %s", st)
			}
			gotVictim[id] = true
			continue
		}
		w, ok := want[id]
		if !ok {
			t.Errorf("unexpected %s", st)
			continue
		}
		delete(want, id)
		e := st.Child(stanza.NSClient, "error")
		if st.Attr("type") != "error" || st.Attr("to") != attackFrom || st.Attr("from") != w.from ||
			e.Attr("type") != "modify" || e.Child(stanza.NSStanzas, "policy-violation") == nil ||
			!strings.HasPrefix(e.ChildText(stanza.NSStanzas, "text"), w.text) {
			t.Errorf("%s: got %s, want modify/policy-violation from %s saying %q", id, st, w.from, w.text)
		}
	}
	if len(want) != 0 {
		t.Errorf("%d refused stanzas not answered", len(want))
	}
	for _, v := range victim {
		if !gotVictim[v] {
			t.Errorf("the other user's %s was not answered", v)
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if got, wantSeen := strings.Join(h.seen(), " "), strings.Join(append(victim, "last"), " "); got != wantSeen {
		t.Errorf("handler saw %q, want only the other user's stanzas", got)
	}
	select {
	case up := <-hs.states:
		t.Errorf("link state changed to %v", up)
	default:
	}
	if n := hs.logs.count("stream error"); n != 0 {
		t.Errorf("%d stream errors logged", n)
	}
}

// TestOversizedOutputDropped: a stanza we would write beyond what the
// server takes from a component (Prosody ends the link over one) is
// dropped, for every recipient, and the link carries on. A user can make
// one: a payload of quotes in an attribute comes back re-escaped to six
// times the size the user sent.
func TestOversizedOutputDropped(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		msg := stanza.New(stanza.NSClient, "message", "from", "room@"+testDomain+"/m", "type", "groupchat", "id", st.Attr("id"))
		if st.Attr("id") == "big" {
			msg.Add(stanza.New("urn:x", "x", "a", strings.Repeat(`"`, 100<<10)))
		}
		return []room.Out{{To: []string{"a@localhost/a", "b@localhost/b"}, Stanza: msg}}
	}}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)
	c.send(t, `<message from='a@localhost/a' to='room@`+testDomain+`' id='big' type='groupchat'/>`)
	c.send(t, `<message from='a@localhost/a' to='room@`+testDomain+`' id='small' type='groupchat'/>`)
	for _, to := range []string{"a@localhost/a", "b@localhost/b"} {
		if st := c.read(t); st == nil || st.Attr("id") != "small" || st.Attr("to") != to {
			t.Fatalf("got %s, want the small message to %s", clip(fmt.Sprint(st)), to)
		}
	}
	if n := hs.logs.count("dropped outbound stanza: larger than the server takes from a component"); n != 1 {
		t.Errorf("%d log lines about the dropped stanza, want 1", n)
	}
	select {
	case up := <-hs.states:
		t.Errorf("link state changed to %v", up)
	default:
	}
}
