package component

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/room"
	"chorus/stanza"
)

// get returns the status and body of a GET of url.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestHealthz(t *testing.T) {
	ts := httptest.NewServer(NewHTTPHandler(NewMetrics(), false))
	defer ts.Close()
	// Alive whatever the link: no component connection here.
	if code, body := get(t, ts.URL+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	res, err := http.Post(ts.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST healthz: %d", res.StatusCode)
	}
}

func TestReadyzFollowsLink(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	cfg.Metrics = NewMetrics()
	// Keep the link down once lost, long enough to look.
	cfg.MinBackoff, cfg.MaxBackoff = time.Minute, time.Minute
	ts := httptest.NewServer(NewHTTPHandler(cfg.Metrics, false))
	defer ts.Close()

	if code, _ := get(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz before connecting: %d", code)
	}
	hs := startRun(t, cfg, funcHandler{})
	c := srv.next(t)
	hs.waitState(t, true)
	if code, body := get(t, ts.URL+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("readyz while connected: %d %q", code, body)
	}
	c.send(t, `</stream:stream>`)
	c.read(t)
	c.c.Close()
	hs.waitState(t, false)
	if code, _ := get(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz after the link ended: %d", code)
	}
	if code, _ := get(t, ts.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz after the link ended: %d", code)
	}
}

// readUntil reads stanzas until match accepts one.
func readUntil(t *testing.T, c *fakeConn, match func(*stanza.Element) bool) *stanza.Element {
	t.Helper()
	for range 50 {
		st := c.read(t)
		if st == nil {
			t.Fatal("stream closed")
		}
		if match(st) {
			return st
		}
	}
	t.Fatal("wanted stanza not among 50")
	return nil
}

func TestMetricsEndpointThroughRouter(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	cfg := testConfig(srv)
	m := NewMetrics()
	cfg.Metrics = m
	reg := room.NewRegistry(room.Options{Domain: testDomain})
	t.Cleanup(reg.Close)
	m.ObserveRooms(reg.Stats)
	ts := httptest.NewServer(NewHTTPHandler(m, false))
	defer ts.Close()
	hs := startRun(t, cfg, NewRouter(testDomain, reg))
	c := srv.next(t)
	hs.waitState(t, true)

	const occ = "secretroom@conference.localhost/Wonderland"
	c.send(t, `<presence from='alice@localhost/rabbithole' to='`+occ+`'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	readUntil(t, c, func(st *stanza.Element) bool { return st.Local == "presence" && st.Attr("from") == occ })
	// An instant room (XEP-0045 §10.1.2), so that it takes messages.
	c.send(t, `<iq from='alice@localhost/rabbithole' to='secretroom@conference.localhost' id='cfg' type='set'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	readUntil(t, c, func(st *stanza.Element) bool { return st.Attr("id") == "cfg" && st.Attr("type") == "result" })
	c.send(t, `<message from='alice@localhost/rabbithole' to='secretroom@conference.localhost' id='m1' type='groupchat'><body>hello</body></message>`)
	readUntil(t, c, func(st *stanza.Element) bool { return st.Local == "message" && st.Attr("type") == "groupchat" })
	c.send(t, `<iq from='alice@localhost/rabbithole' to='conference.localhost' id='bad' type='get'><query xmlns='urn:x'/></iq>`)
	readUntil(t, c, func(st *stanza.Element) bool { return st.Attr("id") == "bad" })
	waitMetric(t, m, 1, "chorus_stanza_errors_total", "condition", "service-unavailable")

	code, body := get(t, ts.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		"chorus_rooms 1\n",
		"chorus_occupants 1\n",
		"chorus_sessions 1\n",
		"chorus_component_up 1\n",
		"chorus_reconnects_total 0\n",
		`chorus_stanzas_in_total{kind="presence"} 1` + "\n",
		`chorus_stanzas_in_total{kind="message"} 1` + "\n",
		`chorus_stanzas_in_total{kind="iq"} 2` + "\n",
		`chorus_stanzas_out_total{kind="message"} `,
		`chorus_stanzas_out_total{kind="presence"} `,
		`chorus_stanza_errors_total{condition="service-unavailable"} 1` + "\n",
		`chorus_stanza_errors_total{condition="item-not-found"} 0` + "\n",
		"chorus_fanout_seconds_bucket{",
		"chorus_fanout_seconds_count ",
		`chorus_store_seconds_count{op="load_room"} `,
		`chorus_store_errors_total{op="append"} 0`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// No addresses: rooms, nicks, users and the service stay out of the
	// labels (design guide §10).
	lower := strings.ToLower(body)
	for _, leak := range []string{"secretroom", "wonderland", "alice", "rabbithole", "localhost", "@"} {
		if strings.Contains(lower, leak) {
			t.Errorf("metrics mention %q", leak)
		}
	}
}

func TestPprofFlag(t *testing.T) {
	for _, withPprof := range []bool{false, true} {
		ts := httptest.NewServer(NewHTTPHandler(NewMetrics(), withPprof))
		want := http.StatusNotFound
		if withPprof {
			want = http.StatusOK
		}
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1"} {
			if code, _ := get(t, ts.URL+path); code != want {
				t.Errorf("pprof %v: %s answered %d, want %d", withPprof, path, code, want)
			}
		}
		ts.Close()
	}
}

func TestRunHTTPStopsWithContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunHTTP(ctx, ln, NewHTTPHandler(NewMetrics(), false), zerolog.Nop()) }()

	// A kept-alive idle connection must not hold up the shutdown.
	if code, _ := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunHTTP: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunHTTP did not return after cancel")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("listener still accepts after shutdown")
	}
}

func TestRunHTTPBoundsShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	// A request that never finishes by itself, like a long profile.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- RunHTTP(ctx, ln, h, zerolog.Nop()) }()
	go func() {
		if res, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("RunHTTP: %v", err)
		}
	case <-time.After(httpShutdownTimeout + 3*time.Second):
		t.Fatal("RunHTTP waited for a request that does not end")
	}
}

func TestRunHTTPServeFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	done := make(chan error, 1)
	go func() { done <- RunHTTP(context.Background(), ln, http.NotFoundHandler(), zerolog.Nop()) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("RunHTTP on a closed listener returned nil")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunHTTP on a closed listener did not return")
	}
}

// TestProsodyReadyz checks readiness and counting against a real server:
// ready only while Prosody holds the component stream.
func TestProsodyReadyz(t *testing.T) {
	s := startProsody(t)
	m := NewMetrics()
	ts := httptest.NewServer(NewHTTPHandler(m, false))
	defer ts.Close()
	if code, _ := get(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz before connecting: %d", code)
	}
	hs := startRun(t, Config{Domain: s.Component(), Secret: s.Secret(), Server: s.ComponentAddr(),
		MinBackoff: time.Minute, MaxBackoff: time.Minute, Metrics: m}, pingHandler)
	hs.waitState(t, true)
	if code, _ := get(t, ts.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("readyz with Prosody up: %d", code)
	}
	clientPing(t, s)
	if v := metricValue(t, m, "chorus_stanzas_in_total", "kind", "iq"); v < 1 {
		t.Errorf("stanzas_in_total{kind=iq} = %v after a ping", v)
	}
	// The ping's result is counted; the foreign message is dropped, not.
	for deadline := time.Now().Add(5 * time.Second); metricValue(t, m, "chorus_stanzas_out_total", "kind", "iq") < 1; {
		if time.Now().After(deadline) {
			t.Fatal("the ping's result was not counted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v := metricValue(t, m, "chorus_stanzas_out_total", "kind", "message"); v != 0 {
		t.Errorf("dropped foreign message counted as sent: %v", v)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	hs.waitState(t, false)
	if code, _ := get(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with Prosody stopped: %d", code)
	}
}

// TestReadyzStandby: a standby is alive but not ready, says why, and
// shows chorus_active 0; once active it is ready as soon as its link is up.
func TestReadyzStandby(t *testing.T) {
	m := NewMetrics()
	ts := httptest.NewServer(NewHTTPHandler(m, false))
	defer ts.Close()
	if v := metricValue(t, m, "chorus_active"); v != 1 {
		t.Errorf("chorus_active %v by default, want 1", v)
	}
	m.SetActive(false)
	m.linkUp() // even with a link, which a standby never has
	if code, body := get(t, ts.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "standby") {
		t.Errorf("readyz of a standby: %d %q", code, body)
	}
	if code, _ := get(t, ts.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("healthz of a standby: %d", code)
	}
	if v := metricValue(t, m, "chorus_active"); v != 0 {
		t.Errorf("chorus_active %v in standby, want 0", v)
	}
	m.SetActive(true)
	if code, body := get(t, ts.URL+"/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("readyz once active: %d %q", code, body)
	}
	if v := metricValue(t, m, "chorus_active"); v != 1 {
		t.Errorf("chorus_active %v once active, want 1", v)
	}
	var nilMetrics *Metrics
	nilMetrics.SetActive(false) // no metrics: nothing to do
	if nilMetrics.Standby() {
		t.Error("nil metrics in standby")
	}
}
