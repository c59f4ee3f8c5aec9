package component

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"chorus/internal/fakehost"
	"chorus/room"
	"chorus/stanza"
)

// mcRig is a component linked to a fake server, recording every stanza the
// server routes and every stanza the handler gets.
type mcRig struct {
	host    *fakehost.Host
	hs      *harness
	metrics *Metrics
	sender  *Sender

	mu      sync.Mutex
	routed  []*stanza.Element
	handled []*stanza.Element
}

const fakeMulticastJID = "multicast.localhost"

func startMulticastRig(t *testing.T, mc *fakehost.MulticastOptions, multicast bool) *mcRig {
	t.Helper()
	r := &mcRig{metrics: NewMetrics(), sender: &Sender{}}
	host, err := fakehost.Start(fakehost.Options{Secret: testSecret, Multicast: mc, OnRoute: func(st *stanza.Element) {
		r.mu.Lock()
		r.routed = append(r.routed, st.Clone())
		r.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	r.host = host
	cfg := Config{Domain: testDomain, Secret: testSecret, Server: host.ComponentAddr(),
		Metrics: r.metrics, Sender: r.sender, Multicast: multicast}
	r.hs = startRun(t, cfg, funcHandler{handle: func(st *stanza.Element) []room.Out {
		r.mu.Lock()
		r.handled = append(r.handled, st.Clone())
		r.mu.Unlock()
		return nil
	}})
	r.hs.waitState(t, true)
	waitFor(t, "sender up", r.sender.Up)
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// snapshot returns the stanzas routed so far that match keep.
func (r *mcRig) find(keep func(*stanza.Element) bool) []*stanza.Element {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*stanza.Element
	for _, st := range r.routed {
		if keep(st) {
			out = append(out, st)
		}
	}
	return out
}

// discoveryAnswered reports whether the server answered the component's
// disco#info request to the domain (with a result or an error).
func (r *mcRig) discoveryAnswered() bool {
	return len(r.find(func(st *stanza.Element) bool {
		return st.Local == "iq" && st.Attr("from") == "localhost" && st.Attr("to") == testDomain &&
			strings.HasPrefix(st.Attr("id"), mcIDPrefix) && st.Child(stanza.NSDiscoInfo, "query") != nil
	})) > 0
}

func (r *mcRig) send(t *testing.T, outs ...room.Out) {
	t.Helper()
	if err := r.sender.Send(outs); err != nil {
		t.Fatal(err)
	}
}

func recipients(prefix string, n int) []string {
	var to []string
	for i := range n {
		to = append(to, fmt.Sprintf("%s%d@localhost/r", prefix, i))
	}
	return to
}

func groupchat(id, body string) *stanza.Element {
	return stanza.New(stanza.NSClient, "message", "from", "room@"+testDomain+"/alice", "type", "groupchat", "id", id).
		Add(stanza.New(stanza.NSClient, "body").AddText(body))
}

// toService are the messages and presences routed to the multicast
// service.
func (r *mcRig) toService() []*stanza.Element {
	return r.find(func(st *stanza.Element) bool { return st.Attr("to") == fakeMulticastJID && st.Local != "iq" })
}

// copiesTo are the stanzas with id routed to to.
func (r *mcRig) copiesTo(to, id string) []*stanza.Element {
	return r.find(func(st *stanza.Element) bool { return st.Attr("to") == to && st.Attr("id") == id })
}

// bccOf returns the addresses of a multicast stanza, failing on anything
// but one <addresses/> of bcc addresses.
func bccOf(t *testing.T, st *stanza.Element) []string {
	t.Helper()
	all := st.ChildrenNamed(nsAddress, "addresses")
	if len(all) != 1 {
		t.Fatalf("%d <addresses/> in %s", len(all), st)
	}
	var jids []string
	for _, a := range all[0].Children() {
		if !a.Is(nsAddress, "address") || a.Attr("type") != "bcc" {
			t.Fatalf("not a bcc address: %s", a)
		}
		jids = append(jids, a.Attr("jid"))
	}
	return jids
}

// TestMulticastBatchesWithinLimit: once the service is found, an Out for
// several recipients goes to it once per batch of at most the advertised
// limit, with bcc addresses only and each recipient in exactly one batch;
// the server's copies carry no addresses. Two Outs never share a stanza,
// an Out for one recipient goes through the service too with one address,
// an IQ and an error go out directly, and the order per recipient holds.
// The rooms never see the discovery answers.
func TestMulticastBatchesWithinLimit(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{Limit: 3}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)

	a, b := recipients("a", 7), recipients("b", 2)
	iq := stanza.New(stanza.NSClient, "iq", "type", "get", "id", "q1", "from", "room@"+testDomain).
		Add(stanza.New("urn:xmpp:ping", "ping"))
	errSt := stanza.New(stanza.NSClient, "message", "from", "room@"+testDomain, "type", "error", "id", "e1").
		Add(stanza.New(stanza.NSClient, "error", "type", "modify").Add(stanza.New(stanza.NSStanzas, "not-acceptable")))
	r.send(t,
		room.Out{To: a, Stanza: groupchat("m1", "one")},
		room.To1(a[0], groupchat("m2", "private")),
		room.Out{To: b, Stanza: groupchat("m3", "other audience")},
		room.To1(a[1], errSt),
	)
	r.send(t, room.Out{To: b, Stanza: iq}) // an answer of its own: see TestMulticastIQAnswerStaysInOrder
	waitFor(t, "copies", func() bool {
		return len(r.copiesTo(b[1], "m3")) == 1 && len(r.copiesTo(b[1], "q1")) == 1 && len(r.copiesTo(a[1], "e1")) == 1
	})

	svc := r.toService()
	if len(svc) != 5 { // 3+3+1 for m1, 1 for m2, 2 for m3
		t.Fatalf("%d stanzas to the service, want 5: %v", len(svc), svc)
	}
	seen := map[string]string{}
	for _, st := range svc {
		jids := bccOf(t, st)
		if len(jids) > 3 {
			t.Errorf("batch of %d addresses over the limit 3", len(jids))
		}
		for _, j := range jids {
			if prev, dup := seen[st.Attr("id")+" "+j]; dup {
				t.Errorf("%s addressed twice (%s)", j, prev)
			}
			seen[st.Attr("id")+" "+j] = st.Attr("id")
			if st.Attr("id") == "m3" && !strings.HasPrefix(j, "b") || st.Attr("id") == "m1" && !strings.HasPrefix(j, "a") {
				t.Errorf("stanza %s addressed to %s of another audience", st.Attr("id"), j)
			}
		}
	}
	if len(seen) != len(a)+len(b)+1 {
		t.Errorf("%d addresses in all, want %d", len(seen), len(a)+len(b)+1)
	}
	for _, to := range a {
		got := r.copiesTo(to, "m1")
		if len(got) != 1 {
			t.Fatalf("%s got m1 %d times", to, len(got))
		}
		if got[0].Child(nsAddress, "addresses") != nil {
			t.Errorf("copy to %s carries the addresses: %s", to, got[0])
		}
	}
	// m2 (one recipient) goes through the service with its one address;
	// the IQ and the error never reach it.
	if n := len(r.copiesTo(a[0], "m2")); n != 1 {
		t.Errorf("m2 delivered %d times", n)
	}
	m2 := 0
	for _, st := range svc {
		switch {
		case st.Attr("id") == "m2":
			m2++
			if jids := bccOf(t, st); len(jids) != 1 || jids[0] != a[0] {
				t.Errorf("m2 through the service to %v, want %s alone", jids, a[0])
			}
		case st.Local == "iq" || st.Attr("type") == "error":
			t.Errorf("went through the service: %s", st)
		}
	}
	if m2 != 1 {
		t.Errorf("m2 went through the service %d times, want once", m2)
	}
	// Order for a[0]: m1, then m2.
	var order []string
	for _, st := range r.find(func(st *stanza.Element) bool { return st.Attr("to") == a[0] }) {
		order = append(order, st.Attr("id"))
	}
	if strings.Join(order, ",") != "m1,m2" {
		t.Errorf("a0 got %v, want m1,m2", order)
	}
	r.mu.Lock()
	for _, st := range r.handled {
		if strings.HasPrefix(st.Attr("id"), mcIDPrefix) {
			t.Errorf("the handler saw a discovery answer: %s", st)
		}
	}
	r.mu.Unlock()
	if v := metricValue(t, r.metrics, "chorus_multicast_stanzas_total"); v != 5 {
		t.Errorf("chorus_multicast_stanzas_total = %v, want 5", v)
	}
}

// TestMulticastOrderPerRecipient: a service slower than the server's
// direct route (here, one that holds its copies until released, as
// ejabberd's mod_multicast, a process of its own, may lag) must not let a
// stanza for one occupant overtake a broadcast sent before it: the
// broadcast, a private message and a self-presence for a[0], and another
// broadcast, reach a[0] in the order the room sent them. Errors and IQs,
// which go directly, are not held.
func TestMulticastOrderPerRecipient(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{Hold: true}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)

	a := recipients("a", 3)
	self := stanza.New(stanza.NSClient, "presence", "from", "room@"+testDomain+"/a0", "type", "unavailable", "id", "p1").
		Add(stanza.New(stanza.NSMUCUser, "x").Add(stanza.New(stanza.NSMUCUser, "status", "code", "110")))
	mark := stanza.New(stanza.NSClient, "iq", "type", "get", "id", "mark", "from", "room@"+testDomain).
		Add(stanza.New("urn:xmpp:ping", "ping"))
	r.send(t,
		room.Out{To: a, Stanza: groupchat("m1", "to all")},
		room.To1(a[0], groupchat("m2", "private")),
		room.Out{To: a, Stanza: groupchat("m3", "to all again")},
		room.To1(a[0], self),
	)
	// The IQ, in an answer of its own, goes directly, after the others:
	// once the server has routed it, it has taken (and held, or
	// delivered) everything before it.
	r.send(t, room.To1(a[0], mark))
	waitFor(t, "the IQ", func() bool { return len(r.copiesTo(a[0], "mark")) == 1 })
	r.host.ReleaseMulticast()
	waitFor(t, "p1", func() bool { return len(r.copiesTo(a[0], "p1")) == 1 })

	var order []string
	for _, st := range r.find(func(st *stanza.Element) bool { return st.Attr("to") == a[0] && st.Local != "iq" }) {
		order = append(order, st.Attr("id"))
	}
	if got := strings.Join(order, ","); got != "m1,m2,m3,p1" {
		t.Errorf("a0 got %s, want m1,m2,m3,p1, the order the room sent them in", got)
	}
}

// TestMulticastIQAnswerStaysInOrder: in one answer, what goes with an IQ
// to the same recipient goes directly as the IQ does, so a MAM query's
// results reach the client before the <fin/> (XEP-0313 §4.2) even when the
// service holds its copies; the other recipients of a broadcast in that
// answer still get theirs through the service.
func TestMulticastIQAnswerStaysInOrder(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{Hold: true}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	a := recipients("a", 3)
	res := func(id string) *stanza.Element {
		return stanza.New(stanza.NSClient, "message", "from", "room@"+testDomain, "id", id).
			Add(stanza.New("urn:xmpp:mam:2", "result", "queryid", "q", "id", "x"+id))
	}
	fin := stanza.New(stanza.NSClient, "iq", "type", "result", "id", "fin", "from", "room@"+testDomain).
		Add(stanza.New("urn:xmpp:mam:2", "fin", "queryid", "q"))
	r.send(t,
		room.To1(a[0], res("r1")),
		room.Out{To: a, Stanza: groupchat("b1", "to all")},
		room.To1(a[0], res("r2")),
		room.To1(a[0], fin),
	)
	waitFor(t, "the fin", func() bool { return len(r.copiesTo(a[0], "fin")) == 1 })
	var order []string
	for _, st := range r.find(func(st *stanza.Element) bool { return st.Attr("to") == a[0] }) {
		order = append(order, st.Attr("id"))
	}
	if got := strings.Join(order, ","); got != "r1,b1,r2,fin" {
		t.Errorf("a0 got %s before the service's copies were released, want r1,b1,r2,fin", got)
	}
	r.host.ReleaseMulticast()
	waitFor(t, "the others' copies", func() bool { return len(r.copiesTo(a[2], "b1")) == 1 })
	if n := len(r.copiesTo(a[0], "b1")); n != 1 {
		t.Errorf("a0 got b1 %d times", n)
	}
	for _, st := range r.toService() {
		for _, j := range bccOf(t, st) {
			if j == a[0] {
				t.Errorf("a0 addressed through the service: %s", st)
			}
		}
	}
}

// TestMulticastSinglesToNewRecipientGoDirectly: a recipient with no copy
// through the service yet (a joiner getting the occupant list, its own
// presence and the history) gets stanzas for them alone directly, even
// while the service holds its copies; once a broadcast went through the
// service to them, the next one for them alone waits behind it.
func TestMulticastSinglesToNewRecipientGoDirectly(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{Hold: true}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	a := recipients("a", 3)
	joiner := a[2]
	r.send(t,
		room.To1(joiner, stanza.New(stanza.NSClient, "presence", "from", "room@"+testDomain+"/a0", "id", "list")),
		room.To1(joiner, groupchat("hist", "history")),
		room.Out{To: a, Stanza: groupchat("b1", "to all")},
		room.To1(joiner, groupchat("pm", "private")),
	)
	waitFor(t, "the direct ones", func() bool { return len(r.copiesTo(joiner, "hist")) == 1 })
	var order []string
	for _, st := range r.find(func(st *stanza.Element) bool { return st.Attr("to") == joiner }) {
		order = append(order, st.Attr("id"))
	}
	if got := strings.Join(order, ","); got != "list,hist" {
		t.Errorf("before the service's copies were released the joiner got %s, want list,hist", got)
	}
	r.host.ReleaseMulticast()
	waitFor(t, "pm", func() bool { return len(r.copiesTo(joiner, "pm")) == 1 })
	order = order[:0]
	for _, st := range r.find(func(st *stanza.Element) bool { return st.Attr("to") == joiner }) {
		order = append(order, st.Attr("id"))
	}
	if got := strings.Join(order, ","); got != "list,hist,b1,pm" {
		t.Errorf("the joiner got %s, want list,hist,b1,pm", got)
	}
}

// TestMulticastReachedWindow: a recipient counts as reached through the
// service for at least mcReachedWindow after its last copy, and is
// forgotten within two windows, so the record does not grow with every
// recipient the link ever served.
func TestMulticastReachedWindow(t *testing.T) {
	var m multicast
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := mcReachedWindow
	if m.wasReached("a", t0) {
		t.Fatal("reached before any copy")
	}
	m.markReached("a", t0)
	m.markReached("b", t0.Add(w-time.Second))
	for _, c := range []struct {
		to   string
		at   time.Duration
		want bool
	}{
		{"a", 0, true}, {"a", w - time.Nanosecond, true}, {"b", 2*w - 2*time.Second, true},
		{"c", time.Second, false},
	} {
		if got := m.wasReached(c.to, t0.Add(c.at)); got != c.want {
			t.Errorf("%s at +%v: reached %v, want %v", c.to, c.at, got, c.want)
		}
	}
	// A mark in a new window keeps the last one's marks for one more.
	m.markReached("c", t0.Add(w+time.Second))
	if !m.wasReached("b", t0.Add(w+2*time.Second)) || !m.wasReached("c", t0.Add(w+2*time.Second)) {
		t.Error("b or c forgotten less than a window after its mark")
	}
	if m.wasReached("a", t0.Add(3*w+time.Second)) || m.wasReached("c", t0.Add(3*w+time.Second)) {
		t.Error("remembered past two windows")
	}
	if m.reached != nil || m.reachedPrev != nil {
		t.Error("the record is kept after both windows ended")
	}
	// After a long quiet spell the next mark starts afresh.
	m.markReached("d", t0.Add(10*w))
	m.markReached("e", t0.Add(12*w))
	if m.wasReached("d", t0.Add(12*w)) {
		t.Error("d remembered two windows after its mark")
	}
}

// TestMulticastInOrderServiceSparesSingles: through a service that
// delivers in order (urn:chorus:multicast#in-order), a stanza for one
// recipient goes directly; broadcasts still go through it.
func TestMulticastInOrderServiceSparesSingles(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{InOrder: true}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	a := recipients("a", 3)
	r.send(t, room.Out{To: a, Stanza: groupchat("m1", "to all")}, room.To1(a[0], groupchat("m2", "private")))
	waitFor(t, "copies", func() bool { return len(r.copiesTo(a[2], "m1")) == 1 && len(r.copiesTo(a[0], "m2")) == 1 })
	svc := r.toService()
	if len(svc) != 1 || svc[0].Attr("id") != "m1" {
		t.Fatalf("through the service: %v, want m1 alone", svc)
	}
}

// TestMulticastDefaultBatch: a service that advertises no limit gets
// batches of defaultMulticastBatch.
func TestMulticastDefaultBatch(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	to := recipients("u", defaultMulticastBatch+1)
	r.send(t, room.Out{To: to, Stanza: stanza.New(stanza.NSClient, "presence", "from", "room@"+testDomain+"/bob", "id", "p1")})
	waitFor(t, "copies", func() bool { return len(r.copiesTo(to[len(to)-1], "p1")) == 1 })
	svc := r.toService()
	if len(svc) != 2 || len(bccOf(t, svc[0])) != defaultMulticastBatch || len(bccOf(t, svc[1])) != 1 {
		t.Fatalf("got %d stanzas to the service, want batches of %d and 1", len(svc), defaultMulticastBatch)
	}
}

// TestMulticastNoServiceMeansPerRecipient: without a service among the
// server's items, every recipient gets its own stanza.
func TestMulticastNoServiceMeansPerRecipient(t *testing.T) {
	r := startMulticastRig(t, nil, true)
	waitFor(t, "discovery answered", r.discoveryAnswered)
	time.Sleep(20 * time.Millisecond) // let the link read the answer
	to := recipients("u", 3)
	r.send(t, room.Out{To: to, Stanza: groupchat("m1", "hi")})
	waitFor(t, "copies", func() bool { return len(r.copiesTo(to[2], "m1")) == 1 })
	if svc := r.find(func(st *stanza.Element) bool { return st.Child(nsAddress, "addresses") != nil }); len(svc) != 0 {
		t.Fatalf("stanzas with addresses without a service: %v", svc)
	}
	if r.metrics.MulticastInUse() {
		t.Error("multicast in use without a service")
	}
}

// TestMulticastOffNeverDiscovers: with Multicast off the link asks nothing
// and sends one stanza per recipient, even with a service there.
func TestMulticastOffNeverDiscovers(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{}, false)
	to := recipients("u", 3)
	r.send(t, room.Out{To: to, Stanza: groupchat("m1", "hi")})
	waitFor(t, "copies", func() bool { return len(r.copiesTo(to[2], "m1")) == 1 })
	if got := r.find(func(st *stanza.Element) bool {
		return st.Attr("to") == "localhost" || st.Attr("to") == fakeMulticastJID
	}); len(got) != 0 {
		t.Fatalf("with multicast off the link sent %v", got)
	}
}

// TestMulticastRefusalFallsBack: each stanza the service refuses goes again
// to each of its recipients, so that everyone gets it exactly once; the
// link stops using the service, logs that once, and the refusals never
// reach the rooms.
func TestMulticastRefusalFallsBack(t *testing.T) {
	for _, list := range []bool{false, true} {
		t.Run(fmt.Sprintf("bcc_list=%v", list), func(t *testing.T) { testMulticastRefusalFallsBack(t, list) })
	}
}

func testMulticastRefusalFallsBack(t *testing.T, bccList bool) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{Limit: 2, Refuse: true, BccList: bccList}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	to := recipients("u", 5)
	r.send(t, room.Out{To: to, Stanza: groupchat("m1", "hi")})
	waitFor(t, "fallback copies", func() bool {
		for _, j := range to {
			if len(r.copiesTo(j, "m1")) == 0 {
				return false
			}
		}
		return true
	})
	r.send(t, room.Out{To: to, Stanza: groupchat("m2", "again")})
	waitFor(t, "m2", func() bool { return len(r.copiesTo(to[4], "m2")) == 1 })
	time.Sleep(50 * time.Millisecond) // room for a duplicate to show
	for _, j := range to {
		for _, id := range []string{"m1", "m2"} {
			if n := len(r.copiesTo(j, id)); n != 1 {
				t.Errorf("%s got %s %d times", j, id, n)
			}
		}
	}
	if n := len(r.toService()); n != 3 {
		t.Errorf("%d stanzas to the service, want the 3 batches of m1 only", n)
	}
	if v := metricValue(t, r.metrics, "chorus_multicast_fallbacks_total"); v != 3 {
		t.Errorf("chorus_multicast_fallbacks_total = %v, want 3", v)
	}
	if r.metrics.MulticastInUse() {
		t.Error("still in use after a refusal")
	}
	if n := r.hs.logs.count("multicast: the service refused"); n != 1 {
		t.Errorf("refusal logged %d times, want once", n)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.handled {
		if st.Attr("from") == fakeMulticastJID {
			t.Errorf("the handler saw the service's refusal: %s", st)
		}
	}
}

// TestMulticastBccList: to a service that takes a bcc list, each batch
// carries its recipients as one list, in order and separated by tabs,
// within the limit and without XEP-0033 addresses; every recipient gets
// one copy, which carries neither form.
func TestMulticastBccList(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{Limit: 3, BccList: true}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	to := recipients("u", 7)
	r.send(t, room.Out{To: to, Stanza: groupchat("m1", "hi")})
	waitFor(t, "copies", func() bool { return len(r.copiesTo(to[6], "m1")) == 1 })
	svc := r.toService()
	if len(svc) != 3 {
		t.Fatalf("%d stanzas to the service, want 3", len(svc))
	}
	var listed []string
	for _, st := range svc {
		lists := st.ChildrenNamed(nsBccList, "bcc")
		if len(lists) != 1 || st.Child(nsAddress, "addresses") != nil {
			t.Fatalf("want one bcc list and no addresses: %s", st)
		}
		jids := strings.Split(lists[0].Text(), "\t")
		if len(jids) > 3 {
			t.Errorf("a list of %d over the limit 3", len(jids))
		}
		listed = append(listed, jids...)
	}
	if strings.Join(listed, " ") != strings.Join(to, " ") {
		t.Errorf("listed %v, want %v", listed, to)
	}
	for _, j := range to {
		got := r.copiesTo(j, "m1")
		if len(got) != 1 {
			t.Fatalf("%s got m1 %d times", j, len(got))
		}
		if got[0].Child(nsBccList, "bcc") != nil || got[0].Child(nsAddress, "addresses") != nil {
			t.Errorf("the copy to %s carries recipients: %s", j, got[0])
		}
	}
}

// TestRecipientsElement: a list only for a service that takes one, and
// addresses whenever a recipient could not be told apart in a list.
func TestRecipientsElement(t *testing.T) {
	for _, c := range []struct {
		to   []string
		list bool
		want string
	}{
		{[]string{"a@h/r", "b@h/r s"}, true, "<bcc xmlns='urn:chorus:multicast:bcc'>a@h/r\tb@h/r s</bcc>"},
		{[]string{"a@h/r", "b@h/r"}, false, "<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='a@h/r'/><address type='bcc' jid='b@h/r'/></addresses>"},
		{[]string{"a@h/r", "b@h/\tr"}, true, "<addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='a@h/r'/><address type='bcc' jid='b@h/&#x9;r'/></addresses>"},
	} {
		if got := recipientsElement(c.to, c.list).String(); got != c.want {
			t.Errorf("recipientsElement(%q, %v) = %s, want %s", c.to, c.list, got, c.want)
		}
	}
}

// TestFirstRecipient: a refusal is told apart from the other batches of
// its stanza by the first recipient it carries back, in either form.
func TestFirstRecipient(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"<message><addresses xmlns='http://jabber.org/protocol/address'><address type='bcc' jid='b@h/r'/><address type='bcc' jid='c@h/r'/></addresses></message>", "b@h/r"},
		{"<message><bcc xmlns='urn:chorus:multicast:bcc'>b@h/r\tc@h/r</bcc></message>", "b@h/r"},
		{"<message><bcc xmlns='urn:chorus:multicast:bcc'>b@h/r</bcc></message>", "b@h/r"},
		{"<message><addresses xmlns='http://jabber.org/protocol/address'/></message>", ""},
		{"<message><body>x</body></message>", ""},
	} {
		if got := firstRecipient(stanza.MustParse(c.raw)); got != c.want {
			t.Errorf("firstRecipient(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
}

// TestMulticastRediscoversAfterReconnect: each link asks again, and uses
// the service again after a refusal on the previous link.
func TestMulticastRediscoversAfterReconnect(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	r.host.SetMulticastRefuse(true)
	r.send(t, room.Out{To: recipients("u", 2), Stanza: groupchat("m1", "hi")})
	waitFor(t, "refusal", func() bool { return !r.metrics.MulticastInUse() })
	r.host.SetMulticastRefuse(false)

	itemsAsked := func() int {
		return len(r.find(func(st *stanza.Element) bool {
			return st.Attr("to") == "localhost" && st.Child(stanza.NSDiscoItems, "query") != nil
		}))
	}
	if n := itemsAsked(); n != 1 {
		t.Fatalf("disco#items asked %d times on the first link", n)
	}
	r.host.DropComponent()
	r.hs.waitState(t, false)
	r.hs.waitState(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.host.WaitComponent(ctx, true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "multicast in use again", r.metrics.MulticastInUse)
	if n := itemsAsked(); n != 2 {
		t.Fatalf("disco#items asked %d times after a reconnect, want 2", n)
	}
	waitFor(t, "sender up", r.sender.Up)
	to := recipients("v", 2)
	r.send(t, room.Out{To: to, Stanza: groupchat("m2", "back")})
	waitFor(t, "m2", func() bool { return len(r.copiesTo(to[1], "m2")) == 1 })
	if n := len(r.find(func(st *stanza.Element) bool { return st.Attr("to") == fakeMulticastJID && st.Attr("id") == "m2" })); n != 1 {
		t.Errorf("m2 went to the service %d times, want once", n)
	}
}

// TestMulticastReadLimits: the limits form is read by its FORM_TYPE, a
// number or "infinite" per kind, capped; anything else leaves the default.
func TestMulticastReadLimits(t *testing.T) {
	form := func(formType string, fields ...string) *stanza.Element {
		x := stanza.New(nsData, "x", "type", "result").
			Add(stanza.New(nsData, "field", "var", "FORM_TYPE", "type", "hidden").Add(stanza.New(nsData, "value").AddText(formType)))
		for i := 0; i+1 < len(fields); i += 2 {
			x.Add(stanza.New(nsData, "field", "var", fields[i]).Add(stanza.New(nsData, "value").AddText(fields[i+1])))
		}
		return stanza.New(stanza.NSDiscoInfo, "query").Add(x)
	}
	for i, tc := range []struct {
		q         *stanza.Element
		msg, pres int
	}{
		{form(nsAddress, "message", "40", "presence", "infinite"), 40, maxMulticastBatch},
		{form(nsAddress, "message", "500"), maxMulticastBatch, defaultMulticastBatch},
		{form(nsAddress, "message", "-3", "presence", "x"), defaultMulticastBatch, defaultMulticastBatch},
		{form("urn:other", "message", "40"), defaultMulticastBatch, defaultMulticastBatch},
		{stanza.New(stanza.NSDiscoInfo, "query"), defaultMulticastBatch, defaultMulticastBatch},
	} {
		var svc mcService
		readLimits(tc.q, &svc)
		if m, p := svc.batchFor("message"), svc.batchFor("presence"); m != tc.msg || p != tc.pres {
			t.Errorf("%d: batches %d/%d, want %d/%d", i, m, p, tc.msg, tc.pres)
		}
	}
}

// TestMulticastUnrelatedErrorPassesOn: an error from the service's address
// that answers no multicast stanza reaches the rooms and leaves multicast
// in use.
func TestMulticastUnrelatedErrorPassesOn(t *testing.T) {
	r := startMulticastRig(t, &fakehost.MulticastOptions{}, true)
	waitFor(t, "multicast in use", r.metrics.MulticastInUse)
	// To the service itself, so sent directly without addresses: the
	// service answers bad-request, to a stanza the link never sent
	// through it.
	r.send(t, room.To1(fakeMulticastJID, groupchat("x1", "not a multicast")))
	waitFor(t, "the error at the handler", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, st := range r.handled {
			if st.Attr("id") == "x1" && st.Attr("type") == "error" && st.Attr("from") == fakeMulticastJID {
				return true
			}
		}
		return false
	})
	if !r.metrics.MulticastInUse() {
		t.Error("an unrelated error stopped multicast")
	}
	if v := metricValue(t, r.metrics, "chorus_multicast_fallbacks_total"); v != 0 {
		t.Errorf("chorus_multicast_fallbacks_total = %v, want 0", v)
	}
}

// TestMulticastRememberBounded: the stanzas kept for refusals are bounded
// in number and age, and each refusal takes the oldest match once.
func TestMulticastRememberBounded(t *testing.T) {
	m := &multicast{}
	st := groupchat("m", "x")
	t0 := time.Unix(1000, 0)
	for i := range mcRecentMax + 10 {
		m.remember(mcSent{local: "message", from: "r", id: fmt.Sprint(i), first: "a", to: []string{"a", "b"}, st: st, at: t0})
	}
	if n := len(m.recent) - m.head; n != mcRecentMax {
		t.Fatalf("%d kept, want %d", n, mcRecentMax)
	}
	if _, ok := m.take("message", "r", "0", ""); ok {
		t.Error("the oldest, beyond the bound, was still kept")
	}
	if _, ok := m.take("message", "r", fmt.Sprint(mcRecentMax+9), "a"); !ok {
		t.Error("the newest was not kept")
	}
	if _, ok := m.take("message", "r", fmt.Sprint(mcRecentMax+9), "a"); ok {
		t.Error("taken twice")
	}
	m.remember(mcSent{local: "message", from: "r", id: "late", st: st, at: t0.Add(mcRecentTTL + time.Second)})
	if n := len(m.recent) - m.head; n != 1 {
		t.Errorf("%d kept after the others expired, want 1", n)
	}
	if _, ok := m.take("message", "r", fmt.Sprint(mcRecentMax), ""); ok {
		t.Error("an expired one was still kept")
	}
}
