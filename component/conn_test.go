package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"chorus/room"
	"chorus/stanza"
)

const (
	testDomain = "conference.localhost"
	testSecret = "s3cret"
)

func testConfig(srv *fakeServer) Config {
	return Config{Domain: testDomain, Secret: testSecret, Server: srv.addr()}
}

func TestHandshakeAndFanOut(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	got := make(chan *stanza.Element, 1)
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		got <- st
		msg := stanza.New(stanza.NSClient, "message", "from", "room@"+testDomain+"/alice", "type", "groupchat")
		msg.Add(stanza.New(stanza.NSClient, "body").AddText("hi & bye"))
		return []room.Out{{To: []string{"alice@localhost/a", "bob@localhost/b", "carol@localhost/c"}, Stanza: msg}}
	}}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)

	c.send(t, `<message from='alice@localhost/a' to='room@conference.localhost' type='groupchat'><body>hi &amp; bye</body></message>`)
	in := <-got
	if in.Space != stanza.NSClient || in.Attr("to") != "room@"+testDomain || in.ChildText(stanza.NSClient, "body") != "hi & bye" {
		t.Errorf("handler got %s (space %q)", in, in.Space)
	}
	for i, want := range []string{"alice@localhost/a", "bob@localhost/b", "carol@localhost/c"} {
		st := c.read(t)
		if st == nil {
			t.Fatalf("%d: stream closed", i)
		}
		if st.Attr("to") != want || st.Attr("from") != "room@"+testDomain+"/alice" || st.ChildText(stanza.NSClient, "body") != "hi & bye" {
			t.Errorf("%d: got %s, want to=%s", i, st, want)
		}
	}
	if n := hs.logs.count(`"message":"component connected"`); n != 1 {
		t.Errorf("%d connected lines", n)
	}
}

func TestWrongSecretRetries(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	cfg.Secret = "wrong"
	hs := startRun(t, cfg, funcHandler{})
	deadline := time.Now().Add(5 * time.Second)
	for srv.attempts.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	hs.stop(t)
	if n := srv.attempts.Load(); n < 2 {
		t.Fatalf("%d attempts, want at least 2", n)
	}
	if n := hs.logs.count("component handshake refused: check CHORUS_SECRET"); n < 2 {
		t.Errorf("%d handshake-refused lines, want at least 2", n)
	}
	select {
	case up := <-hs.states:
		t.Errorf("state changed to %v with a wrong secret", up)
	default:
	}
}

func TestConflictRetries(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	srv.refuse = func(n int32) string {
		if n <= 2 {
			return "conflict"
		}
		return ""
	}
	hs := startRun(t, testConfig(srv), funcHandler{})
	srv.next(t)
	hs.waitState(t, true)
	if n := hs.logs.count("the server still holds another connection for this domain"); n != 2 {
		t.Errorf("%d conflict lines, want 2:\n%s", n, hs.logs)
	}
}

func TestReconnectAfterServerClose(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	hs := startRun(t, testConfig(srv), funcHandler{handle: func(st *stanza.Element) []room.Out {
		return []room.Out{room.To1(st.Attr("from"), stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", st.Attr("id"), "type", "result"))}
	}})
	c := srv.next(t)
	hs.waitState(t, true)
	c.send(t, `</stream:stream>`)
	if st := c.read(t); st != nil {
		t.Fatalf("got %s, want the component's </stream:stream>", st)
	}
	c.c.Close()
	hs.waitState(t, false)

	c = srv.next(t)
	hs.waitState(t, true)
	c.send(t, `<iq from='a@localhost/x' to='conference.localhost' id='p1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if st := c.read(t); st == nil || st.Attr("id") != "p1" || st.Attr("type") != "result" {
		t.Fatalf("after reconnect got %v", st)
	}

	// A socket closed without a stream end is a loss too.
	c.c.Close()
	hs.waitState(t, false)
	srv.next(t)
	hs.waitState(t, true)
	if n := hs.logs.count(`"message":"component disconnected"`); n != 2 {
		t.Errorf("%d disconnected lines, want 2", n)
	}
}

func TestStreamErrorIsLoss(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	hs := startRun(t, testConfig(srv), funcHandler{})
	c := srv.next(t)
	hs.waitState(t, true)
	c.send(t, `<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Going down</text></stream:error></stream:stream>`)
	hs.waitState(t, false)
	srv.next(t)
	hs.waitState(t, true)
	if n := hs.logs.count("stream error system-shutdown: Going down"); n != 1 {
		t.Errorf("stream error logged %d times:\n%s", n, hs.logs)
	}
}

func TestShutdown(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	h := funcHandler{shutdown: func() []room.Out {
		p := stanza.New(stanza.NSClient, "presence", "from", "room@"+testDomain+"/alice", "type", "unavailable")
		p.Add(stanza.New("http://jabber.org/protocol/muc#user", "x").Add(
			stanza.New("http://jabber.org/protocol/muc#user", "status", "code", "332")))
		return []room.Out{{To: []string{"alice@localhost/a", "bob@localhost/b"}, Stanza: p}}
	}}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)

	hs.cancel()
	for _, want := range []string{"alice@localhost/a", "bob@localhost/b"} {
		st := c.read(t)
		if st == nil || st.Attr("to") != want || st.Attr("type") != "unavailable" {
			t.Fatalf("got %v, want unavailable presence to %s", st, want)
		}
	}
	if st := c.read(t); st != nil {
		t.Fatalf("got %s, want </stream:stream>", st)
	}
	// Run waits for our close before it returns.
	select {
	case err := <-hs.done:
		t.Fatalf("Run returned (%v) before the server closed its stream", err)
	case <-time.After(50 * time.Millisecond):
	}
	c.send(t, `</stream:stream>`)
	select {
	case err := <-hs.done:
		if err != nil {
			t.Fatal(err)
		}
		close(hs.done)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	if !strings.Contains(hs.logs.String(), "component shutting down") {
		t.Error("no shutdown line")
	}
}

// TestHalt: cancelled with ErrHalted, Run closes the connection at once,
// without the shutdown stanzas, the output still due or the end of the
// stream, and returns without waiting for the server.
func TestHalt(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	var shutdowns atomic.Int32
	h := funcHandler{
		shutdown: func() []room.Out {
			shutdowns.Add(1)
			return []room.Out{{To: []string{"alice@localhost/a"},
				Stanza: stanza.New(stanza.NSClient, "presence", "from", "room@"+testDomain+"/alice", "type", "unavailable")}}
		},
	}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)
	hs.halt()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		tok, err := c.d.Token()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("the connection stayed open after the halt")
			}
			break // closed, as it should be
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			t.Fatalf("got <%s> after the halt", tok.Name.Local)
		case xml.EndElement:
			t.Fatalf("got </%s> after the halt", tok.Name.Local)
		}
	}
	select {
	case err := <-hs.done:
		close(hs.done)
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if n := shutdowns.Load(); n != 0 {
		t.Errorf("Shutdown called %d times after a halt", n)
	}
	if !strings.Contains(hs.logs.String(), "component halted") {
		t.Error("no halt line")
	}
}

func TestShutdownWithoutServerClose(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	hs := startRun(t, testConfig(srv), funcHandler{})
	c := srv.next(t)
	hs.waitState(t, true)
	hs.cancel()
	if st := c.read(t); st != nil {
		t.Fatalf("got %s, want </stream:stream>", st)
	}
	// The server never answers our </stream:stream>: Run must return
	// anyway, giving up after closeWait. The bound only limits the wait.
	select {
	case err := <-hs.done:
		close(hs.done)
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(closeWait + 30*time.Second):
		t.Fatal("Run did not return")
	}
}

func TestCancelWhileDisconnected(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	addr := srv.addr()
	srv.ln.Close()
	hs := startRun(t, Config{Domain: testDomain, Secret: testSecret, Server: addr,
		MinBackoff: time.Hour, MaxBackoff: time.Hour}, funcHandler{})
	deadline := time.Now().Add(5 * time.Second)
	for hs.logs.count("component connection failed") == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	hs.stop(t)
	if !strings.Contains(hs.logs.String(), "component stopped") {
		t.Errorf("log:\n%s", hs.logs)
	}
}

func TestHandlerPanic(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		if st.Attr("id") == "boom" || st.Attr("id") == "boom-result" {
			panic("room exploded")
		}
		return []room.Out{room.To1(st.Attr("from"), stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", st.Attr("id"), "type", "result"))}
	}}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)

	c.send(t, `<iq from='a@localhost/x' to='room@conference.localhost' id='boom' type='set'><query xmlns='urn:example'/></iq>`)
	st := c.read(t)
	if st == nil || st.Local != "iq" || st.Attr("type") != "error" || st.Attr("id") != "boom" ||
		st.Attr("to") != "a@localhost/x" || st.Attr("from") != "room@"+testDomain {
		t.Fatalf("got %v", st)
	}
	if e := st.Child(stanza.NSClient, "error"); e.Attr("type") != "wait" || e.Child(stanza.NSStanzas, "internal-server-error") == nil {
		t.Errorf("error %s", st)
	}
	// A result is never answered with an error; the next stanza is served.
	c.send(t, `<iq from='a@localhost/x' to='room@conference.localhost' id='boom-result' type='result'/>`)
	c.send(t, `<iq from='a@localhost/x' to='room@conference.localhost' id='ok' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	if st := c.read(t); st == nil || st.Attr("id") != "ok" || st.Attr("type") != "result" {
		t.Fatalf("after panic got %v", st)
	}
	if n := hs.logs.count(`"message":"handler panic"`); n != 2 {
		t.Errorf("%d panic lines, want 2", n)
	}
}

func TestForeignFromNotWritten(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		mk := func(from, body string) *stanza.Element {
			return stanza.New(stanza.NSClient, "message", "from", from).Add(stanza.New(stanza.NSClient, "body").AddText(body))
		}
		return []room.Out{
			room.To1("a@localhost", mk("", "no from")),
			room.To1("a@localhost", mk("room@evil.example/x", "foreign")),
			room.To1("a@localhost", mk("room@"+testDomain+".evil.example", "suffix")),
			room.To1("a@localhost", mk("localhost", "server")),
			{To: []string{""}, Stanza: mk("room@"+testDomain, "empty to")},
			room.To1("a@localhost", mk("room@"+testDomain+"/nick", "ok")),
		}
	}}
	hs := startRun(t, testConfig(srv), h)
	c := srv.next(t)
	hs.waitState(t, true)
	c.send(t, `<message from='a@localhost' to='room@conference.localhost'><body>x</body></message>`)
	st := c.read(t)
	if st == nil || st.ChildText(stanza.NSClient, "body") != "ok" {
		t.Fatalf("got %v, want only the stanza from our domain", st)
	}
	if n := hs.logs.count("dropped outbound stanza: from is not in the component's domain"); n != 4 {
		t.Errorf("%d drop lines, want 4", n)
	}
	if n := hs.logs.count("dropped outbound stanza: empty recipient"); n != 1 {
		t.Errorf("%d empty-recipient lines, want 1", n)
	}
}

func TestOversizedStanzaRefused(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	cfg.MaxStanzaBytes = 1000
	var seen []string
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		seen = append(seen, st.Attr("id"))
		return []room.Out{room.To1(st.Attr("from"), stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", st.Attr("id"), "type", "result"))}
	}}
	hs := startRun(t, cfg, h)
	c := srv.next(t)
	hs.waitState(t, true)
	c.send(t, `<message from='a@localhost/x' to='room@conference.localhost' id='big'><body>`+strings.Repeat("x", 5000)+`</body><x xmlns='urn:example'><y/></x></message>`)
	c.send(t, `<iq from='a@localhost/x' to='room@conference.localhost' id='small' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	st := c.read(t)
	if st == nil || st.Attr("id") != "big" || st.Attr("type") != "error" ||
		st.Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "policy-violation") == nil {
		t.Fatalf("got %v, want policy-violation", st)
	}
	if st := c.read(t); st == nil || st.Attr("id") != "small" {
		t.Fatalf("got %v, want the reply to the next stanza", st)
	}
	c.c.Close()
	hs.stop(t)
	if len(seen) != 1 || seen[0] != "small" {
		t.Errorf("handler saw %v", seen)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for i, cfg := range [...]Config{
		0: {Domain: "", Secret: "s", Server: "127.0.0.1:1"},
		1: {Domain: "room@conference.localhost", Secret: "s", Server: "127.0.0.1:1"},
		2: {Domain: "conference.localhost/x", Secret: "s", Server: "127.0.0.1:1"},
		3: {Domain: "conference.localhost", Secret: "", Server: "127.0.0.1:1"},
		4: {Domain: "conference.localhost", Secret: "s", Server: ""},
	} {
		if err := Run(context.Background(), cfg, funcHandler{}); err == nil {
			t.Errorf("%d: no error", i)
		}
	}
}

func TestInDomain(t *testing.T) {
	for i, tc := range [...]struct {
		addr string
		ok   bool
	}{
		0:  {"conference.localhost", true},
		1:  {"room@conference.localhost", true},
		2:  {"room@conference.localhost/nick", true},
		3:  {"room@conference.localhost/ni/ck@x", true},
		4:  {"conference.localhost/res", true},
		5:  {"", false},
		6:  {"localhost", false},
		7:  {"room@localhost", false},
		8:  {"room@conference.localhost.evil", false},
		9:  {"@conference.localhost", false},
		10: {"room@conference.localhost/", false},
		11: {"a@b@conference.localhost", false},
		12: {"xconference.localhost", false},
	} {
		if got := inDomain(tc.addr, "conference.localhost"); got != tc.ok {
			t.Errorf("%d: inDomain(%q) = %v", i, tc.addr, got)
		}
	}
}

// TestBackoffWait: the wait grows only with attempts in a row that failed
// to get the link up, stays within [minWait, maxWait], and after a link that
// was up (failures == 0) is the shortest one. jitter is injected: lowest
// and highest draw.
func TestBackoffWait(t *testing.T) {
	const minW, maxW = time.Second, 30 * time.Second
	low := func(time.Duration) time.Duration { return 0 }
	high := func(n time.Duration) time.Duration { return n - 1 }
	for i, tc := range [...]struct {
		failures  int
		low, high time.Duration
	}{
		0: {0, minW, minW}, // after a link that was up, however short
		1: {1, minW, 2 * minW},
		2: {2, 2 * minW, 4 * minW},
		3: {3, 4 * minW, 8 * minW},
		4: {4, 8 * minW, 16 * minW},
		5: {5, 15 * time.Second, maxW},
		6: {6, 15 * time.Second, maxW},
		7: {1000, 15 * time.Second, maxW}, // no overflow
	} {
		if got := backoffWait(minW, maxW, tc.failures, low); got != tc.low {
			t.Errorf("%d: lowest wait after %d failures: %v, want %v", i, tc.failures, got, tc.low)
		}
		if got := backoffWait(minW, maxW, tc.failures, high); got != tc.high {
			t.Errorf("%d: highest wait after %d failures: %v, want %v", i, tc.failures, got, tc.high)
		}
	}
	// min == max: always that.
	for f := range 5 {
		if got := backoffWait(minW, minW, f, high); got != minW {
			t.Errorf("min == max, %d failures: %v", f, got)
		}
	}
}

// TestShortOutagesDoNotGrowBackoff: a server that ends every link right
// after the handshake (as one hostile stanza did, once per stanza) gets
// our reconnects after the shortest wait every time; only failed attempts
// make the wait grow. The waits are read from the log lines, not timed.
func TestShortOutagesDoNotGrowBackoff(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	cfg.MinBackoff = 10 * time.Millisecond
	cfg.MaxBackoff = 10 * time.Second
	hs := startRun(t, cfg, funcHandler{})
	for range 5 {
		c := srv.next(t)
		hs.waitState(t, true)
		c.send(t, `<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>`)
		c.c.Close()
		hs.waitState(t, false)
	}
	srv.next(t)
	hs.waitState(t, true)
	hs.stop(t)
	var waits []string
	for _, line := range strings.Split(hs.logs.String(), "\n") {
		if strings.Contains(line, `"message":"component disconnected"`) {
			_, in, _ := strings.Cut(line, `"retry_in":"`)
			in, _, _ = strings.Cut(in, `"`)
			waits = append(waits, in)
		}
	}
	if len(waits) != 5 {
		t.Fatalf("%d disconnected lines, want 5:\n%s", len(waits), hs.logs)
	}
	for i, w := range waits {
		if w != "10ms" {
			t.Errorf("outage %d: retry in %s, want the minimum 10ms (all: %v)", i, w, waits)
		}
	}
}

func TestErrorReply(t *testing.T) {
	for i, tc := range [...]struct {
		in   string
		want string
	}{
		0: {`<iq from='a@b/c' to='r@conference.localhost' id='1' type='get'/>`,
			`<iq to='a@b/c' from='r@conference.localhost' id='1' type='error'><error type='wait'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
		1: {`<iq from='a@b/c' to='r@conference.localhost' id='1' type='result'/>`, ``},
		2: {`<message from='a@b/c' to='r@conference.localhost' type='error'/>`, ``},
		3: {`<presence to='r@conference.localhost/n'/>`, ``},
		4: {`<message from='a@b/c'/>`,
			`<message to='a@b/c' from='conference.localhost' type='error'><error type='wait'><internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`},
		5: {`<foo from='a@b/c'/>`, ``},
	} {
		outs := errorReply(stanza.MustParse(tc.in), stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError}, "conference.localhost")
		var got string
		for _, o := range outs {
			for _, to := range o.To {
				got += string(o.Stanza.AppendWithTo(nil, to))
			}
		}
		if got != tc.want {
			t.Errorf("%d: got %s, want %s", i, got, tc.want)
		}
	}
}

// TestRoomsRunInParallel: a room whose handling is held up does not hold
// up another room, and each room's stanzas keep their order.
func TestRoomsRunInParallel(t *testing.T) {
	const slow = "slow@" + testDomain
	const fast = "fast@" + testDomain
	srv := newFakeServer(t, testDomain, testSecret)
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		if strings.HasPrefix(st.Attr("to"), slow) {
			<-release
		}
		return []room.Out{room.To1(st.Attr("from"), stanza.New(stanza.NSClient, "iq", "from", st.Attr("to"), "id", st.Attr("id"), "type", "result"))}
	}}
	hs := startRun(t, testConfig(srv), h)
	t.Cleanup(free) // before the run's own cleanup, which waits for the handler
	c := srv.next(t)
	hs.waitState(t, true)

	c.send(t, `<iq from='a@localhost/x' to='`+slow+`/nick' id='s1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	c.send(t, `<iq from='a@localhost/x' to='`+slow+`' id='s2' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`)
	for i := 1; i <= 3; i++ {
		c.send(t, fmt.Sprintf(`<iq from='a@localhost/x' to='%s' id='f%d' type='get'><ping xmlns='urn:xmpp:ping'/></iq>`, fast, i))
	}
	for i := 1; i <= 3; i++ {
		if st := c.read(t); st == nil || st.Attr("id") != fmt.Sprintf("f%d", i) {
			t.Fatalf("while the slow room is held up, got %v, want the fast room's f%d", st, i)
		}
	}
	free()
	for _, id := range []string{"s1", "s2"} {
		if st := c.read(t); st == nil || st.Attr("id") != id {
			t.Fatalf("got %v, want %s", st, id)
		}
	}
}
