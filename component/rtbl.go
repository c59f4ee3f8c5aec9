package component

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"mellium.im/xmpp/jid"

	"chorus/room"
	"chorus/stanza"
)

// Real-time block lists (RTBL): shared lists of abusive accounts, published
// as XEP-0060 pubsub nodes whose item ids are the lowercase hex SHA-256 of
// bare JIDs (xmppbl.org's muc_bans_sha256, for one). The service
// subscribes from its own domain through the server, loads the items after
// every link-up, follows the notifications, and reloads every
// rtblReloadInterval in case a list service restarted and lost the
// subscription. The rooms consult the set (room.Blocklist) on each join;
// when it grows, the occupants it now names are removed.

// Namespaces of XEP-0060.
const (
	nsPubsub      = "http://jabber.org/protocol/pubsub"
	nsPubsubEvent = "http://jabber.org/protocol/pubsub#event"
)

// rtblReloadInterval is how often the lists are loaded again and the
// subscriptions renewed, whatever the notifications say.
const rtblReloadInterval = 5 * time.Minute

// rtblRetryInterval is how soon the lists are asked for again after a list
// service answered with an error (the node is missing, the service is
// unreachable); it doubles with each failed attempt up to
// rtblReloadInterval.
const rtblRetryInterval = 30 * time.Second

// maxRTBLEntries bounds the entries one list may hold, so that a list
// service gone wrong cannot exhaust memory.
const maxRTBLEntries = 1 << 20

// rtblIDPrefix starts the ids of the service's requests to list services.
const rtblIDPrefix = "rtbl-"

// RTBLSource is one block list: a node on a pubsub service.
type RTBLSource struct {
	Service, Node string
}

func (s RTBLSource) String() string { return s.Service + "/" + s.Node }

// ParseRTBLSource reads "pubsub-service-jid/node".
func ParseRTBLSource(s string) (RTBLSource, error) {
	svc, node, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok || node == "" {
		return RTBLSource{}, fmt.Errorf("%q is not pubsub-service/node", s)
	}
	j, err := jid.Parse(svc)
	if err != nil || j.Resourcepart() != "" {
		return RTBLSource{}, fmt.Errorf("%q: %q is not a bare JID", s, svc)
	}
	return RTBLSource{Service: j.String(), Node: node}, nil
}

// Blocklist is the union of the block lists, safe for concurrent use: the
// rooms read it (room.Blocklist) while the link updates it.
type Blocklist struct {
	sources []RTBLSource
	mu      sync.RWMutex
	sets    map[RTBLSource]map[string]struct{}
	updated atomic.Int64 // Unix nanoseconds of the last change; 0 before any
}

// NewBlocklist returns an empty block list following sources.
func NewBlocklist(sources []RTBLSource) *Blocklist {
	b := &Blocklist{sources: sources, sets: map[RTBLSource]map[string]struct{}{}}
	for _, s := range sources {
		b.sets[s] = map[string]struct{}{}
	}
	return b
}

// Listed implements room.Blocklist.
func (b *Blocklist) Listed(bare string) bool {
	sum := sha256.Sum256([]byte(bare))
	h := hex.EncodeToString(sum[:])
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, set := range b.sets {
		if _, ok := set[h]; ok {
			return true
		}
	}
	return false
}

// Len is the number of entries of all lists together.
func (b *Blocklist) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := 0
	for _, set := range b.sets {
		n += len(set)
	}
	return n
}

// Updated is when the lists last changed; zero before they were loaded.
func (b *Blocklist) Updated() time.Time {
	if t := b.updated.Load(); t != 0 {
		return time.Unix(0, t)
	}
	return time.Time{}
}

// update changes src's list: with replace it becomes ids, otherwise ids
// are added and retracted taken away. It reports whether an entry was
// added, which may remove occupants.
func (b *Blocklist) update(src RTBLSource, replace bool, ids, retracted []string) (added bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	set, ok := b.sets[src]
	if !ok {
		return false
	}
	if replace {
		set = make(map[string]struct{}, len(ids))
		b.sets[src] = set
		added = len(ids) > 0
	}
	for _, id := range ids {
		if _, ok := set[id]; !ok && len(set) < maxRTBLEntries {
			set[id] = struct{}{}
			added = true
		}
	}
	for _, id := range retracted {
		delete(set, id)
	}
	b.updated.Store(time.Now().UnixNano())
	return added
}

// source returns the configured list that from and node name.
func (b *Blocklist) source(from, node string) (RTBLSource, bool) {
	for _, s := range b.sources {
		if s.Service == from && s.Node == node {
			return s, true
		}
	}
	return RTBLSource{}, false
}

// itemIDs reads the ids of the children named local of items that look
// like SHA-256 hashes; anything else is no JID's hash and is skipped.
func itemIDs(items *stanza.Element, ns, local string) []string {
	var ids []string
	for _, it := range items.ChildrenNamed(ns, local) {
		id := strings.ToLower(strings.TrimSpace(it.Attr("id")))
		if len(id) != 2*sha256.Size {
			continue
		}
		if _, err := hex.DecodeString(id); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// LinkUpper is a Handler with stanzas to send each time the link comes up
// (subscriptions through the server, which lapse with the link).
type LinkUpper interface {
	LinkUp() []room.Out
}

// rtbl is the Router's part in following the block lists.
type rtbl struct {
	list   *Blocklist
	log    zerolog.Logger
	retry  time.Duration // the first retry after a failed round: rtblRetryInterval
	seq    atomic.Uint64
	reload atomic.Int64 // Unix nanoseconds of the next reload; 0 while the link is down

	mu      sync.Mutex
	attempt uint64                 // counts the rounds of requests
	pending map[string]rtblRequest // this round's requests by id
	warned  map[RTBLSource]uint64  // the last round logged as failed, per list
	failed  uint64                 // the last round in which a request failed
	fails   int                    // consecutive failed rounds, for the backoff
}

// rtblRequest is a request to a list service awaiting its answer.
type rtblRequest struct {
	src       RTBLSource
	subscribe bool
	attempt   uint64
	ids       []string // the earlier pages' entries, for a paged load
	seen      int      // items on the earlier pages
}

// WithBlocklist makes the router follow b's lists, logging failures to
// log; the registry must have been given b as its Options.Blocklist. It
// returns rt.
func (rt *Router) WithBlocklist(b *Blocklist, log zerolog.Logger) *Router {
	if b != nil && len(b.sources) > 0 {
		rt.rtbl = &rtbl{list: b, log: log, retry: rtblRetryInterval,
			pending: map[string]rtblRequest{}, warned: map[RTBLSource]uint64{}}
	}
	return rt
}

// LinkUp implements LinkUpper: subscribe to every list and load it.
func (rt *Router) LinkUp() []room.Out {
	if rt.rtbl == nil {
		return nil
	}
	return rt.rtblRequests(time.Now())
}

func (r *rtbl) nextID() string { return rtblIDPrefix + strconv.FormatUint(r.seq.Add(1), 10) }

// rtblRequests subscribes to each list and asks for its items (XEP-0060
// §6.1, §6.5), and sets the next reload.
func (rt *Router) rtblRequests(now time.Time) []room.Out {
	r := rt.rtbl
	r.reload.Store(now.Add(rtblReloadInterval).UnixNano())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failed != r.attempt {
		r.fails = 0 // the last round went through
	}
	r.attempt++
	// Answers to earlier rounds that never came are not waited for.
	clear(r.pending)
	var outs []room.Out
	for _, s := range r.list.sources {
		subID, itemsID := r.nextID(), r.nextID()
		sub := stanza.New(stanza.NSClient, "iq", "type", "set", "from", rt.domain, "to", s.Service, "id", subID).
			Add(stanza.New(nsPubsub, "pubsub").Add(stanza.New(nsPubsub, "subscribe", "node", s.Node, "jid", rt.domain)))
		items := stanza.New(stanza.NSClient, "iq", "type", "get", "from", rt.domain, "to", s.Service, "id", itemsID).
			Add(stanza.New(nsPubsub, "pubsub").Add(stanza.New(nsPubsub, "items", "node", s.Node)))
		r.pending[subID] = rtblRequest{src: s, subscribe: true, attempt: r.attempt}
		r.pending[itemsID] = rtblRequest{src: s, attempt: r.attempt}
		outs = append(outs, room.To1(s.Service, sub), room.To1(s.Service, items))
	}
	return outs
}

// rtblDue reports whether the periodic reload is due at now.
func (rt *Router) rtblDue(now time.Time) bool {
	if rt.rtbl == nil {
		return false
	}
	next := rt.rtbl.reload.Load()
	return next != 0 && now.UnixNano() >= next && rt.rtbl.reload.CompareAndSwap(next, now.Add(rtblReloadInterval).UnixNano())
}

// refused logs a request that a list service answered with an error, once
// per round and list, and brings the next round forward with a backoff.
// r.mu is held.
func (r *rtbl) refused(req rtblRequest, e stanza.Error, now time.Time) {
	if r.failed != req.attempt && req.attempt == r.attempt {
		r.failed = req.attempt
		r.fails++
	}
	delay := rtblReloadInterval
	if r.fails > 0 && r.fails < 16 {
		delay = min(r.retry<<(r.fails-1), rtblReloadInterval)
	}
	at := now.Add(delay).UnixNano()
	for {
		next := r.reload.Load()
		if next == 0 || next <= at || r.reload.CompareAndSwap(next, at) {
			break
		}
	}
	if r.warned[req.src] == req.attempt {
		return
	}
	r.warned[req.src] = req.attempt
	what := "load"
	if req.subscribe {
		what = "subscribe"
	}
	cond := string(e.Condition)
	if cond == "" {
		cond = "undefined-condition"
	}
	ev := r.log.Warn().Str("list", req.src.String()).Str("request", what).Str("error", cond)
	if e.Text != "" {
		ev = ev.Str("text", e.Text)
	}
	ev.Str("retry_in", time.Duration(at-now.UnixNano()).Round(time.Second).String()).Msg("block list request failed")
}

// rtblPage reads a page of a list's items that may be followed by others
// (XEP-0059 in XEP-0060 §6.5.4): it returns the request for the next page
// when the result set says there is more, or the whole list otherwise.
// r.mu is held.
func (rt *Router) rtblPage(req rtblRequest, p, items *stanza.Element) (next *room.Out, ids []string) {
	ids = append(req.ids, itemIDs(items, nsPubsub, "item")...)
	n := len(items.ChildrenNamed(nsPubsub, "item"))
	set := p.Child(stanza.NSRSM, "set")
	if set == nil || n == 0 {
		return nil, ids
	}
	last := strings.TrimSpace(set.ChildText(stanza.NSRSM, "last"))
	count, err := strconv.Atoi(strings.TrimSpace(set.ChildText(stanza.NSRSM, "count")))
	seen := req.seen + n
	if last == "" || (err == nil && count <= seen) || len(ids) >= maxRTBLEntries {
		return nil, ids
	}
	r := rt.rtbl
	id := r.nextID()
	r.pending[id] = rtblRequest{src: req.src, attempt: req.attempt, ids: ids, seen: seen}
	iq := stanza.New(stanza.NSClient, "iq", "type", "get", "from", rt.domain, "to", req.src.Service, "id", id).
		Add(stanza.New(nsPubsub, "pubsub").Add(stanza.New(nsPubsub, "items", "node", req.src.Node),
			stanza.New(stanza.NSRSM, "set").Add(stanza.New(stanza.NSRSM, "after").AddText(last))))
	o := room.To1(req.src.Service, iq)
	return &o, nil
}

// rtblStanza takes a stanza to the service from a list service: an items
// result (the whole list, or a page of it), an error answering one of the
// service's requests, or a notification (added and retracted items). It
// reports false when st is none of these, for the router to go on.
func (rt *Router) rtblStanza(st *stanza.Element) (outs []room.Out, ok bool) {
	if rt.rtbl == nil {
		return nil, false
	}
	from, err := jid.Parse(st.Attr("from"))
	if err != nil {
		return nil, false
	}
	service := from.Bare().String()
	r := rt.rtbl
	id := st.Attr("id")
	var items *stanza.Element
	var ids []string
	replace := false
	switch {
	case st.Local == "iq" && st.Attr("type") == "result":
		r.mu.Lock()
		req, mine := r.pending[id]
		if mine && req.src.Service == service {
			delete(r.pending, id)
		} else {
			mine = false
		}
		r.mu.Unlock()
		p := st.Child(nsPubsub, "pubsub")
		if p != nil {
			items = p.Child(nsPubsub, "items")
		}
		if items == nil {
			return nil, mine // a subscription confirmed
		}
		replace = true
		if mine {
			if items.Attr("node") != req.src.Node {
				return nil, true
			}
			r.mu.Lock()
			next, all := rt.rtblPage(req, p, items)
			r.mu.Unlock()
			if next != nil {
				return []room.Out{*next}, true
			}
			ids = all
		} else {
			ids = itemIDs(items, nsPubsub, "item")
		}
	case st.Local == "iq" && st.Attr("type") == "error" && strings.HasPrefix(id, rtblIDPrefix):
		// The list stays as it was; the next round comes sooner.
		r.mu.Lock()
		if req, mine := r.pending[id]; mine && req.src.Service == service {
			delete(r.pending, id)
			r.refused(req, stanza.ErrorOf(st), time.Now())
		}
		r.mu.Unlock()
		return nil, true
	case st.Local == "message":
		if ev := st.Child(nsPubsubEvent, "event"); ev != nil {
			if p := ev.Child(nsPubsubEvent, "purge"); p != nil {
				if src, found := r.list.source(service, p.Attr("node")); found {
					r.list.update(src, true, nil, nil)
				}
				return nil, true
			}
			items = ev.Child(nsPubsubEvent, "items")
			if items == nil {
				return nil, true // another event (configuration, ...): nothing to do
			}
		}
	}
	if items == nil {
		return nil, false
	}
	src, found := r.list.source(service, items.Attr("node"))
	if !found {
		return nil, st.Local == "message"
	}
	var added bool
	if replace {
		added = r.list.update(src, true, ids, nil)
	} else {
		added = r.list.update(src, false, itemIDs(items, nsPubsubEvent, "item"), itemIDs(items, nsPubsubEvent, "retract"))
	}
	if added {
		outs = rt.rooms.Blocklisted()
	}
	return outs, true
}
