package component

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// metricValue returns the value of the series name{labels} (label pairs
// as name, value, ...): a counter's or gauge's value, a histogram's
// sample count. A missing series fails the test.
func metricValue(t testing.TB, m *Metrics, name string, labels ...string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if !hasLabels(s, labels) {
				continue
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func hasLabels(s *dto.Metric, labels []string) bool {
	have := map[string]string{}
	for _, l := range s.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(labels); i += 2 {
		if have[labels[i]] != labels[i+1] {
			return false
		}
	}
	return true
}

// waitMetric polls until name{labels} equals want: the writer counts and
// observes after the bytes the test reads have left it.
func waitMetric(t *testing.T, m *Metrics, want float64, name string, labels ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := metricValue(t, m, name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMetricsCountLink(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	cfg.MaxStanzaBytes = 1000
	m := NewMetrics()
	cfg.Metrics = m
	h := funcHandler{handle: func(st *stanza.Element) []room.Out {
		switch st.Local {
		case "message":
			msg := stanza.New(stanza.NSClient, "message", "from", "room@"+testDomain+"/alice", "type", "groupchat")
			return []room.Out{
				{To: []string{"alice@localhost/a", "bob@localhost/b", "", "carol@localhost/c"}, Stanza: msg},
				// Dropped by the writer: not counted as sent.
				room.To1("alice@localhost/a", stanza.New(stanza.NSClient, "message", "from", "elsewhere.example")),
			}
		case "iq":
			return errorReply(st, stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound}, testDomain)
		}
		return nil
	}}
	// Slow enough that the gauges can be read between losing the link
	// and getting it back.
	cfg.MinBackoff, cfg.MaxBackoff = 500*time.Millisecond, time.Second
	hs := startRun(t, cfg, h)
	c := srv.next(t)
	hs.waitState(t, true)
	if v := metricValue(t, m, "chorus_component_up"); v != 1 || !m.Ready() {
		t.Errorf("component_up %v, Ready %v after the handshake", v, m.Ready())
	}

	c.send(t, `<presence from='alice@localhost/a' to='room@conference.localhost/alice'/>`)
	c.send(t, `<message from='alice@localhost/a' to='room@conference.localhost' type='groupchat'><body>hi</body></message>`)
	for range 3 {
		c.read(t)
	}
	c.send(t, `<iq from='alice@localhost/a' to='room@conference.localhost' id='q' type='get'><query xmlns='urn:x'/></iq>`)
	if st := c.read(t); st.Attr("type") != "error" {
		t.Fatalf("got %v", st)
	}
	// Refused unread: counted in, and its policy-violation counted out.
	c.send(t, `<message from='alice@localhost/a' to='room@conference.localhost' id='big'><body>`+strings.Repeat("x", 5000)+`</body></message>`)
	if st := c.read(t); st.Child(stanza.NSClient, "error").Child(stanza.NSStanzas, "policy-violation") == nil {
		t.Fatalf("got %v", st)
	}

	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"chorus_stanzas_in_total", []string{"kind", "presence"}, 1},
		{"chorus_stanzas_in_total", []string{"kind", "message"}, 2},
		{"chorus_stanzas_in_total", []string{"kind", "iq"}, 1},
		{"chorus_stanzas_out_total", []string{"kind", "message"}, 4},
		{"chorus_stanzas_out_total", []string{"kind", "iq"}, 1},
		{"chorus_stanzas_out_total", []string{"kind", "presence"}, 0},
		{"chorus_stanza_errors_total", []string{"condition", "item-not-found"}, 1},
		{"chorus_stanza_errors_total", []string{"condition", "policy-violation"}, 1},
		{"chorus_stanza_errors_total", []string{"condition", "other"}, 0},
		// Three stanzas caused output; the presence caused none.
		{"chorus_fanout_seconds", nil, 3},
		{"chorus_reconnects_total", nil, 0},
	} {
		waitMetric(t, m, tc.want, tc.name, tc.labels...)
	}

	// A lost link: down, then up again, one reconnect.
	c.send(t, `</stream:stream>`)
	c.read(t)
	c.c.Close()
	hs.waitState(t, false)
	if v := metricValue(t, m, "chorus_component_up"); v != 0 || m.Ready() {
		t.Errorf("component_up %v, Ready %v after the link ended", v, m.Ready())
	}
	srv.next(t)
	hs.waitState(t, true)
	if v := metricValue(t, m, "chorus_component_up"); v != 1 {
		t.Errorf("component_up %v after reconnecting", v)
	}
	if v := metricValue(t, m, "chorus_reconnects_total"); v != 1 {
		t.Errorf("reconnects_total %v, want 1", v)
	}
}

func TestShutdownOutputNotTimed(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	m := NewMetrics()
	cfg.Metrics = m
	h := funcHandler{shutdown: func() []room.Out {
		p := stanza.New(stanza.NSClient, "presence", "from", "room@"+testDomain+"/alice", "type", "unavailable")
		return []room.Out{{To: []string{"alice@localhost/a", "bob@localhost/b"}, Stanza: p}}
	}}
	hs := startRun(t, cfg, h)
	c := srv.next(t)
	hs.waitState(t, true)
	hs.cancel()
	c.read(t)
	c.read(t)
	c.send(t, `</stream:stream>`)
	hs.stop(t)
	if v := metricValue(t, m, "chorus_stanzas_out_total", "kind", "presence"); v != 2 {
		t.Errorf("shutdown presences counted %v, want 2", v)
	}
	if v := metricValue(t, m, "chorus_fanout_seconds"); v != 0 {
		t.Errorf("fan-out observed %v times for output no stanza caused", v)
	}
}

// Counting must stay off the allocator: it runs per stanza and per batch.
func TestMetricsHooksDoNotAllocate(t *testing.T) {
	m := NewMetrics()
	e := stanza.MustParse(`<iq from='conference.localhost' id='1' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`)
	odd := stanza.MustParse(`<message from='conference.localhost' type='error'><error type='cancel'><made-up xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`)
	reads := make([]time.Time, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		reads = append(reads[:0], m.received("message"), m.received("presence"))
		m.sent(e, 3)
		m.sent(odd, 1)
		m.flushed(reads)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per stanza", allocs)
	}
	if v := metricValue(t, m, "chorus_stanza_errors_total", "condition", "service-unavailable"); v != 3*101 {
		t.Errorf("service-unavailable counted %v", v)
	}
	if v := metricValue(t, m, "chorus_stanza_errors_total", "condition", "other"); v != 101 {
		t.Errorf("other counted %v", v)
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.linkUp()
	m.linkDown()
	m.sent(stanza.New(stanza.NSClient, "iq", "type", "error"), 1)
	m.flushed([]time.Time{time.Now()})
	m.ObserveRooms(func() room.Stats { return room.Stats{} })
	if !m.received("iq").IsZero() {
		t.Error("nil metrics returned a read time")
	}
	if m.Ready() {
		t.Error("nil metrics ready")
	}
	var s store.Store = stubStore{}
	if m.InstrumentStore(s) != s {
		t.Error("nil metrics wrapped the store")
	}
}

func TestRoomGauges(t *testing.T) {
	m := NewMetrics()
	calls := 0
	m.ObserveRooms(func() room.Stats { calls++; return room.Stats{Rooms: 2, Occupants: 5, Sessions: 7} })
	m.ObserveRooms(func() room.Stats { t.Error("second ObserveRooms used"); return room.Stats{} })
	for name, want := range map[string]float64{"chorus_rooms": 2, "chorus_occupants": 5, "chorus_sessions": 7} {
		if v := metricValue(t, m, name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if calls != 3 { // one per Gather above
		t.Errorf("Stats called %d times for 3 scrapes", calls)
	}
}

// stubStore answers every call; failing names the operations that fail.
type stubStore struct{ failing string }

func (s stubStore) err(op string) error {
	if strings.Contains(s.failing, op) {
		return errors.New("stub: " + op + " failed")
	}
	return nil
}

func (s stubStore) LoadRoom(context.Context, string) (*store.RoomState, error) {
	return nil, s.err("load_room")
}
func (s stubStore) UpdateRoom(context.Context, store.RoomUpdate) error { return s.err("update_room") }
func (s stubStore) DeleteRoom(context.Context, string, *store.Tombstone) error {
	return s.err("delete_room")
}
func (s stubStore) ListRooms(context.Context, store.RoomListQuery) (store.RoomList, error) {
	return store.RoomList{}, s.err("list_rooms")
}
func (s stubStore) Append(context.Context, []store.Message) error { return s.err("append") }
func (s stubStore) Query(context.Context, store.Query) (store.Page, error) {
	return store.Page{}, store.ErrNotFound
}
func (s stubStore) Latest(context.Context, string, int) ([]store.Message, error) {
	return nil, s.err("latest")
}
func (s stubStore) Replace(context.Context, string, string, []byte) (bool, error) {
	return false, s.err("replace")
}
func (s stubStore) Expire(context.Context, time.Time) (int64, error) { return 0, s.err("expire") }
func (s stubStore) Close() error                                     { return nil }
func (s stubStore) Get(context.Context, string, string) (*store.Message, error) {
	return nil, s.err("get")
}
func (s stubStore) Bounds(context.Context, string) (*store.Message, *store.Message, error) {
	return nil, nil, s.err("bounds")
}

func TestInstrumentStore(t *testing.T) {
	// Every method but Close must be timed: a method added to store.Store
	// would otherwise pass through the embedded interface untimed.
	if n := reflect.TypeFor[store.Store]().NumMethod(); n != numOps+1 {
		t.Fatalf("store.Store has %d methods, the decorator times %d and Close", n, numOps)
	}
	m := NewMetrics()
	s := m.InstrumentStore(stubStore{failing: "append"})
	ctx := context.Background()
	s.LoadRoom(ctx, "room@conference.localhost")
	s.UpdateRoom(ctx, store.RoomUpdate{})
	s.DeleteRoom(ctx, "room@conference.localhost", nil)
	s.Append(ctx, nil)
	s.Query(ctx, store.Query{After: "nope"})
	s.Latest(ctx, "room@conference.localhost", 5)
	s.Replace(ctx, "room@conference.localhost", "1", nil)
	s.Expire(ctx, time.Now())
	s.Get(ctx, "room@conference.localhost", "1")
	s.Bounds(ctx, "room@conference.localhost")
	s.ListRooms(ctx, store.RoomListQuery{})
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	for _, op := range opNames {
		if v := metricValue(t, m, "chorus_store_seconds", "op", op); v != 1 {
			t.Errorf("store_seconds{op=%s} count %v, want 1", op, v)
		}
		want := 0.0
		if op == "append" {
			want = 1
		}
		// query's ErrNotFound is the client's bad id, not a store failure.
		if v := metricValue(t, m, "chorus_store_errors_total", "op", op); v != want {
			t.Errorf("store_errors_total{op=%s} = %v, want %v", op, v, want)
		}
	}
}

// liveStub is a stubStore that keeps live state.
type liveStub struct{ stubStore }

func (liveStub) SaveLive(context.Context, []store.LiveRoom, []string) error {
	return errors.New("full")
}
func (liveStub) LoadLive(context.Context) ([]store.LiveRoom, error) { return nil, nil }

// The live state's calls are timed too, when the store keeps live state;
// a store that does not stays one that does not.
func TestInstrumentLiveStore(t *testing.T) {
	m := NewMetrics()
	if _, ok := m.InstrumentStore(stubStore{}).(store.LiveStore); ok {
		t.Error("a store without live state gained it")
	}
	s, ok := m.InstrumentStore(liveStub{}).(store.LiveStore)
	if !ok {
		t.Fatal("live state lost by the wrapper")
	}
	ctx := context.Background()
	s.SaveLive(ctx, nil, nil)
	s.LoadLive(ctx)
	for op, errs := range map[string]float64{"save_live": 1, "load_live": 0} {
		if v := metricValue(t, m, "chorus_store_seconds", "op", op); v != 1 {
			t.Errorf("store_seconds{op=%s} count %v, want 1", op, v)
		}
		if v := metricValue(t, m, "chorus_store_errors_total", "op", op); v != errs {
			t.Errorf("store_errors_total{op=%s} = %v, want %v", op, v, errs)
		}
	}
}

// TestOperatorToolsMetrics: slow mode, block list and service ban refusals
// are counted,
// and the block lists' size and last change are shown.
func TestOperatorToolsMetrics(t *testing.T) {
	m := NewMetrics()
	bl := NewBlocklist([]RTBLSource{{"pubsub.localhost", "n"}})
	refusals := room.Refusals{SlowMode: 3, Blocklist: 2, ServiceBan: 4}
	m.ObserveOperatorTools(func() room.Refusals { return refusals }, bl)
	if v := metricValue(t, m, "chorus_rtbl_last_update_timestamp_seconds"); v != 0 {
		t.Errorf("last update before any: %v", v)
	}
	bl.update(RTBLSource{"pubsub.localhost", "n"}, true, []string{jidHash("a@localhost"), jidHash("b@localhost")}, nil)
	for name, want := range map[string]float64{
		"chorus_slowmode_refusals_total": 3, "chorus_rtbl_refusals_total": 2, "chorus_rtbl_entries": 2,
		"chorus_service_bans_applied_total": 4,
	} {
		if v := metricValue(t, m, name); v != want {
			t.Errorf("%s = %v, want %v", name, v, want)
		}
	}
	if v := metricValue(t, m, "chorus_rtbl_last_update_timestamp_seconds"); v < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Errorf("last update: %v", v)
	}
}
