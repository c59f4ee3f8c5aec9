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
	seq    atomic.Uint64
	reload atomic.Int64 // Unix nanoseconds of the next reload; 0 while the link is down
}

// WithBlocklist makes the router follow b's lists; the registry must have
// been given b as its Options.Blocklist. It returns rt.
func (rt *Router) WithBlocklist(b *Blocklist) *Router {
	if b != nil && len(b.sources) > 0 {
		rt.rtbl = &rtbl{list: b}
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

// rtblRequests subscribes to each list and asks for its items (XEP-0060
// §6.1, §6.5), and sets the next reload.
func (rt *Router) rtblRequests(now time.Time) []room.Out {
	r := rt.rtbl
	r.reload.Store(now.Add(rtblReloadInterval).UnixNano())
	var outs []room.Out
	for _, s := range r.list.sources {
		sub := stanza.New(stanza.NSClient, "iq", "type", "set", "from", rt.domain, "to", s.Service,
			"id", rtblIDPrefix+strconv.FormatUint(r.seq.Add(1), 10)).
			Add(stanza.New(nsPubsub, "pubsub").Add(stanza.New(nsPubsub, "subscribe", "node", s.Node, "jid", rt.domain)))
		items := stanza.New(stanza.NSClient, "iq", "type", "get", "from", rt.domain, "to", s.Service,
			"id", rtblIDPrefix+strconv.FormatUint(r.seq.Add(1), 10)).
			Add(stanza.New(nsPubsub, "pubsub").Add(stanza.New(nsPubsub, "items", "node", s.Node)))
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

// rtblStanza takes a stanza to the service from a list service: an items
// result (the whole list) or a notification (added and retracted items).
// It reports false when st is none of these, for the router to go on.
func (rt *Router) rtblStanza(st *stanza.Element) (outs []room.Out, ok bool) {
	if rt.rtbl == nil {
		return nil, false
	}
	from, err := jid.Parse(st.Attr("from"))
	if err != nil {
		return nil, false
	}
	service := from.Bare().String()
	var items *stanza.Element
	replace := false
	switch {
	case st.Local == "iq" && st.Attr("type") == "result":
		if p := st.Child(nsPubsub, "pubsub"); p != nil {
			items, replace = p.Child(nsPubsub, "items"), true
		}
	case st.Local == "iq" && st.Attr("type") == "error" && strings.HasPrefix(st.Attr("id"), rtblIDPrefix):
		return nil, true // the list stays as it was; the next reload tries again
	case st.Local == "message":
		if ev := st.Child(nsPubsubEvent, "event"); ev != nil {
			if p := ev.Child(nsPubsubEvent, "purge"); p != nil {
				if src, found := rt.rtbl.list.source(service, p.Attr("node")); found {
					rt.rtbl.list.update(src, true, nil, nil)
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
	src, found := rt.rtbl.list.source(service, items.Attr("node"))
	if !found {
		return nil, st.Local == "message"
	}
	var added bool
	if replace {
		added = rt.rtbl.list.update(src, true, itemIDs(items, nsPubsub, "item"), nil)
	} else {
		added = rt.rtbl.list.update(src, false, itemIDs(items, nsPubsubEvent, "item"), itemIDs(items, nsPubsubEvent, "retract"))
	}
	if added {
		outs = rt.rooms.Blocklisted()
	}
	return outs, true
}
