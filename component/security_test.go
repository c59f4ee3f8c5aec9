package component

import (
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"chorus/room"
	"chorus/stanza"
)

// TestAdminCommandsOnlyForServiceAdmins attacks the ad-hoc destroy command
// from every address that is not a service admin (CHORUS_ADMINS), including
// the room's own owner and look-alikes of the admin's address.
func TestAdminCommandsOnlyForServiceAdmins(t *testing.T) {
	reg := room.NewRegistry(room.Options{Domain: testDomain, Admins: []string{"admin@localhost"}})
	rt := NewRouter(testDomain, reg)
	send := func(from, s string) []*stanza.Element {
		st := stanza.MustParse(s)
		if from != "" {
			st.SetAttr("from", from)
		}
		return room.Flatten(rt.HandleStanza(st))
	}
	const roomJID = "victim@" + testDomain
	send("owner@localhost/r", `<presence to='`+roomJID+`/Owner'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	send("owner@localhost/r", `<iq type='set' id='c' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	if len(roomJIDs(t, reg)) != 1 {
		t.Fatal("room not created")
	}

	list := `<iq type='get' id='l' to='` + testDomain + `'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>`
	cmd := func(attrs, payload string) string {
		return `<iq type='set' id='x' to='` + testDomain + `'><command xmlns='http://jabber.org/protocol/commands' node='http://prosody.im/protocol/muc#destroy' ` + attrs + `>` + payload + `</command></iq>`
	}
	submit := `<x xmlns='jabber:x:data' type='submit'><field var='rooms'><value>` + roomJID + `</value></field></x>`
	requests := map[string]string{
		"form":           cmd("action='execute'", ""),
		"submit":         cmd("", submit),
		"complete":       cmd("action='complete' sessionid='destroy-1'", submit),
		"cancel":         cmd("action='cancel' sessionid='destroy-1'", ""),
		"unknown node":   strings.Replace(cmd("", submit), "muc#destroy", "muc#other", 1),
		"untyped submit": cmd("", `<x xmlns='jabber:x:data'><field var='rooms'><value>`+roomJID+`</value></field></x>`),
	}
	for _, from := range []string{
		"owner@localhost/r",          // owns the room, but is no service admin
		"evil@localhost/admin",       // the admin's localpart as a resource
		"admin@localhost.evil/r",     // the admin's address as a prefix
		"admin@evil.example/r",       // the admin's localpart elsewhere
		"localhost",                  // the admin's server itself
		"admin.localhost",            // a look-alike domain
		"conference.localhost/admin", // the service's own domain
	} {
		out := send(from, list)
		if len(out) != 1 || out[0].Attr("type") != "result" || len(out[0].FirstChild().Children()) != 0 {
			t.Errorf("%s: command list: %v", from, out)
		}
		for name, req := range requests {
			out := send(from, req)
			if len(out) != 1 || out[0].Attr("type") != "error" || out[0].Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "forbidden") == nil {
				t.Errorf("%s: %s: want forbidden, got %v", from, name, out)
			}
		}
		// The command is the service's, not the room's.
		out = send(from, strings.Replace(cmd("", submit), "to='"+testDomain+"'", "to='"+roomJID+"'", 1))
		if len(out) != 1 || out[0].Attr("type") != "error" {
			t.Errorf("%s: command sent to the room: %v", from, out)
		}
	}
	// No sender at all: nothing to answer, nothing done.
	if out := send("", requests["submit"]); len(out) != 0 {
		t.Errorf("anonymous command answered: %v", out)
	}
	if len(roomJIDs(t, reg)) != 1 {
		t.Fatal("a non-admin destroyed the room")
	}

	// The admin, in any spelling of the same address, may.
	out := send("ADMIN@LocalHost/r", list)
	if len(out) != 1 || len(out[0].FirstChild().Children()) != len(adminCommands) {
		t.Errorf("admin's command list: %v", out)
	}
	out = send("Admin@localhost/r", requests["submit"])
	if len(out) == 0 || out[len(out)-1].Attr("type") != "result" || len(roomJIDs(t, reg)) != 0 {
		t.Errorf("admin's destroy: %v", out)
	}
}

// hostileInput is raw data a malicious server writes on the component
// stream.
type hostileInput struct {
	name string
	data string
}

const (
	hostileFrom = "mallory@localhost/x"
	hostileTo   = "room@" + testDomain
)

// hostileMessage is a message from hostileFrom whose id is id and whose
// content is inner, unescaped.
func hostileMessage(id, inner string) string {
	return `<message from='` + hostileFrom + `' to='` + hostileTo + `' id='` + id + `' type='groupchat'>` + inner + `</message>`
}

func ping(id string) string {
	return `<iq from='` + hostileFrom + `' to='` + hostileTo + `' id='` + id + `' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`
}

// recordingHandler answers every stanza with an empty result and records
// the ids it was given.
type recordingHandler struct {
	mu  sync.Mutex
	ids []string
}

func (h *recordingHandler) HandleAt(_ room.Address, st *stanza.Element) []room.Out {
	h.mu.Lock()
	h.ids = append(h.ids, st.Attr("id"))
	h.mu.Unlock()
	return []room.Out{room.To1(st.Attr("from"), stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", st.Attr("id"), "type", "result"))}
}

func (h *recordingHandler) Shutdown() []room.Out { return nil }

func (h *recordingHandler) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

// TestRestrictedXMLDropsLink: RFC 6120 §11.1 forbids DTDs, entity
// declarations and references, processing instructions and comments.
// Chorus must never act on a stanza carrying them: it ends the stream and
// reconnects, and nothing read after the offending data on the old stream
// is handled.
func TestRestrictedXMLDropsLink(t *testing.T) {
	laughs := `<!DOCTYPE lolz [<!ENTITY lol "lol">`
	for i := 1; i <= 9; i++ {
		laughs += fmt.Sprintf(`<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	laughs = strings.Replace(laughs, "&lol0;", "&lol;", -1) + `]>`
	for _, in := range []hostileInput{
		{"DTD before a stanza", `<!DOCTYPE message>` + hostileMessage("bad", `<body>x</body>`)},
		{"billion laughs", laughs + hostileMessage("bad", `<body>&lol9;</body>`)},
		{"external entity", `<!DOCTYPE message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` + hostileMessage("bad", `<body>&xxe;</body>`)},
		{"DTD inside a stanza", hostileMessage("bad", `<!DOCTYPE body [<!ENTITY a "b">]><body>x</body>`)},
		{"entity reference in text", hostileMessage("bad", `<body>&lol;</body>`)},
		{"entity reference in an attribute", hostileMessage("bad", `<body xml:lang='&lol;'>x</body>`)},
		{"processing instruction before a stanza", `<?evil data?>` + hostileMessage("bad", `<body>x</body>`)},
		{"processing instruction inside a stanza", hostileMessage("bad", `<body>x<?evil data?></body>`)},
		{"comment before a stanza", `<!-- x -->` + hostileMessage("bad", `<body>x</body>`)},
		{"comment inside a stanza", hostileMessage("bad", `<body>x<!-- y --></body>`)},
	} {
		t.Run(in.name, func(t *testing.T) {
			srv := newFakeServer(t, testDomain, testSecret)
			h := &recordingHandler{}
			hs := startRun(t, testConfig(srv), h)
			c := srv.next(t)
			hs.waitState(t, true)
			c.send(t, ping("before"))
			if st := c.read(t); st == nil || st.Attr("id") != "before" {
				t.Fatalf("got %v, want the reply to the first ping", st)
			}
			c.send(t, in.data+ping("after"))
			st := c.read(t)
			if st != nil && st.Local == "error" && (st.Child(nsStreams, "restricted-xml") != nil || st.Child(nsStreams, "bad-format") != nil) {
				// The stream error RFC 6120 §11.1 recommends may come first.
				st = c.read(t)
			}
			if st != nil {
				t.Fatalf("got %s, want the component to end the stream", st)
			}
			hs.waitState(t, false)
			c = srv.next(t)
			hs.waitState(t, true)
			c.send(t, ping("reconnected"))
			if st := c.read(t); st == nil || st.Attr("id") != "reconnected" {
				t.Fatalf("got %v after reconnecting", st)
			}
			if got := strings.Join(h.seen(), " "); got != "before reconnected" {
				t.Errorf("handler saw %q", got)
			}
		})
	}
}

// TestPredefinedEntitiesAccepted is the control for the test above: the
// five predefined entities and character references are ordinary XML.
func TestPredefinedEntitiesAccepted(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	got := make(chan *stanza.Element, 1)
	hs := startRun(t, testConfig(srv), funcHandler{handle: func(st *stanza.Element) []room.Out {
		got <- st
		return nil
	}})
	c := srv.next(t)
	hs.waitState(t, true)
	c.send(t, hostileMessage("ok", `<body a='&quot;&apos;'>&lt;&gt;&amp;&#65;&#x42;</body>`))
	select {
	case st := <-got:
		if b := st.Child(stanza.NSClient, "body"); b.Text() != "<>&AB" || b.Attr("a") != `"'` {
			t.Errorf("decoded %s", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stanza with predefined entities not handled")
	}
}

// stanzaLimit is the MaxStanzaBytes of the oversize tests: small, so that
// "a few times the limit" is far below what the attacks send.
const stanzaLimit = 64 << 10

type oversizedStanza struct {
	name                  string
	prefix, chunk, suffix string
	n                     int
	// endsStream: Chorus ends the stream with the policy-violation stream
	// error and reconnects, rather than refusing the stanza alone.
	endsStream bool
}

// meterBytes is how many bytes Chorus reads without a complete stanza
// before it ends the stream (component.runner.meterLimit).
const meterBytes = meterFactor*max(stanzaLimit, 256<<10) + 64<<10

// oversized returns stanzas of about size bytes, each beyond stanzaLimit in
// its own way, written as prefix, then chunk repeated n times, then suffix,
// so that the test itself holds little of it in memory.
func oversized(size int) []oversizedStanza {
	head := `<message from='` + hostileFrom + `' to='` + hostileTo + `' id='big' type='groupchat'>`
	far := size > meterBytes
	kb := func(n int) string {
		if n >= 1<<20 {
			return fmt.Sprintf("%d MB", n>>20)
		}
		return fmt.Sprintf("%d KB", n>>10)
	}
	attrs := manyAttrs("a", 100)
	decls := manyAttrs("xmlns:p", 100)
	deep := min(size/3000, 100) * 1000
	return []oversizedStanza{
		{kb(size) + " text node", head + `<body>`, strings.Repeat("x", 4<<10), `</body></message>`, size / (4 << 10), far},
		{kb(size) + " attribute", head + `<body a='`, strings.Repeat("x", 4<<10), `'/></message>`, size / (4 << 10), far},
		{fmt.Sprintf("%d attributes", size/len(attrs)*100), head + `<body`, attrs, `/></message>`, size / len(attrs), far},
		{fmt.Sprintf("%d empty elements", size/4), head + `<x xmlns=''>`, strings.Repeat("<a/>", 1000), `</x></message>`, size / 4000, far},
		{fmt.Sprintf("%d namespace declarations", size/len(decls)*100), head + `<body`, decls, `/></message>`, size / len(decls), far},
		{fmt.Sprintf("%d nested elements", deep), head, strings.Repeat("<x>", 1000), strings.Repeat("</x>", deep) + `</message>`, deep / 1000, far},
	}
}

// manyAttrs returns n distinct attributes named prefix0, prefix1, ... with
// a 16-byte value. Each call of the chunk repeats the names, so chunks are
// told apart by a counter the writer substitutes for "#".
func manyAttrs(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " %s#_%d='http://e.example/%d'", prefix, i, i%10)
	}
	return b.String()
}

// nsStreams is the namespace of stream error conditions.
const nsStreams = "urn:ietf:params:xml:ns:xmpp-streams"

// chunks returns the chunks of o, computed before any measurement so that
// the test's own allocations do not count.
func (o oversizedStanza) chunks() [][]byte {
	out := make([][]byte, o.n)
	plain := []byte(o.chunk)
	for i := range out {
		out[i] = plain
		if strings.Contains(o.chunk, "#") {
			out[i] = []byte(strings.ReplaceAll(o.chunk, "#", fmt.Sprint(i)))
		}
	}
	return out
}

// write streams the stanza, then a ping, to w.
func (o oversizedStanza) write(w io.Writer, chunks [][]byte) error {
	if _, err := io.WriteString(w, o.prefix); err != nil {
		return err
	}
	for _, b := range chunks {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, o.suffix+ping("after"))
	return err
}

// readWithin is fakeConn.read with a deadline fit for large inputs.
func readWithin(t *testing.T, c *fakeConn, d time.Duration) *stanza.Element {
	t.Helper()
	c.c.SetReadDeadline(time.Now().Add(d))
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

// TestOversizedStanzaRefusedOnLink: a stanza somewhat beyond
// MaxStanzaBytes is refused to its sender with a policy-violation stanza
// error, never handled, and the link survives it; more bytes than any
// acceptable stanza needs, or nesting past the depth limit, end the stream
// with the policy-violation stream error (RFC 6120 §4.9.3.12), and Chorus
// reconnects. Either way nothing of it reaches the handler.
func TestOversizedStanzaRefusedOnLink(t *testing.T) {
	for _, o := range append(oversized(100<<10), oversized(1<<20)...) {
		t.Run(o.name, func(t *testing.T) {
			srv := newFakeServer(t, testDomain, testSecret)
			cfg := testConfig(srv)
			cfg.MaxStanzaBytes = stanzaLimit
			h := &recordingHandler{}
			hs := startRun(t, cfg, h)
			c := srv.next(t)
			hs.waitState(t, true)
			werr := make(chan error, 1)
			go func() { werr <- o.write(c.c, o.chunks()) }()
			st := readWithin(t, c, time.Minute)
			if o.endsStream {
				if st == nil || st.Local != "error" || st.Child(nsStreams, "policy-violation") == nil {
					t.Fatalf("got %v, want the policy-violation stream error", st)
				}
				if st := readWithin(t, c, time.Minute); st != nil {
					t.Fatalf("got %v, want the end of the stream", st)
				}
				hs.waitState(t, false)
				c = srv.next(t)
				hs.waitState(t, true)
				c.send(t, ping("after"))
			} else if st == nil || st.Attr("id") != "big" || st.Attr("type") != "error" || st.Attr("to") != hostileFrom ||
				st.Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "policy-violation") == nil {
				t.Fatalf("got %v, want a policy-violation stanza error", st)
			}
			if st := readWithin(t, c, time.Minute); st == nil || st.Attr("id") != "after" {
				t.Fatalf("got %v, want the reply to the next stanza", st)
			}
			if !o.endsStream {
				select {
				case up := <-hs.states:
					t.Errorf("link state changed to %v", up)
				default:
				}
			}
			c.c.Close()
			<-werr // fails where the stream ended first
			if got := strings.Join(h.seen(), " "); got != "after" {
				t.Errorf("handler saw %q", got)
			}
		})
	}
}

// peakHeap samples the live heap until stop is closed and returns the
// highest value seen. A low GC target while it runs keeps garbage from
// counting as growth, so what it measures is what is held at once.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	res := make(chan uint64, 1)
	go func() {
		var m runtime.MemStats
		peak := uint64(0)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-stop:
				res <- peak
				return
			case <-tick.C:
			}
		}
	}()
	return res
}

// TestOversizedStanzaMemoryBounded: refusing an oversized stanza must not
// hold more than a few times MaxStanzaBytes in memory at once, however
// large the stanza, or a server (or a client it lets through) can exhaust
// Chorus's memory with one stanza. What Chorus does with it (a stanza
// error, or ending the stream) is the test above's business; here only the
// heap growth while it deals with it counts.
func TestOversizedStanzaMemoryBounded(t *testing.T) {
	// What the decoder holds is bounded by the bytes it may read without a
	// complete stanza (one token of them, or a record per open element),
	// not by MaxStanzaBytes: that bound must lie above anything a server
	// forwards (see meterLimit), so it is what the heap is measured against.
	const bound = 6*meterBytes + 2<<20
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	// Far beyond the limit, and just under the bytes Chorus reads before it
	// gives the stream up: the largest stanzas that reach the decoder.
	for _, o := range append(oversized(8<<20), oversized(meterBytes-8<<10)...) {
		t.Run(o.name, func(t *testing.T) {
			srv := newFakeServer(t, testDomain, testSecret)
			cfg := testConfig(srv)
			cfg.MaxStanzaBytes = stanzaLimit
			hs := startRun(t, cfg, &recordingHandler{})
			c := srv.next(t)
			hs.waitState(t, true)
			c.send(t, ping("warm"))
			readWithin(t, c, 5*time.Second)

			chunks := o.chunks()
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			stop := make(chan struct{})
			peak := peakHeap(stop)
			werr := make(chan error, 1)
			go func() { werr <- o.write(c.c, chunks) }()
			// Done when the stanza is answered or the stream ended.
			for {
				st := readWithin(t, c, 2*time.Minute)
				if st == nil || st.Attr("id") == "after" || (st.Attr("id") == "big" && st.Attr("type") == "error") {
					break
				}
			}
			close(stop)
			grew := int64(<-peak) - int64(base.HeapAlloc)
			c.c.Close()
			<-werr
			total := int64(len(o.prefix)+len(o.suffix)) + int64(len(o.chunk))*int64(o.n)
			t.Logf("%.1f MB sent, heap grew by %.1f MB", float64(total)/(1<<20), float64(grew)/(1<<20))
			if grew > bound {
				t.Errorf("refusing a %d-byte stanza grew the heap by %d bytes, more than %d (MaxStanzaBytes %d)", total, grew, bound, stanzaLimit)
			}
		})
	}
}

// TestSplitTextCostsLinear: text split into many runs (CDATA sections,
// which encoding/xml returns one by one) must cost the decoder work in
// proportion to its size. A stanza within every limit, one after another,
// must not make Chorus allocate gigabytes and stall every room.
func TestSplitTextCostsLinear(t *testing.T) {
	const bound = 4*meterBytes + 2<<20
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	cfg.MaxStanzaBytes = stanzaLimit
	h := &recordingHandler{}
	hs := startRun(t, cfg, h)
	c := srv.next(t)
	hs.waitState(t, true)
	// Within MaxStanzaBytes once decoded (two characters a run), and
	// under the bytes Chorus reads before it gives the stream up.
	runs := min(meterBytes-8<<10, 7*(stanzaLimit-4<<10)) / len("<![CDATA[xy]]>")
	stanza := hostileMessage("split", `<body>`+strings.Repeat("<![CDATA[xy]]>", runs)+`</body>`) + ping("after")
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	go c.c.Write([]byte(stanza))
	for st := readWithin(t, c, time.Minute); st == nil || st.Attr("id") != "after"; st = readWithin(t, c, time.Minute) {
		if st == nil {
			t.Fatal("stream ended")
		}
	}
	runtime.ReadMemStats(&after)
	grew := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d text runs in %d bytes: %.1f MB allocated in %v", runs, len(stanza), float64(grew)/(1<<20), time.Since(start))
	if got := strings.Join(h.seen(), " "); got != "split after" {
		t.Errorf("handler saw %q", got)
	}
	if grew > bound {
		t.Errorf("a %d-byte stanza of %d text runs allocated %d bytes, more than %d", len(stanza), runs, grew, bound)
	}
}
