package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Namespaces of the archive query (XEP-0313) and its paging (XEP-0059).
const (
	nsMAM = "urn:xmpp:mam:2"
	nsRSM = "http://jabber.org/protocol/rsm"
)

// MAMConfig configures the MAM query storm: one room, filled with
// Messages messages, whose occupants all page back through its archive at
// once, as clients catching up after a reconnection do.
type MAMConfig struct {
	Common
	Occupants int // in the room, each querying; default 100
	Messages  int // posted before the storm; default 100
	Pages     int // queries per occupant, each the page before the last; default 5
	PageSize  int // RSM max of each query; default 20
}

// MAMResult is the JSON line of the mam scenario.
type MAMResult struct {
	Scenario      string             `json:"scenario"`
	Label         string             `json:"label"`
	Occupants     int                `json:"occupants"`
	Messages      int                `json:"messages"`
	Pages         int                `json:"pages"`
	PageSize      int                `json:"page_size"`
	Queries       int                `json:"queries"`
	Seconds       float64            `json:"seconds"`
	QueriesPerSec float64            `json:"queries_per_sec"`
	Results       int64              `json:"results"` // archived messages received, over all queries
	LatencyMS     Latency            `json:"latency_ms"`
	CPUSeconds    map[string]float64 `json:"cpu_seconds"`
}

// mamOcc is one querying occupant: the reader goroutine hands it each
// archived message and the IQ that ends a query.
type mamOcc struct {
	*member
	queryID string
	res     chan mamPage
	count   int // results of the current query (reader goroutine)
}

// mamPage is the end of one query: its results, the first id of the page
// (what the next query pages before) and whether it was the last page.
type mamPage struct {
	results  int
	first    string
	complete bool
	err      error
}

func (o *mamOcc) handle(st []byte) {
	switch string(Name(st)) {
	case "message":
		if r, ok := Child(st, "result"); ok {
			if qid, _ := Attr(r, "queryid"); string(qid) == o.queryID {
				o.count++
			}
			return
		}
	case "iq":
		id, _ := Attr(st, "id")
		if !bytes.HasPrefix(id, []byte("mam-")) {
			break
		}
		p := mamPage{results: o.count}
		o.count = 0
		if typ, _ := Attr(st, "type"); string(typ) != "result" {
			p.err = fmt.Errorf("query refused: %s", clip(st))
		} else if fin, ok := Child(st, "fin"); ok {
			c, _ := Attr(fin, "complete")
			p.complete = string(c) == "true"
			if set, ok := Child(fin, "set"); ok {
				if f, ok := Child(set, "first"); ok {
					p.first = string(Text(f))
				}
			}
		}
		o.res <- p
		return
	}
	o.member.handle(st)
}

// query asks for the page before the id before (the last page when
// empty) and waits for its end.
func (o *mamOcc) query(ctx context.Context, n, size int, before string) (mamPage, error) {
	id := "mam-" + strconv.Itoa(n)
	q := "<iq type='set' id='" + id + "' to='" + escAttr(o.room) + "'><query xmlns='" + nsMAM + "' queryid='" +
		escAttr(o.queryID) + "'><set xmlns='" + nsRSM + "'><max>" + strconv.Itoa(size) + "</max>"
	if before == "" {
		q += "<before/>"
	} else {
		q += "<before>" + escAttr(before) + "</before>"
	}
	q += "</set></query></iq>"
	if err := o.c.Write([]byte(q)); err != nil {
		return mamPage{}, err
	}
	var p mamPage
	if err := wait(ctx, o.member, o.res, &p); err != nil {
		return p, fmt.Errorf("%s: archive query %d: %w", o.user, n, err)
	}
	if p.err != nil {
		return p, fmt.Errorf("%s: %w", o.user, p.err)
	}
	return p, nil
}

// MAM runs the query storm. The first occupant creates the room (made
// persistent with Common.Persistent: services archive only such rooms)
// and posts the messages; then every occupant sends Pages queries one
// after the other, each for the PageSize messages before the previous
// page (XEP-0313 §6.2 with XEP-0059 §2.5 <before/>), all occupants at
// once. A query's latency runs from sending it to the IQ that ends it,
// after its results.
func MAM(ctx context.Context, cfg MAMConfig) (*MAMResult, error) {
	cfg.setDefaults()
	if cfg.Occupants <= 0 {
		cfg.Occupants = 100
	}
	if cfg.Messages <= 0 {
		cfg.Messages = 100
	}
	if cfg.Pages <= 0 {
		cfg.Pages = 5
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 20
	}
	occs := make([]*mamOcc, cfg.Occupants)
	ms := make([]*member, cfg.Occupants)
	for i := range occs {
		m := newMember(cfg.user(i), cfg.room(0))
		occs[i] = &mamOcc{member: m, queryID: "q" + strconv.Itoa(i), res: make(chan mamPage, 1)}
		ms[i] = m
	}
	cfg.logf("mam: %d occupants each query %d pages of %d of %d archived messages, at %s",
		cfg.Occupants, cfg.Pages, cfg.PageSize, cfg.Messages, cfg.Server)
	// Each page brings PageSize messages at once.
	if err := cfg.login(ctx, "mam", ms, 16<<10, func(i int) Handler { return occs[i].handle }); err != nil {
		return nil, err
	}
	defer closeAll(ms)
	if err := joinAll(ctx, &cfg.Common, "mam", ms); err != nil {
		return nil, err
	}
	if err := ms[0].post(ctx, cfg.Messages); err != nil {
		return nil, err
	}
	// Services may write the archive shortly after the broadcast: the
	// first occupant's last page must hold the last message before the
	// storm starts.
	if err := waitArchived(ctx, occs[0], cfg.PageSize); err != nil {
		return nil, err
	}

	var (
		mu      sync.Mutex
		hist    Histogram
		results int64
	)
	cpu0, err := sampleCPU(cfg.Procs)
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, &cfg.Common, "mam: storm, occupants done", cfg.Occupants, cfg.Occupants, func(ctx context.Context, i int) error {
		o := occs[i]
		before := ""
		for n := range cfg.Pages {
			start := time.Now()
			p, err := o.query(ctx, n, cfg.PageSize, before)
			if err != nil {
				return err
			}
			d := time.Since(start)
			mu.Lock()
			hist.Record(d)
			results += int64(p.results)
			mu.Unlock()
			if p.first == "" || p.complete {
				break // the start of the archive
			}
			before = p.first
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cpu1, err := sampleCPU(cfg.Procs)
	if err != nil {
		return nil, err
	}
	if err := firstDead(ms); err != nil {
		return nil, fmt.Errorf("a client was disconnected during the run: %w", err)
	}
	wall := cpu1.at.Sub(cpu0.at).Seconds()
	lat := hist.Latency()
	queries := int(hist.Count())
	res := &MAMResult{
		Scenario: "mam", Label: cfg.Label, Occupants: cfg.Occupants, Messages: cfg.Messages,
		Pages: cfg.Pages, PageSize: cfg.PageSize, Queries: queries, Seconds: round(wall, 3),
		QueriesPerSec: round(float64(queries)/wall, 1), Results: results, LatencyMS: lat,
		CPUSeconds: map[string]float64{},
	}
	for k, v := range cpuSeconds(cpu0, cpu1) {
		res.CPUSeconds[k] = round(v, 3)
	}
	return res, nil
}

// waitArchived queries the last page until it holds size messages (or
// times out): a service without an archive for the room fails here,
// before the storm, with its answer.
func waitArchived(ctx context.Context, o *mamOcc, size int) error {
	deadline := time.Now().Add(JoinTimeout)
	for n := 0; ; n++ {
		p, err := o.query(ctx, 1000+n, size, "")
		if err != nil {
			return fmt.Errorf("the archive of %s: %w", o.room, err)
		}
		if p.results >= size {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the archive of %s holds %d messages, not the %d just posted: is it archived?", o.room, p.results, size)
		}
		if err := sleepUntil(ctx, time.Now().Add(100*time.Millisecond)); err != nil {
			return err
		}
	}
}
