package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"chorus/internal/fakehost"
	"chorus/stanza"
)

// startNull starts a fake XMPP server with the null component attached and
// returns the settings that reach it.
func startNull(t *testing.T) Common { t.Helper(); return startNullIDs(t, false) }

// startNullIDs starts a fake host with the null component, which adds
// stanza and occupant ids to deliveries when ids is set.
func startNullIDs(t *testing.T, ids bool) Common {
	t.Helper()
	return startNullWith(t, NullConfig{IDs: ids})
}

// startNullWith starts a fake host with the null component configured by
// cfg (its server, domain and secret are filled in).
func startNullWith(t *testing.T, cfg NullConfig) Common {
	t.Helper()
	h, err := fakehost.Start(fakehost.Options{Secret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		cfg.Server, cfg.Domain, cfg.Secret = h.ComponentAddr(), h.ComponentDomain(), "s3cret"
		done <- RunNull(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("null component: %v", err)
		}
		_ = h.Close()
	})
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := h.WaitComponent(wctx, true); err != nil {
		t.Fatalf("the null component did not attach: %v", err)
	}
	return Common{
		Server: h.C2SAddr(), Domain: h.Domain(), MUC: h.ComponentDomain(),
		Procs: []Proc{{"self", os.Getpid()}}, Label: "test",
		Log: testLog{t},
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// jsonKeys is the sorted top-level keys of v's JSON form.
func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(b, '\n') {
		t.Errorf("JSON spans lines: %s", b)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", b)
	return slices.Sorted(maps.Keys(m))
}

func sortedStrings(s ...string) []string { return slices.Sorted(slices.Values(s)) }

func TestFanoutNull(t *testing.T) {
	c := startNull(t)
	res, err := Fanout(t.Context(), FanoutConfig{Common: c, Occupants: 5, Duration: time.Second, Warmup: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := sortedStrings("scenario", "label", "rooms", "occupants", "senders", "seconds", "sent", "delivered",
		"deliveries_per_sec", "lost", "reordered", "latency_ms", "cpu_cores", "rss_kib")
	if got := jsonKeys(t, res); !slices.Equal(got, want) {
		t.Errorf("JSON keys %v, want %v", got, want)
	}
	if res.Scenario != "fanout" || res.Label != "test" || res.Rooms != 1 || res.Occupants != 5 || res.Senders != 1 {
		t.Errorf("result %+v", res)
	}
	if res.Sent == 0 || res.Delivered == 0 || res.DeliveriesPerSec <= 0 {
		t.Errorf("nothing delivered: %+v", res)
	}
	if res.Lost != 0 || res.Reordered != 0 {
		t.Errorf("lost %d, reordered %d", res.Lost, res.Reordered)
	}
	if res.Seconds < 0.9 || res.Seconds > 1.5 {
		t.Errorf("measured %v s of a 1 s window", res.Seconds)
	}
	if l := res.LatencyMS; l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
		t.Errorf("latency %+v", l)
	}
	if res.CPUCores[ToolName] <= 0 || res.CPUCores["self"] <= 0 || res.RSSKiB["self"] <= 0 {
		t.Errorf("cpu %v rss %v", res.CPUCores, res.RSSKiB)
	}
}

// Several rooms, several senders each, paced: every occupant still gets
// every message of its room and nothing of the others.
func TestFanoutRoomsPaced(t *testing.T) {
	c := startNull(t)
	c.Rooms = 2
	res, err := Fanout(t.Context(), FanoutConfig{Common: c, Occupants: 3, Senders: 2, Rate: 100,
		Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lost != 0 || res.Reordered != 0 {
		t.Errorf("lost %d, reordered %d", res.Lost, res.Reordered)
	}
	// 2 rooms × 2 senders × 100/s × 0.5 s.
	if res.Sent < 150 || res.Sent > 250 {
		t.Errorf("sent %d at 400 messages/s in 0.5 s", res.Sent)
	}
	if res.Delivered < res.Sent*3*8/10 {
		t.Errorf("delivered %d of %d messages × 3 occupants", res.Delivered, res.Sent)
	}
}

func TestJoinNull(t *testing.T) {
	c := startNull(t)
	c.Rooms = 2
	res, err := Join(t.Context(), JoinConfig{Common: c, Joins: 30, Concurrency: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := sortedStrings("scenario", "label", "joins", "rooms", "seconds", "joins_per_sec", "latency_ms", "cpu_seconds", "cpu_ms_per_join")
	if got := jsonKeys(t, res); !slices.Equal(got, want) {
		t.Errorf("JSON keys %v, want %v", got, want)
	}
	if res.Joins != 30 || res.Rooms != 2 || res.JoinsPerSec <= 0 || res.LatencyMS.Max <= 0 {
		t.Errorf("result %+v", res)
	}
	if _, ok := res.CPUMsPerJoin["self"]; !ok {
		t.Errorf("no CPU of the measured process: %v", res.CPUMsPerJoin)
	}
}

func TestMemoryNull(t *testing.T) {
	c := startNull(t)
	c.Rooms = 3
	res, err := Memory(t.Context(), MemoryConfig{Common: c, Occupants: 20, Settle: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := sortedStrings("scenario", "label", "occupants", "rooms", "rss_before_kib", "rss_after_kib", "bytes_per_occupant")
	if got := jsonKeys(t, res); !slices.Equal(got, want) {
		t.Errorf("JSON keys %v, want %v", got, want)
	}
	if res.Occupants != 20 || res.Rooms != 3 || res.RSSBeforeKiB["self"] <= 0 || res.RSSAfterKiB["self"] <= 0 {
		t.Errorf("result %+v", res)
	}
	if _, ok := res.BytesPerOccupant["self"]; !ok {
		t.Errorf("bytes_per_occupant %v", res.BytesPerOccupant)
	}
}

// collect starts c's reader and returns a channel of copies of what it
// receives.
func collect(c *Client) <-chan string {
	ch := make(chan string, 100)
	c.Start(func(st []byte) { ch <- string(st) })
	return ch
}

func expect(t *testing.T, ch <-chan string, what string, ok func(st []byte) bool) string {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-ch:
			if ok([]byte(s)) {
				return s
			}
		case <-timeout:
			t.Fatalf("no %s within 5 s", what)
		}
	}
}

func TestNullComponent(t *testing.T) {
	cm := startNull(t)
	dial := func(user string) (*Client, <-chan string) {
		c, err := Dial(t.Context(), Account{Addr: cm.Server, Domain: cm.Domain, User: user, Password: "x", Resource: "r"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c, collect(c)
	}
	alice, ach := dial("alice")
	bob, bch := dial("bob")
	if alice.JID != "alice@localhost/r" {
		t.Errorf("bound %q", alice.JID)
	}
	write := func(c *Client, s string) {
		t.Helper()
		if err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	attr := func(st []byte, name string) string { v, _ := Attr(st, name); return string(v) }

	write(alice, "<iq type='get' id='d1' to='conference.localhost'><query xmlns='"+stanza.NSDiscoInfo+"'/></iq>")
	res := expect(t, ach, "disco#info result", func(st []byte) bool { return attr(st, "id") == "d1" })
	if !strings.Contains(res, "type='result'") || !strings.Contains(res, "category='conference'") || !strings.Contains(res, stanza.NSMUC+"'") {
		t.Errorf("disco#info: %s", res)
	}

	// The first join creates the room; configuring it is accepted.
	write(alice, "<presence to='r1@conference.localhost/al'><x xmlns='"+stanza.NSMUC+"'/></presence>")
	self := expect(t, ach, "self-presence", func(st []byte) bool { return string(Name(st)) == "presence" })
	if !HasStatus([]byte(self), "110") || !HasStatus([]byte(self), "201") || attr([]byte(self), "from") != "r1@conference.localhost/al" {
		t.Errorf("self-presence %s", self)
	}
	write(alice, "<iq type='set' id='cfg' to='r1@conference.localhost'><query xmlns='"+stanza.NSMUCOwner+"'><x xmlns='jabber:x:data' type='submit'/></query></iq>")
	if res := expect(t, ach, "form result", func(st []byte) bool { return attr(st, "id") == "cfg" }); attr([]byte(res), "type") != "result" {
		t.Errorf("owner form: %s", res)
	}

	// A taken nick is refused; a free one is not, and without 201.
	write(bob, "<presence to='r1@conference.localhost/al'/>")
	if res := expect(t, bch, "conflict", func(st []byte) bool { return string(Name(st)) == "presence" }); !strings.Contains(res, "<conflict") {
		t.Errorf("second 'al': %s", res)
	}
	write(bob, "<presence to='r1@conference.localhost/bo'/>")
	self = expect(t, bch, "self-presence", func(st []byte) bool { return string(Name(st)) == "presence" })
	if !HasStatus([]byte(self), "110") || HasStatus([]byte(self), "201") {
		t.Errorf("bob's self-presence %s", self)
	}

	// A message reaches both, from the sender's occupant JID, body and id
	// unchanged; a non-occupant is refused.
	write(bob, "<message to='r1@conference.localhost' type='groupchat' id='m&amp;1'><body>a &lt; b's</body></message>")
	for _, ch := range []<-chan string{ach, bch} {
		m := expect(t, ch, "groupchat", func(st []byte) bool { return string(Name(st)) == "message" })
		if attr([]byte(m), "from") != "r1@conference.localhost/bo" || attr([]byte(m), "id") != "m&amp;1" ||
			!strings.Contains(m, "<body>a &lt; b's</body>") || attr([]byte(m), "type") != "groupchat" {
			t.Errorf("delivery %s", m)
		}
	}
	carol, cch := dial("carol")
	write(carol, "<message to='r1@conference.localhost' type='groupchat'><body>hi</body></message>")
	if m := expect(t, cch, "error", func(st []byte) bool { return string(Name(st)) == "message" }); attr([]byte(m), "type") != "error" {
		t.Errorf("non-occupant's message: %s", m)
	}

	// Leaving answers with unavailable; then bob's messages reach only bob.
	write(alice, "<presence type='unavailable' to='r1@conference.localhost/al'/>")
	if p := expect(t, ach, "unavailable", func(st []byte) bool { return string(Name(st)) == "presence" }); attr([]byte(p), "type") != "unavailable" {
		t.Errorf("leave: %s", p)
	}
	write(bob, "<message to='r1@conference.localhost' type='groupchat'><body>2</body></message>")
	expect(t, bch, "groupchat", func(st []byte) bool { return string(Name(st)) == "message" })
	select {
	case s := <-ach:
		t.Errorf("alice got %s after leaving", s)
	case <-time.After(100 * time.Millisecond):
	}
}

// With IDs the null component's deliveries carry a stanza-id unique per
// message and an occupant-id stable per sender, as a full service's do.
func TestNullComponentIDs(t *testing.T) {
	cm := startNullIDs(t, true)
	c, err := Dial(t.Context(), Account{Addr: cm.Server, Domain: cm.Domain, User: "alice", Password: "x", Resource: "r"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ch := collect(c)
	isMsg := func(st []byte) bool { return string(Name(st)) == "message" }
	if err := c.Write([]byte("<presence to='r1@conference.localhost/al'><x xmlns='" + stanza.NSMUC + "'/></presence>")); err != nil {
		t.Fatal(err)
	}
	expect(t, ch, "self-presence", func(st []byte) bool { return string(Name(st)) == "presence" })
	var sids, oids []string
	for range 2 {
		if err := c.Write([]byte("<message to='r1@conference.localhost' type='groupchat'><body>hi</body></message>")); err != nil {
			t.Fatal(err)
		}
		m := []byte(expect(t, ch, "groupchat", isMsg))
		sid, ok1 := Child(m, "stanza-id")
		oid, ok2 := Child(m, "occupant-id")
		body, ok3 := Child(m, "body")
		if !ok1 || !ok2 || !ok3 || string(body) != "<body>hi</body>" {
			t.Fatalf("delivery %s", m)
		}
		if by, _ := Attr(sid, "by"); string(by) != "r1@conference.localhost" {
			t.Errorf("stanza-id by %q", by)
		}
		id1, _ := Attr(sid, "id")
		id2, _ := Attr(oid, "id")
		sids, oids = append(sids, string(id1)), append(oids, string(id2))
	}
	if sids[0] == sids[1] || oids[0] != oids[1] || len(sids[0]) != 16 || len(oids[0]) != 22 {
		t.Errorf("stanza ids %q, occupant ids %q", sids, oids)
	}
}

// Logging in to a server that offers no PLAIN fails with a clear error
// rather than hanging.
func TestDialRefused(t *testing.T) {
	_, err := Dial(t.Context(), Account{Addr: "127.0.0.1:1", Domain: "localhost", User: "u"})
	if err == nil {
		t.Fatal("dialled a closed port")
	}
}

// With Presence, a join costs what it costs a full service: the others
// hear of it, the joiner gets the occupant list, its self-presence and an
// empty subject, in that order (XEP-0045 §7.2.3, §7.2.15), and a leave is
// broadcast; with IDs every presence carries the occupant's occupant-id.
// Without it only the joiner hears of its join.
func TestNullComponentPresence(t *testing.T) {
	for _, presence := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[presence], func(t *testing.T) {
			cm := startNullWith(t, NullConfig{IDs: true, Presence: presence})
			dial := func(user string) (*Client, <-chan string) {
				c, err := Dial(t.Context(), Account{Addr: cm.Server, Domain: cm.Domain, User: user, Password: "x", Resource: "r"})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.Close)
				return c, collect(c)
			}
			write := func(c *Client, s string) {
				t.Helper()
				if err := c.Write([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			attr := func(st string, name string) string { v, _ := Attr([]byte(st), name); return string(v) }
			next := func(ch <-chan string, what string) string {
				t.Helper()
				select {
				case s := <-ch:
					return s
				case <-time.After(5 * time.Second):
					t.Fatalf("no %s within 5 s", what)
					return ""
				}
			}
			quiet := func(ch <-chan string, who string) {
				t.Helper()
				select {
				case s := <-ch:
					t.Errorf("%s got %s", who, s)
				case <-time.After(100 * time.Millisecond):
				}
			}
			oid := func(st string) string {
				o, ok := Child([]byte(st), "occupant-id")
				if !ok {
					return ""
				}
				v, _ := Attr(o, "id")
				return string(v)
			}
			alice, ach := dial("alice")
			bob, bch := dial("bob")
			write(alice, "<presence to='r1@conference.localhost/al'><x xmlns='"+stanza.NSMUC+"'/></presence>")
			aliceSelf := next(ach, "alice's self-presence")
			if !HasStatus([]byte(aliceSelf), "110") || !HasStatus([]byte(aliceSelf), "201") {
				t.Errorf("alice's self-presence %s", aliceSelf)
			}
			if !presence {
				write(bob, "<presence to='r1@conference.localhost/bo'><x xmlns='"+stanza.NSMUC+"'/></presence>")
				if s := next(bch, "bob's self-presence"); !HasStatus([]byte(s), "110") || oid(s) != "" {
					t.Errorf("bob's self-presence %s", s)
				}
				quiet(ach, "alice")
				quiet(bch, "bob")
				return
			}
			if s := next(ach, "alice's subject"); attr(s, "from") != "r1@conference.localhost" || !strings.Contains(s, "<subject/>") {
				t.Errorf("after alice's self-presence: %s", s)
			}
			write(bob, "<presence to='r1@conference.localhost/bo'><x xmlns='"+stanza.NSMUC+"'/></presence>")
			list := next(bch, "alice's presence for bob")
			self := next(bch, "bob's self-presence")
			subj := next(bch, "bob's subject")
			if attr(list, "from") != "r1@conference.localhost/al" || HasStatus([]byte(list), "110") ||
				!strings.Contains(list, "affiliation='owner'") || oid(list) != oid(aliceSelf) || oid(list) == "" {
				t.Errorf("the occupant list bob got: %s (alice's self-presence %s)", list, aliceSelf)
			}
			if attr(self, "from") != "r1@conference.localhost/bo" || !HasStatus([]byte(self), "110") || HasStatus([]byte(self), "201") {
				t.Errorf("bob's self-presence %s", self)
			}
			if !strings.Contains(subj, "<subject/>") || attr(subj, "to") != bob.JID {
				t.Errorf("bob's subject %s", subj)
			}
			got := next(ach, "bob's presence for alice")
			if attr(got, "from") != "r1@conference.localhost/bo" || attr(got, "to") != alice.JID || HasStatus([]byte(got), "110") ||
				!strings.Contains(got, "role='participant'") || oid(got) != oid(self) || oid(got) == oid(list) {
				t.Errorf("alice heard of bob's join as %s (bob's self-presence %s)", got, self)
			}
			quiet(ach, "alice")

			write(bob, "<presence type='unavailable' to='r1@conference.localhost/bo'/>")
			if s := next(bch, "bob's unavailable"); attr(s, "type") != "unavailable" {
				t.Errorf("bob's leave: %s", s)
			}
			if s := next(ach, "bob's leave for alice"); attr(s, "type") != "unavailable" || attr(s, "from") != "r1@conference.localhost/bo" {
				t.Errorf("alice heard of bob's leave as %s", s)
			}
		})
	}
}

// With History the joiners wait for the subject that ends a join; the
// null component with Presence sends one (and keeps no history).
func TestJoinHistoryNullPresence(t *testing.T) {
	c := startNullWith(t, NullConfig{Presence: true})
	res, err := Join(t.Context(), JoinConfig{Common: c, Joins: 10, Concurrency: 3, History: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Joins != 10 || res.History != 5 || res.HistoryPerJoin != 0 || res.LatencyMS.Max <= 0 {
		t.Errorf("result %+v", res)
	}
}
