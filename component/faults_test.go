package component

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"chorus/room"
	"chorus/stanza"
)

// resyncHandler counts the resynchronisations it is asked for.
type resyncHandler struct {
	funcHandler
	resyncs chan struct{}
}

func (h resyncHandler) Reconnected() []room.Out {
	h.resyncs <- struct{}{}
	return []room.Out{room.To1("u@localhost/r", stanza.MustParse(`<iq type='get' id='ghost-check-1' from='room@conference.localhost'><ping xmlns='urn:xmpp:ping'/></iq>`))}
}

// After a lost link, the handler checks its sessions on the new link, and
// not on the first one.
func TestResyncAfterReconnect(t *testing.T) {
	srv := newFakeServer(t, "conference.localhost", "s")
	h := resyncHandler{resyncs: make(chan struct{}, 4)}
	hs := startRun(t, Config{Domain: "conference.localhost", Secret: "s", Server: srv.addr()}, h)
	c := srv.next(t)
	hs.waitState(t, true)
	select {
	case <-h.resyncs:
		t.Fatal("resynchronised on the first link")
	case <-time.After(100 * time.Millisecond):
	}
	c.c.Close()
	hs.waitState(t, false)
	c2 := srv.next(t)
	hs.waitState(t, true)
	select {
	case <-h.resyncs:
	case <-time.After(5 * time.Second):
		t.Fatal("no resynchronisation after the reconnect")
	}
	if st := c2.read(t); st.Child("urn:xmpp:ping", "ping") == nil {
		t.Errorf("session check not sent: %v", st)
	}
}

// A server that stops reading: the bounded queue stops the reader instead
// of growing memory, the link is given up after the write timeout with a
// clear log line, and Chorus reconnects.
func TestServerStopsReading(t *testing.T) {
	srv := newFakeServer(t, "conference.localhost", "s")
	big := strings.Repeat("x", 16<<10)
	// Every stanza in fans out to 64 recipients of 16 KiB each: 1 MiB out.
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		to := make([]string, 64)
		for i := range to {
			to[i] = "u@localhost/r" + string(rune('a'+i%26))
		}
		msg := stanza.New(stanza.NSClient, "message", "from", "room@conference.localhost", "type", "groupchat").
			Add(stanza.New(stanza.NSClient, "body").AddText(big))
		return []room.Out{{To: to, Stanza: msg}}
	}}
	hs := startRun(t, Config{Domain: "conference.localhost", Secret: "s", Server: srv.addr(), WriteTimeout: time.Second}, h)
	c := srv.next(t)
	hs.waitState(t, true)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// Send stanzas and never read: the server's receive buffer fills,
	// then Chorus's writes block.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := c.c.Write([]byte(`<message from='u@localhost/r' to='room@conference.localhost' type='groupchat'><body>x</body></message>`)); err != nil {
				return
			}
		}
	}()
	hs.waitState(t, false) // given up after the write timeout
	close(stop)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %.1f MiB while the server did not read", float64(grew)/(1<<20))
	// The queue holds at most 64 batches of 1 MiB-fanout stanzas that
	// share one element each: a few MiB at most, not the flood.
	if grew > 64<<20 {
		t.Errorf("heap grew by %d bytes: the send queue is not bounded", grew)
	}
	if !strings.Contains(hs.logs.String(), "the server stopped reading") {
		t.Errorf("no clear log line:\n%s", hs.logs)
	}
	srv.next(t)
	hs.waitState(t, true) // reconnected
}

// More bytes than any server forwards as one stanza (meterLimit), without
// completing one: the stream ends with policy-violation and Chorus
// reconnects.
func TestFloodEndsStreamWithPolicyViolation(t *testing.T) {
	srv := newFakeServer(t, "conference.localhost", "s")
	hs := startRun(t, Config{Domain: "conference.localhost", Secret: "s", Server: srv.addr(), MaxStanzaBytes: 4 << 10}, funcHandler{})
	c := srv.next(t)
	hs.waitState(t, true)
	go c.c.Write([]byte(`<message from='u@localhost/r' to='room@conference.localhost'><body>` + strings.Repeat("y", 4<<20)))
	st := c.read(t)
	if st.Local != "error" || st.Child("urn:ietf:params:xml:ns:xmpp-streams", "policy-violation") == nil {
		t.Fatalf("want the policy-violation stream error, got %v", st)
	}
	hs.waitState(t, false)
	srv.next(t)
	hs.waitState(t, true)
}

// firstResyncHandler started with restored state: it is checked on the
// first link too.
type firstResyncHandler struct{ resyncHandler }

func (firstResyncHandler) ResyncFirst() bool { return true }

// A handler that restored occupants at start checks their sessions as
// soon as the first link is up: they may have ended while no service ran.
func TestResyncOnFirstLinkAfterRestore(t *testing.T) {
	srv := newFakeServer(t, "conference.localhost", "s")
	h := firstResyncHandler{resyncHandler{resyncs: make(chan struct{}, 4)}}
	hs := startRun(t, Config{Domain: "conference.localhost", Secret: "s", Server: srv.addr()}, h)
	c := srv.next(t)
	hs.waitState(t, true)
	select {
	case <-h.resyncs:
	case <-time.After(5 * time.Second):
		t.Fatal("no session check on the first link")
	}
	if st := c.read(t); st.Child("urn:xmpp:ping", "ping") == nil {
		t.Errorf("session check not sent: %v", st)
	}
}
