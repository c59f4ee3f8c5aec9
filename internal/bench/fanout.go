package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FanoutConfig configures the fan-out scenario: in each room a few senders
// post groupchat messages and every occupant counts what it receives.
type FanoutConfig struct {
	Common
	Occupants int // per room; default 10
	Senders   int // per room, the first occupants; default 1
	// Rate is messages per second per sender. Zero sends as fast as the
	// service allows: each sender keeps Window messages in flight, a
	// message counting as done when its echo reaches the sender. With a
	// rate, sending is paced and not windowed, so latency includes any
	// queueing when the service cannot keep up.
	Rate      float64
	Window    int           // default 4
	Warmup    time.Duration // sending before the measured window
	Duration  time.Duration // the measured window; default 10 s
	BodyBytes int           // default 60
	// Drain bounds the wait after the window for messages sent in it;
	// the wait also ends after a second without progress. Default 10 s.
	Drain time.Duration
}

// FanoutResult is the JSON line of the fan-out scenario.
type FanoutResult struct {
	Scenario         string             `json:"scenario"`
	Label            string             `json:"label"`
	Rooms            int                `json:"rooms"`
	Occupants        int                `json:"occupants"`
	Senders          int                `json:"senders"`
	Seconds          float64            `json:"seconds"`
	Sent             int64              `json:"sent"`
	Delivered        int64              `json:"delivered"`
	DeliveriesPerSec float64            `json:"deliveries_per_sec"`
	Lost             int64              `json:"lost"`
	Reordered        int64              `json:"reordered"`
	LatencyMS        Latency            `json:"latency_ms"`
	CPUCores         map[string]float64 `json:"cpu_cores"`
	RSSKiB           map[string]int64   `json:"rss_kib"`
}

// fanRun is the state the occupants of all rooms share.
type fanRun struct {
	cfg *FanoutConfig
	// The measured window, unix ns; zero until the senders start.
	ws, we atomic.Int64

	errOnce  sync.Once
	firstErr string // the first error stanza received
	errs     atomic.Int64
	sendErr  atomic.Pointer[error]
}

func (r *fanRun) inWindow(t int64) bool { return t >= r.ws.Load() && t < r.we.Load() }

// fanOcc is one occupant.
type fanOcc struct {
	*member
	run   *fanRun
	snd   *fanSender // when this occupant sends
	peers []fanPeer  // what arrived from each sender of the room

	delivered atomic.Int64 // deliveries received during the window
	reordered atomic.Int64
	hist      Histogram // latency of messages sent during the window
}

// fanPeer tracks one sender as seen by one receiver. last is touched only
// by the receiver's reader goroutine.
type fanPeer struct {
	last int64
	got  atomic.Int64 // messages sent during the window received
}

func (o *fanOcc) handle(st []byte) {
	if string(Name(st)) != "message" {
		o.member.handle(st)
		return
	}
	if typ, _ := Attr(st, "type"); string(typ) == "error" {
		o.run.errs.Add(1)
		o.run.errOnce.Do(func() { o.run.firstErr = clip(st) })
		return
	}
	body, ok := Child(st, "body")
	if !ok {
		return // the subject, for instance
	}
	k, seq, ts, ok := parseBody(Text(body))
	if !ok || k >= len(o.peers) {
		return
	}
	now := time.Now().UnixNano()
	if o.run.inWindow(now) {
		o.delivered.Add(1)
	}
	p := &o.peers[k]
	if seq <= p.last {
		o.reordered.Add(1)
	} else {
		p.last = seq
	}
	if o.run.inWindow(ts) {
		p.got.Add(1)
		o.hist.Record(time.Duration(now - ts))
	}
	if o.snd != nil && k == o.snd.index && o.run.cfg.Rate == 0 {
		o.snd.echoed()
	}
}

// fanSender is an occupant's sending side.
type fanSender struct {
	c      *Client
	index  int // among the room's senders
	run    *fanRun
	prefix []byte // the message up to the sequence number in its id

	mu      sync.Mutex
	seq     int64
	buf     []byte
	stopped atomic.Bool

	sent       atomic.Int64
	sentWindow atomic.Int64
}

func (s *fanSender) send() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped.Load() {
		return
	}
	s.seq++
	ts := time.Now().UnixNano()
	// An id, as clients send one to recognise the echo; services reflect
	// it, so the component under test does not have to make one up.
	s.buf = append(s.buf[:0], s.prefix...)
	s.buf = strconv.AppendInt(s.buf, s.seq, 10)
	s.buf = append(s.buf, "'><body>"...)
	s.buf = appendBody(s.buf, s.index, s.seq, ts, s.run.cfg.BodyBytes)
	s.buf = append(s.buf, "</body></message>"...)
	if err := s.c.Write(s.buf); err != nil {
		s.stopped.Store(true)
		s.run.sendErr.CompareAndSwap(nil, &err)
		return
	}
	s.sent.Add(1)
	if s.run.inWindow(ts) {
		s.sentWindow.Add(1)
	}
}

// echoed sends the next message when one of ours came back.
func (s *fanSender) echoed() { s.send() }

// paced sends at the configured rate until stopped.
func (s *fanSender) paced(ctx context.Context) {
	rate := s.run.cfg.Rate
	tick := max(time.Duration(float64(time.Second)/rate), time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	var n int64
	for !s.stopped.Load() {
		select {
		case now := <-t.C:
			due := int64(now.Sub(start).Seconds()*rate) + 1
			// After a stall, skip what a second of backlog would add
			// rather than burst.
			n = max(n, due-int64(rate)-1)
			for ; n < due && !s.stopped.Load(); n++ {
				s.send()
			}
		case <-ctx.Done():
			return
		}
	}
}

// Fanout runs the fan-out scenario.
func Fanout(ctx context.Context, cfg FanoutConfig) (*FanoutResult, error) {
	cfg.setDefaults()
	if cfg.Occupants <= 0 {
		cfg.Occupants = 10
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 1
	}
	if cfg.Senders > cfg.Occupants {
		return nil, fmt.Errorf("%d senders but only %d occupants per room", cfg.Senders, cfg.Occupants)
	}
	if cfg.Window <= 0 {
		cfg.Window = 4
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.BodyBytes <= 0 {
		cfg.BodyBytes = 60
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 10 * time.Second
	}
	if cfg.Rate < 0 {
		return nil, errors.New("negative rate")
	}
	run := &fanRun{cfg: &cfg}

	// Occupant g is in room g%R and is the (g/R)-th there; the first
	// Senders of each room send.
	total := cfg.Rooms * cfg.Occupants
	occs := make([]*fanOcc, total)
	ms := make([]*member, total)
	var senders []*fanSender
	for g := range total {
		r, local := g%cfg.Rooms, g/cfg.Rooms
		m := newMember(cfg.user(g), cfg.room(r))
		o := &fanOcc{member: m, run: run, peers: make([]fanPeer, cfg.Senders)}
		if local < cfg.Senders {
			o.snd = &fanSender{index: local, run: run,
				prefix: []byte("<message to='" + escAttr(m.room) + "' type='groupchat' id='" + escAttr(m.user) + "-")}
			senders = append(senders, o.snd)
		}
		occs[g], ms[g] = o, m
	}

	cfg.logf("fanout: %d rooms × %d occupants, %d senders each, at %s", cfg.Rooms, cfg.Occupants, cfg.Senders, cfg.Server)
	if err := cfg.login(ctx, "fanout", ms, 0, func(g int) Handler { return occs[g].handle }); err != nil {
		return nil, err
	}
	defer closeAll(ms)
	for _, o := range occs {
		if o.snd != nil {
			o.snd.c = o.c
		}
	}
	if err := joinAll(ctx, &cfg.Common, "fanout", ms); err != nil {
		return nil, err
	}

	start := time.Now()
	ws := start.Add(cfg.Warmup)
	we := ws.Add(cfg.Duration)
	run.ws.Store(ws.UnixNano())
	run.we.Store(we.UnixNano())
	cfg.logf("fanout: sending; warmup %v, measuring %v", cfg.Warmup, cfg.Duration)
	pctx, stopPacing := context.WithCancel(ctx)
	defer stopPacing()
	for _, s := range senders {
		if cfg.Rate > 0 {
			go s.paced(pctx)
			continue
		}
		for range cfg.Window {
			s.send()
		}
	}
	stopAll := func() {
		for _, s := range senders {
			s.stopped.Store(true)
		}
		stopPacing()
	}
	defer stopAll()

	if err := sleepUntil(ctx, ws); err != nil {
		return nil, err
	}
	cpu0, err := sampleCPU(cfg.Procs)
	if err != nil {
		return nil, err
	}
	if err := sleepUntil(ctx, we); err != nil {
		return nil, err
	}
	cpu1, err := sampleCPU(cfg.Procs)
	if err != nil {
		return nil, err
	}
	rss, err := sampleRSS(cfg.Procs)
	if err != nil {
		return nil, err
	}
	stopAll()
	if p := run.sendErr.Load(); p != nil {
		return nil, fmt.Errorf("sending: %w", *p)
	}

	// Wait for the stragglers sent during the window.
	var sentWindow int64
	for _, s := range senders {
		sentWindow += s.sentWindow.Load()
	}
	expected := sentWindow * int64(cfg.Occupants)
	received := func() int64 {
		var n int64
		for _, o := range occs {
			for i := range o.peers {
				n += o.peers[i].got.Load()
			}
		}
		return n
	}
	got, lastProgress, drainEnd := received(), time.Now(), time.Now().Add(cfg.Drain)
	for got < expected && time.Since(lastProgress) < time.Second && time.Now().Before(drainEnd) {
		if err := sleepUntil(ctx, time.Now().Add(20*time.Millisecond)); err != nil {
			return nil, err
		}
		if n := received(); n != got {
			got, lastProgress = n, time.Now()
		}
	}
	if err := firstDead(ms); err != nil {
		return nil, fmt.Errorf("a client was disconnected during the run: %w", err)
	}
	closeAll(ms) // the readers are done with the histograms after this

	res := &FanoutResult{
		Scenario: "fanout", Label: cfg.Label, Rooms: cfg.Rooms, Occupants: cfg.Occupants, Senders: cfg.Senders,
		Sent: sentWindow, RSSKiB: rss, CPUCores: map[string]float64{},
	}
	wall := cpu1.at.Sub(cpu0.at).Seconds()
	res.Seconds = round(wall, 3)
	for k, v := range cpuSeconds(cpu0, cpu1) {
		res.CPUCores[k] = round(v/wall, 3)
	}
	var hist Histogram
	for _, o := range occs {
		res.Delivered += o.delivered.Load()
		res.Reordered += o.reordered.Load()
		hist.Merge(&o.hist)
	}
	res.DeliveriesPerSec = round(float64(res.Delivered)/wall, 1)
	res.Lost = max(expected-received(), 0)
	res.LatencyMS = hist.Latency()
	if n := run.errs.Load(); n > 0 {
		cfg.logf("fanout: %d error stanzas received, the first: %s", n, run.firstErr)
	}
	if res.Lost > 0 {
		cfg.logf("fanout: %d of %d deliveries of messages sent in the window never arrived", res.Lost, expected)
	}
	return res, nil
}
