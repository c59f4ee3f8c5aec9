package component

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// Every metric of the service is declared in this file. Labels take values
// from small fixed sets only (stanza kinds, error conditions, store
// operations): a room or user address as a label would grow the series
// without bound and leak who talks where to whoever can scrape.
const metricsNamespace = "chorus"

// Stanza kinds, the values of the kind label.
const (
	kindMessage = iota
	kindPresence
	kindIQ
	numKinds
)

var kindNames = [numKinds]string{"message", "presence", "iq"}

func kindOf(local string) int {
	switch local {
	case "message":
		return kindMessage
	case "presence":
		return kindPresence
	case "iq":
		return kindIQ
	}
	return -1
}

// definedConditions are the stanza error conditions of RFC 6120 §8.3.3,
// the values of the condition label; anything else counts as "other".
var definedConditions = []stanza.Condition{
	stanza.BadRequest, stanza.Conflict, stanza.FeatureNotImplemented, stanza.Forbidden, stanza.Gone,
	stanza.InternalServerError, stanza.ItemNotFound, stanza.JIDMalformed, stanza.NotAcceptable,
	stanza.NotAllowed, stanza.NotAuthorized, stanza.PolicyViolation, stanza.RecipientUnavailable,
	stanza.Redirect, stanza.RegistrationRequired, stanza.RemoteServerNotFound,
	stanza.RemoteServerTimeout, stanza.ResourceConstraint, stanza.ServiceUnavailable,
	stanza.SubscriptionRequired, stanza.UndefinedCondition, stanza.UnexpectedRequest,
}

// Store operations, the values of the op label.
const (
	opLoadRoom = iota
	opUpdateRoom
	opDeleteRoom
	opAppend
	opQuery
	opLatest
	opReplace
	opExpire
	opGet
	opBounds
	opListRooms
	numOps
)

var opNames = [numOps]string{"load_room", "update_room", "delete_room", "append", "query", "latest", "replace", "expire",
	"get", "bounds", "list_rooms"}

// Live state operations (store.LiveStore), which stand apart from Store's.
const (
	opSaveLive = numOps + iota
	opLoadLive
	numAllOps
)

var liveOpNames = [numAllOps - numOps]string{"save_live", "load_live"}

// Metrics holds the service's Prometheus metrics and the state of the
// component link, for /readyz. The counters of every label value are
// resolved once here, so that counting a stanza is an atomic add without
// a label lookup or an allocation.
//
// A nil *Metrics is valid and counts nothing.
type Metrics struct {
	reg *prometheus.Registry

	up    atomic.Bool
	wasUp atomic.Bool
	// standby: another instance serves the domain (see SetActive).
	standby atomic.Bool
	reconn  prometheus.Counter

	in, out    [numKinds]prometheus.Counter
	errs       map[stanza.Condition]prometheus.Counter
	otherErrs  prometheus.Counter
	fanout     prometheus.Histogram
	storeTime  [numAllOps]prometheus.Observer
	storeErrs  [numAllOps]prometheus.Counter
	roomsAdded atomic.Bool

	mcInUse                 atomic.Bool
	mcStanzas, mcRecipients prometheus.Counter
	mcFallbacks             prometheus.Counter
}

// NewMetrics returns the metrics on a registry of their own, with the Go
// runtime and process collectors; nothing is registered on the
// prometheus default registry.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), errs: make(map[stanza.Condition]prometheus.Counter, len(definedConditions))}
	f := factory{m.reg}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	in := f.counterVec("stanzas_in_total", "Stanzas read from the server, by kind (message, presence, iq).", "kind")
	out := f.counterVec("stanzas_out_total", "Stanzas written to the server, by kind; one per recipient.", "kind")
	for k, name := range kindNames {
		m.in[k] = in.WithLabelValues(name)
		m.out[k] = out.WithLabelValues(name)
	}
	errs := f.counterVec("stanza_errors_total",
		"Stanza errors written to the server (type='error'), by RFC 6120 condition; one per recipient.", "condition")
	for _, c := range definedConditions {
		m.errs[c] = errs.WithLabelValues(string(c))
	}
	m.otherErrs = errs.WithLabelValues("other")

	m.reconn = f.counter("reconnects_total", "Component connections established after the first one.")
	f.gaugeFunc("component_up", "1 while the component stream is authenticated, 0 otherwise.", func() float64 {
		if m.up.Load() {
			return 1
		}
		return 0
	})
	f.gaugeFunc("active", "1 while this instance serves the domain, 0 while it waits as a standby for the active one to go.", func() float64 {
		if m.standby.Load() {
			return 0
		}
		return 1
	})
	m.fanout = f.histogram("fanout_seconds",
		"Time from reading a stanza to flushing the stanzas it caused to the server socket: "+
			"room handling, synchronous store writes, the send queue and encoding. Stanzas that cause no output are not observed.",
		[]float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5})

	m.mcStanzas = f.counter("multicast_stanzas_total",
		"Stanzas written to the server's XEP-0033 multicast service, each for a batch of recipients.")
	m.mcRecipients = f.counter("multicast_recipients_total",
		"Recipients reached through the multicast service (also counted in chorus_stanzas_out_total).")
	m.mcFallbacks = f.counter("multicast_fallbacks_total",
		"Multicast stanzas the service refused and that were sent again, one per recipient.")
	f.gaugeFunc("multicast_in_use", "1 while the link sends stanzas for several recipients through a multicast service, 0 otherwise.",
		func() float64 {
			if m.mcInUse.Load() {
				return 1
			}
			return 0
		})

	storeTime := f.histogramVec("store_seconds", "Duration of store calls, by operation.", "op",
		[]float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5})
	storeErrs := f.counterVec("store_errors_total", "Store calls that failed, by operation.", "op")
	for op, name := range append(opNames[:], liveOpNames[:]...) {
		m.storeTime[op] = storeTime.WithLabelValues(name)
		m.storeErrs[op] = storeErrs.WithLabelValues(name)
	}
	return m
}

// Registry is the registry the metrics are on, to serve or gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Ready reports whether the component stream is authenticated (which a
// standby's never is).
func (m *Metrics) Ready() bool { return m != nil && m.up.Load() && !m.standby.Load() }

// SetActive says whether this instance serves the domain (true, the
// default) or waits as a hot standby (false): chorus_active, and /readyz
// tells a standby apart.
func (m *Metrics) SetActive(active bool) {
	if m != nil {
		m.standby.Store(!active)
	}
}

// Standby reports whether SetActive(false) holds.
func (m *Metrics) Standby() bool { return m != nil && m.standby.Load() }

// ObserveRooms adds the gauges chorus_rooms, chorus_occupants and
// chorus_sessions, read from stats at each scrape. Only the first call has
// an effect.
func (m *Metrics) ObserveRooms(stats func() room.Stats) {
	if m == nil || !m.roomsAdded.CompareAndSwap(false, true) {
		return
	}
	m.reg.MustRegister(&roomCollector{
		stats:     stats,
		rooms:     prometheus.NewDesc(metricsNamespace+"_rooms", "Rooms held in memory (persistent rooms load on their first stanza, empty rooms are evicted).", nil, nil),
		occupants: prometheus.NewDesc(metricsNamespace+"_occupants", "Occupants (nicknames) in all rooms.", nil, nil),
		sessions:  prometheus.NewDesc(metricsNamespace+"_sessions", "Client sessions (full JIDs) joined to rooms; one occupant may have several.", nil, nil),
	})
}

// ObserveOperatorTools adds the metrics of slow mode, the block lists and
// service-wide bans: chorus_slowmode_refusals_total,
// chorus_rtbl_refusals_total and chorus_service_bans_applied_total, read
// from refusals, and, with block lists (bl not nil), chorus_rtbl_entries and
// chorus_rtbl_last_update_timestamp_seconds.
func (m *Metrics) ObserveOperatorTools(refusals func() room.Refusals, bl *Blocklist) {
	if m == nil {
		return
	}
	f := factory{m.reg}
	f.counterFunc("slowmode_refusals_total", "Groupchat messages refused because the room is in slow mode (XEP-0500).",
		func() float64 { return float64(refusals().SlowMode) })
	f.counterFunc("rtbl_refusals_total", "Joins and room creations refused because the user is on a block list.",
		func() float64 { return float64(refusals().Blocklist) })
	f.counterFunc("service_bans_applied_total", "Joins refused and occupants removed because of a service-wide ban.",
		func() float64 { return float64(refusals().ServiceBan) })
	if bl == nil {
		return
	}
	f.gaugeFunc("rtbl_entries", "Entries of all real-time block lists together.", func() float64 { return float64(bl.Len()) })
	f.gaugeFunc("rtbl_last_update_timestamp_seconds", "When the block lists last changed (Unix time); 0 before they were loaded.",
		func() float64 {
			if t := bl.Updated(); !t.IsZero() {
				return float64(t.UnixNano()) / 1e9
			}
			return 0
		})
}

// roomCollector reads the registry's Stats once per scrape for all three
// gauges: Stats locks every room in turn, so three GaugeFuncs would do that
// three times.
type roomCollector struct {
	stats                      func() room.Stats
	rooms, occupants, sessions *prometheus.Desc
}

func (c *roomCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rooms
	ch <- c.occupants
	ch <- c.sessions
}

func (c *roomCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(c.rooms, prometheus.GaugeValue, float64(s.Rooms))
	ch <- prometheus.MustNewConstMetric(c.occupants, prometheus.GaugeValue, float64(s.Occupants))
	ch <- prometheus.MustNewConstMetric(c.sessions, prometheus.GaugeValue, float64(s.Sessions))
}

// linkUp and linkDown follow the component stream's authentication.
func (m *Metrics) linkUp() {
	if m == nil {
		return
	}
	if m.wasUp.Swap(true) {
		m.reconn.Inc()
	}
	m.up.Store(true)
}

func (m *Metrics) linkDown() {
	if m != nil {
		m.up.Store(false)
	}
}

// received counts one stanza read and returns when it was read, the start
// of its fan-out time (zero without metrics, so that nothing is observed).
func (m *Metrics) received(local string) time.Time {
	if m == nil {
		return time.Time{}
	}
	if k := kindOf(local); k >= 0 {
		m.in[k].Inc()
	}
	return time.Now()
}

// sent counts st written to n recipients, and its error condition when it
// is a stanza error.
func (m *Metrics) sent(st *stanza.Element, n int) {
	if m == nil || n == 0 {
		return
	}
	k := kindOf(st.Local)
	if k < 0 {
		return
	}
	m.out[k].Add(float64(n))
	if st.Attr("type") != "error" {
		return
	}
	c, ok := m.errs[stanza.ErrorOf(st).Condition]
	if !ok {
		c = m.otherErrs
	}
	c.Add(float64(n))
}

// multicastSent counts stanzas written to the multicast service for
// recipients in all.
func (m *Metrics) multicastSent(stanzas, recipients int) {
	if m != nil {
		m.mcStanzas.Add(float64(stanzas))
		m.mcRecipients.Add(float64(recipients))
	}
}

// multicastFallback counts a refused multicast stanza sent again.
func (m *Metrics) multicastFallback() {
	if m != nil {
		m.mcFallbacks.Inc()
	}
}

// multicastInUse follows whether the link uses a multicast service.
func (m *Metrics) multicastInUse(on bool) {
	if m != nil {
		m.mcInUse.Store(on)
	}
}

// MulticastInUse reports whether the link uses a multicast service now.
func (m *Metrics) MulticastInUse() bool { return m != nil && m.mcInUse.Load() }

// flushed observes the fan-out time of the stanzas read at reads, whose
// output has just been flushed. Zero times (output not caused by a read,
// such as the shutdown presences) are skipped.
func (m *Metrics) flushed(reads []time.Time) {
	if m == nil || len(reads) == 0 {
		return
	}
	now := time.Now()
	for _, t := range reads {
		if !t.IsZero() {
			m.fanout.Observe(now.Sub(t).Seconds())
		}
	}
}

// InstrumentStore returns s timing each call into chorus_store_seconds and
// counting failures into chorus_store_errors_total; s itself without
// metrics.
func (m *Metrics) InstrumentStore(s store.Store) store.Store {
	if m == nil || s == nil {
		return s
	}
	t := &timedStore{Store: s, m: m}
	if l, ok := s.(store.LiveStore); ok {
		return &timedLiveStore{timedStore: t, live: l}
	}
	return t
}

// timedStore embeds the Store so that a method added to the interface
// later passes through, untimed, rather than breaking the build.
type timedStore struct {
	store.Store
	m *Metrics
}

// done records a call of op that started at start.
func (s *timedStore) done(op int, start time.Time, err error) {
	s.m.storeTime[op].Observe(time.Since(start).Seconds())
	// An unknown archive id is the client's mistake, answered with
	// item-not-found, not a failing store.
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.m.storeErrs[op].Inc()
	}
}

func (s *timedStore) LoadRoom(ctx context.Context, jid string) (*store.RoomState, error) {
	start := time.Now()
	st, err := s.Store.LoadRoom(ctx, jid)
	s.done(opLoadRoom, start, err)
	return st, err
}

func (s *timedStore) UpdateRoom(ctx context.Context, u store.RoomUpdate) error {
	start := time.Now()
	err := s.Store.UpdateRoom(ctx, u)
	s.done(opUpdateRoom, start, err)
	return err
}

func (s *timedStore) DeleteRoom(ctx context.Context, jid string, t *store.Tombstone) error {
	start := time.Now()
	err := s.Store.DeleteRoom(ctx, jid, t)
	s.done(opDeleteRoom, start, err)
	return err
}

func (s *timedStore) ListRooms(ctx context.Context, q store.RoomListQuery) (store.RoomList, error) {
	start := time.Now()
	l, err := s.Store.ListRooms(ctx, q)
	s.done(opListRooms, start, err)
	return l, err
}

func (s *timedStore) Append(ctx context.Context, msgs []store.Message) error {
	start := time.Now()
	err := s.Store.Append(ctx, msgs)
	s.done(opAppend, start, err)
	return err
}

func (s *timedStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	start := time.Now()
	p, err := s.Store.Query(ctx, q)
	s.done(opQuery, start, err)
	return p, err
}

func (s *timedStore) Latest(ctx context.Context, room string, n int) ([]store.Message, error) {
	start := time.Now()
	msgs, err := s.Store.Latest(ctx, room, n)
	s.done(opLatest, start, err)
	return msgs, err
}

func (s *timedStore) Replace(ctx context.Context, room, id string, stanza []byte) (bool, error) {
	start := time.Now()
	ok, err := s.Store.Replace(ctx, room, id, stanza)
	s.done(opReplace, start, err)
	return ok, err
}

func (s *timedStore) Expire(ctx context.Context, before time.Time) (int64, error) {
	start := time.Now()
	n, err := s.Store.Expire(ctx, before)
	s.done(opExpire, start, err)
	return n, err
}

func (s *timedStore) Get(ctx context.Context, room, id string) (*store.Message, error) {
	start := time.Now()
	m, err := s.Store.Get(ctx, room, id)
	s.done(opGet, start, err)
	return m, err
}

func (s *timedStore) Bounds(ctx context.Context, room string) (first, last *store.Message, err error) {
	start := time.Now()
	first, last, err = s.Store.Bounds(ctx, room)
	s.done(opBounds, start, err)
	return first, last, err
}

// timedLiveStore is a timedStore of a store that also keeps live state.
type timedLiveStore struct {
	*timedStore
	live store.LiveStore
}

func (s *timedLiveStore) SaveLive(ctx context.Context, batch []store.LiveRoom, gone []string) error {
	start := time.Now()
	err := s.live.SaveLive(ctx, batch, gone)
	s.done(opSaveLive, start, err)
	return err
}

func (s *timedLiveStore) LoadLive(ctx context.Context) ([]store.LiveRoom, error) {
	start := time.Now()
	rooms, err := s.live.LoadLive(ctx)
	s.done(opLoadLive, start, err)
	return rooms, err
}

// factory registers metrics in the chorus namespace.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help, label string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}, []string{label})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterFunc(name, help string, fn func() float64) {
	f.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help}, fn))
}

func (f factory) gaugeFunc(name, help string, fn func() float64) {
	f.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: name, Help: help}, fn))
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogramVec(name, help, label string, buckets []float64) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: name, Help: help, Buckets: buckets}, []string{label})
	f.reg.MustRegister(h)
	return h
}
