package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"chorus/stanza"
	"chorus/store"
)

const juliet2 = "juliet@localhost/garden"

// liveProbe is a real store that counts and can fail the live state's
// writes, and records what each write named as gone.
type liveProbe struct {
	store.Store
	live store.LiveStore

	mu    sync.Mutex
	saves int
	gone  [][]string
	fail  bool
}

func (p *liveProbe) SaveLive(ctx context.Context, batch []store.LiveRoom, gone []string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errFail
	}
	p.saves++
	p.gone = append(p.gone, slices.Clone(gone))
	return p.live.SaveLive(ctx, batch, gone)
}

func (p *liveProbe) LoadLive(ctx context.Context) ([]store.LiveRoom, error) {
	return p.live.LoadLive(ctx)
}

func (p *liveProbe) setFail(f bool) {
	p.mu.Lock()
	p.fail = f
	p.mu.Unlock()
}

func (p *liveProbe) count() (int, [][]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.saves, slices.Clone(p.gone)
}

// newLiveProbe opens a private SQLite database in memory.
func newLiveProbe(t testing.TB) *liveProbe {
	st, err := store.Open(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &liveProbe{Store: st, live: st.(store.LiveStore)}
}

// newLiveHarness is a store harness that keeps live state in p. The
// write-behind never ticks by itself: tests call flushLive, the tick.
func newLiveHarness(t *testing.T, p *liveProbe, onStop string, errs *[]error) *harness {
	return newHarnessWith(t, Options{Store: p, Live: p, LiveInterval: time.Hour, OnStop: onStop}, errs)
}

// in2 readdresses a stanza for room1 to room2.
func in2(raw string) string { return strings.ReplaceAll(raw, room1, room2) }

func (h *harness) tick() {
	h.t.Helper()
	if err := h.g.flushLive(false); err != nil {
		h.t.Fatal(err)
	}
}

// fillRooms makes the persistent room1 (Romeo; Juliet through two
// sessions) and the temporary room2 (Nurse, Benvolio), each with a
// subject, and returns the presences a newcomer gets in each.
func fillRooms(h *harness) (list1, list2 string) {
	h.t.Helper()
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_roomname", "Verona")
	h.send(juliet, join("Juliet"))
	h.send(juliet2, join("Juliet"))
	h.send(romeo, `<message type='groupchat' to='`+room1+`'><subject>Feud</subject></message>`)
	h.send(nurse, in2(join("Nurse")))
	if out := h.send(nurse, in2(config("muc#roomconfig_roomname", "Kitchen"))); out[0].Attr("type") != "result" {
		h.t.Fatalf("configuration refused: %v", out)
	}
	h.send(benvolio, in2(join("Benvolio")))
	h.send(nurse, `<message type='groupchat' to='`+room2+`'><subject>Lunch</subject></message>`)
	h.send(nurse, `<message type='groupchat' id='n1' to='`+room2+`'><body>soup</body></message>`)
	list1, list2 = newcomerSees(h, room1), newcomerSees(h, room2)
	return list1, list2
}

// newcomerSees joins Mercutio to a room and leaves again, and returns the
// occupant list he got (the others' presences).
func newcomerSees(h *harness, roomJID string) string {
	h.t.Helper()
	out := h.send(mercutio, strings.ReplaceAll(join("Mercutio"), room1, roomJID))
	var others []*stanza.Element
	for _, p := range pick(out, mercutio, "presence") {
		if !strings.HasSuffix(p.Attr("from"), "/Mercutio") {
			others = append(others, p)
		}
	}
	h.send(mercutio, `<presence type='unavailable' to='`+roomJID+`/Mercutio'/>`)
	if len(others) == 0 {
		h.t.Fatalf("no occupant list in %s: %v", roomJID, out)
	}
	return fmtAll(others)
}

// noneLeft fails when one of the occupants was shown as gone.
func noneLeft(t *testing.T, out []*stanza.Element) {
	t.Helper()
	for _, st := range out {
		if st.Local == "presence" && st.Attr("type") == "unavailable" && !strings.HasSuffix(st.Attr("from"), "/Mercutio") {
			t.Errorf("unavailable presence: %v", st)
		}
	}
}

func TestLiveRestart(t *testing.T) {
	p := newLiveProbe(t)
	a := newLiveHarness(t, p, "", nil)
	list1, list2 := fillRooms(a)
	if out := a.g.Shutdown(); len(out) != 0 {
		t.Fatalf("keep mode sent %v", Flatten(out))
	}
	a.g.Close()

	b := newLiveHarness(t, p, "", nil)
	rooms, sessions, err := b.g.Restore(context.Background())
	if err != nil || rooms != 2 || sessions != 5 {
		t.Fatalf("Restore: %d rooms, %d sessions, %v; want 2, 5", rooms, sessions, err)
	}
	var all []*stanza.Element
	out := b.send(romeo, `<message type='groupchat' id='g1' to='`+room1+`'><body>still here</body></message>`)
	all = append(all, out...)
	for _, to := range []string{romeo, juliet, juliet2} {
		if m := pick(out, to, "message"); len(m) != 1 || m[0].ChildText(NSClient, "body") != "still here" {
			t.Errorf("%s: %v", to, out)
		}
	}
	out = b.send(benvolio, `<message type='groupchat' id='g2' to='`+room2+`'><body>me too</body></message>`)
	all = append(all, out...)
	for _, to := range []string{nurse, benvolio} {
		if m := pick(out, to, "message"); len(m) != 1 || m[0].ChildText(NSClient, "body") != "me too" {
			t.Errorf("%s: %v", to, out)
		}
	}
	if got := newcomerSees(b, room1); got != list1 {
		t.Errorf("occupant list of %s\n got %s\nwant %s", room1, got, list1)
	}
	// The temporary room's subject and history came back with it.
	out = b.send(mercutio, in2(join("Mercutio")))
	all = append(all, out...)
	if last := out[len(out)-1]; last.ChildText(NSClient, "subject") != "Lunch" || !strings.Contains(fmtAll(out), "soup") {
		t.Errorf("subject or history of %s lost: %v", room2, out)
	}
	b.send(mercutio, `<presence type='unavailable' to='`+room2+`/Mercutio'/>`)
	if got := newcomerSees(b, room2); got != list2 {
		t.Errorf("occupant list of %s\n got %s\nwant %s", room2, got, list2)
	}
	out = b.send(nurse, `<iq type='get' id='i' to='`+room2+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if !strings.Contains(fmtAll(out), "name='Kitchen'") || !strings.Contains(fmtAll(out), "muc_temporary") {
		t.Errorf("configuration of %s lost: %v", room2, out)
	}
	noneLeft(t, all)
}

func TestLiveKickOnStop(t *testing.T) {
	p := newLiveProbe(t)
	a := newLiveHarness(t, p, OnStopKick, nil)
	fillRooms(a)
	a.tick()
	out := Flatten(a.g.Shutdown())
	for _, to := range []string{romeo, juliet, juliet2, nurse, benvolio} {
		if ps := pick(out, to, "presence"); len(ps) != 1 || ps[0].Attr("type") != "unavailable" || !strings.Contains(codes(ps[0]), "332") {
			t.Errorf("%s: %v", to, ps)
		}
	}
	a.g.Close()
	b := newLiveHarness(t, p, "", nil)
	if rooms, sessions, err := b.g.Restore(context.Background()); rooms != 0 || sessions != 0 || err != nil {
		t.Errorf("kick mode left %d rooms, %d sessions, %v", rooms, sessions, err)
	}
}

func TestLiveCrashRestoresLastWrite(t *testing.T) {
	p := newLiveProbe(t)
	a := newLiveHarness(t, p, "", nil)
	fillRooms(a)
	a.tick()
	// A temporary room's subject is kept by the live state alone: a
	// change of it is written at the next tick, as a join is.
	a.send(nurse, `<message type='groupchat' to='`+room2+`'><subject>Dinner</subject></message>`)
	a.tick()
	// Joins after the last tick are lost with the process.
	a.send(mercutio, join("Mercutio"))
	a.g.Close() // no Shutdown: a crash

	b := newLiveHarness(t, p, "", nil)
	if rooms, sessions, err := b.g.Restore(context.Background()); rooms != 2 || sessions != 5 || err != nil {
		t.Fatalf("Restore after a crash: %d rooms, %d sessions, %v; want 2, 5", rooms, sessions, err)
	}
	if s := b.g.Stats(); s.Occupants != 4 || s.Sessions != 5 {
		t.Errorf("stats %+v", s)
	}
	if out := b.send(mercutio, in2(join("Mercutio"))); out[len(out)-1].ChildText(NSClient, "subject") != "Dinner" {
		t.Errorf("subject written before the crash lost: %v", out)
	}
}

// liveSessions reads the stored sessions of a room.
func liveSessions(t *testing.T, p *liveProbe, roomJID string) []string {
	t.Helper()
	rooms, err := p.LoadLive(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rooms {
		if r.JID == roomJID {
			for _, s := range r.Sessions {
				out = append(out, s.Nick+"="+s.FullJID+":"+s.Role)
			}
		}
	}
	return out
}

// The stored occupancy is at most one tick behind: nothing is written
// before the tick, everything changed is after it, and a message to a
// persistent room (whose record and history the store keeps elsewhere)
// changes nothing.
func TestLiveWriteBehindBound(t *testing.T) {
	p := newLiveProbe(t)
	h := newLiveHarness(t, p, "", nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.tick()
	h.send(juliet, join("Juliet"))
	if got := liveSessions(t, p, room1); len(got) != 1 {
		t.Errorf("written before the tick: %v", got)
	}
	h.tick()
	want := []string{"Romeo=" + romeo + ":moderator", "Juliet=" + juliet + ":participant"}
	if got := liveSessions(t, p, room1); !slices.Equal(got, want) {
		t.Errorf("after the tick %v, want %v", got, want)
	}
	saves, _ := p.count()
	h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>hi</body></message>`)
	h.tick()
	if s, _ := p.count(); s != saves {
		t.Errorf("a message caused a write of live state")
	}
	h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	h.tick()
	if got := liveSessions(t, p, room1); !slices.Equal(got, want[:1]) {
		t.Errorf("after a leave %v, want %v", got, want[:1])
	}
	h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
	h.tick()
	if got := liveSessions(t, p, room1); len(got) != 0 {
		t.Errorf("emptied room still stored: %v", got)
	}
	if _, gone := p.count(); !slices.Equal(gone[len(gone)-1], []string{room1}) {
		t.Errorf("emptied room not written as gone: %v", gone)
	}
}

func TestLiveWriteFailureRetried(t *testing.T) {
	p := newLiveProbe(t)
	var errs []error
	h := newLiveHarness(t, p, "", &errs)
	h.createRoom()
	h.tick()
	p.setFail(true)
	h.send(juliet, join("Juliet"))
	for range 2 {
		if err := h.g.flushLive(false); !errors.Is(err, errFail) {
			t.Fatalf("flush: %v", err)
		}
	}
	if len(errs) != 1 {
		t.Errorf("a run of failures reported %d times: %v", len(errs), errs)
	}
	p.setFail(false)
	h.tick()
	if got := liveSessions(t, p, room1); len(got) != 2 {
		t.Errorf("not written after the failure: %v", got)
	}
}

// restarted fills the rooms (fillRooms) in one registry, stops it and
// returns a second one that restored them.
func restarted(t *testing.T) *harness {
	t.Helper()
	p := newLiveProbe(t)
	a := newLiveHarness(t, p, "", nil)
	fillRooms(a)
	a.g.Shutdown()
	a.g.Close()
	b := newLiveHarness(t, p, "", nil)
	if _, _, err := b.g.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b
}

// A restored occupant that sends its join again (a client resyncing) is
// taken as a rejoin, as Prosody does: it gets the room again, and the others
// see no departure.
func TestLiveRestoredOccupantRejoins(t *testing.T) {
	b := restarted(t)
	out := b.send(juliet2, join("Juliet"))
	noneLeft(t, out)
	toJ := pick(out, juliet2, "presence")
	if len(toJ) != 2 || !strings.HasSuffix(toJ[0].Attr("from"), "/Romeo") || !strings.Contains(codes(toJ[1]), "110") {
		t.Errorf("rejoin: occupant list and self-presence %v", toJ)
	}
	for _, st := range out {
		if st.Attr("type") == "error" {
			t.Errorf("rejoin refused: %v", st)
		}
	}
	if last := out[len(out)-1]; last.Attr("to") != juliet2 || last.ChildText(NSClient, "subject") != "Feud" {
		t.Errorf("rejoin: no subject last: %v", out)
	}
	if s := b.g.Stats(); s.Sessions != 5 {
		t.Errorf("sessions %d after the rejoin, want 5", s.Sessions)
	}
}

// Sessions that came back are checked as after a reconnect: one ping each.
func TestLiveCheckSessionsAfterRestore(t *testing.T) {
	b := restarted(t)
	out := Flatten(b.g.CheckSessions())
	var pinged []string
	for _, st := range out {
		if st.Local == "iq" && st.Child(NSPing, "ping") != nil {
			pinged = append(pinged, st.Attr("to"))
		}
	}
	slices.Sort(pinged)
	want := []string{benvolio, juliet2, juliet, nurse, romeo}
	slices.Sort(want)
	if !slices.Equal(pinged, want) {
		t.Errorf("pinged %v, want %v", pinged, want)
	}
	// A session the server says is gone leaves with 333.
	var ping *stanza.Element
	for _, st := range out {
		if st.Attr("to") == juliet2 {
			ping = st
		}
	}
	gone := `<iq type='error' id='` + ping.Attr("id") + `' to='` + room1 + `'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`
	b.send(juliet2, gone)
	if s := b.g.Stats(); s.Sessions != 4 {
		t.Errorf("sessions %d after a gone session, want 4", s.Sessions)
	}
}

// BenchmarkRestore restores 10,000 occupants in 100 rooms from a SQLite
// file; half of them with presences of their own, half sharing one.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+b.TempDir()+"/chorus.db")
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	live := st.(store.LiveStore)
	var batch []store.LiveRoom
	cfg, _ := json.Marshal(liveRecord{record: record{Config: defaultConfig(), Subject: "bench"}})
	for i := range 100 {
		lr := store.LiveRoom{JID: fmt.Sprintf("r%03d@conference.localhost", i), Temporary: true, Data: cfg,
			Affiliations: []store.Affiliation{{JID: "u0@localhost", Affiliation: "owner"}}}
		for j := range 100 {
			lr.Sessions = append(lr.Sessions, store.LiveSession{FullJID: fmt.Sprintf("u%d@localhost/r", j), Nick: fmt.Sprintf("user %d", j),
				Role: "participant", Presence: benchPresence(i*100 + j), Joined: time.Unix(1700000000, 0)})
		}
		batch = append(batch, lr)
	}
	if err := live.SaveLive(ctx, batch, nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		g := NewRegistry(Options{Domain: "conference.localhost", Store: st, Live: live, LiveInterval: time.Hour})
		rooms, sessions, err := g.Restore(ctx)
		if err != nil || rooms != 100 || sessions != 10000 {
			b.Fatalf("%d rooms, %d sessions, %v", rooms, sessions, err)
		}
		g.Close()
	}
}

func benchPresence(n int) []byte {
	status := "out"
	if n%2 == 1 {
		status = fmt.Sprintf("out for %d minutes", n)
	}
	return []byte(`<presence xmlns='jabber:client'><show>away</show><status>` + status + `</status></presence>`)
}

// When the live state cannot be written at the stop, nobody would find
// their room again: everyone is told the service goes away, as before.
func TestLiveKeepFallsBackToKick(t *testing.T) {
	p := newLiveProbe(t)
	var errs []error
	a := newLiveHarness(t, p, "", &errs)
	fillRooms(a)
	p.setFail(true)
	out := Flatten(a.g.Shutdown())
	for _, to := range []string{romeo, juliet, juliet2, nurse, benvolio} {
		if ps := pick(out, to, "presence"); len(ps) != 1 || !strings.Contains(codes(ps[0]), "332") {
			t.Errorf("%s: %v", to, ps)
		}
	}
	if len(errs) == 0 {
		t.Error("the failed write was not reported")
	}
}
