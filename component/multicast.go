package component

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chorus/room"
	"chorus/stanza"
)

// Server-side fan-out with XEP-0033 (Extended Stanza Addressing). With
// Config.Multicast, each link discovers a multicast service of the server
// (§2.2: disco#items of the server's domain, then disco#info of the domain
// and of each item, for the feature nsAddress) and then sends each message
// or presence for several recipients once, to the service, with one bcc
// address per recipient (or all of them in one list, to a service that
// takes one: nsBccList); the server makes the copies.
//
// While the service is in use, a message or presence for one recipient
// who had copies through it goes through it too, with one bcc address: the
// service is a hop of its own (ejabberd's mod_multicast is a process
// apart), so a stanza sent directly could overtake a broadcast sent before
// it to the same occupant, and XEP-0045 rooms keep their order per
// recipient. A recipient with no copy through the service for a while (see
// mcReached) has nothing there to overtake: a joiner, whose occupant list,
// own presence, history and subject are all for them alone, gets those
// directly, which spares the server the addresses and the extra hop.
// Whatever that record says, three kinds always go directly: IQs (§3:
// addresses MUST NOT be in an IQ), errors (answers to one sender;
// Prosody's module drops them, and a service that refuses one cannot say
// so, RFC 6120 §8.3.1: no error about an error, so it would be lost
// without a fallback) and stanzas to the service itself. A service
// that advertises nsInOrder (Chorus's module for Prosody) delivers each
// stanza before the server reads the next one from the link, so there a
// stanza for one recipient goes directly, which spares the server the
// addresses. In one answer, what goes with an IQ to the same recipient
// goes directly as the IQ does (splitByIQ).
//
// A service that refuses a stanza answers with an error to its 'from' (a
// room or occupant address of ours). The link takes such errors before the
// rooms see them, sends the stanza again once per recipient, and stops
// using the service for the rest of the link: a refusal (forbidden by the
// access policy, most likely) will not go away by itself, and trying each
// stanza twice would double the traffic multicast is to save. The next link
// discovers anew. A probe before use would prove only that one stanza got
// through, and the error path is needed anyway for a service whose policy
// changes while the link is up.

// nsAddress is XEP-0033's namespace, its disco feature and its limits'
// FORM_TYPE (§2.3).
const nsAddress = "http://jabber.org/protocol/address"

// nsInOrder is the disco feature of a multicast service that delivers each
// stanza, in the order received, before the server reads the next stanza
// from the sender: Chorus's own module for Prosody, which runs in Prosody's
// one thread. Through such a service, copies and stanzas sent directly
// keep their order without both taking the same path.
const nsInOrder = "urn:chorus:multicast#in-order"

// nsBccList is the disco feature, and the namespace of the element, of a
// multicast service that also takes a stanza's recipients as one
// <bcc xmlns='urn:chorus:multicast:bcc'/> whose text is their JIDs
// separated by tabs (Chorus's module for Prosody). A JID cannot hold a tab
// (RFC 7622 §3.3.1 and §3.4.1 disallow control characters, as RFC 6122's
// Nodeprep and Resourceprep prohibit them), so the list is unambiguous.
// The recipients are the same as with bcc addresses, and the copies carry
// neither form; what changes is the parsing: with Prosody's parser an
// <address/> element costs about 7 µs per recipient, a JID in the list
// under 1, against some 60 µs for all the rest of a delivery.
const nsBccList = "urn:chorus:multicast:bcc"

// bccListSep separates the JIDs of a bcc list.
const bccListSep = "\t"

// nsData is XEP-0004's namespace, for the limits form (XEP-0128).
const nsData = "jabber:x:data"

// mcIDPrefix starts the ids of the link's discovery requests.
const mcIDPrefix = "chorus-mc-"

// defaultMulticastBatch is how many addresses one stanza carries when the
// service advertises no limit. XEP-0033 §8 asks for a configurable limit
// "more than 20 and less than 100"; ejabberd's mod_multicast allows 20 by
// default to senders outside its virtual hosts, as a component's domain
// is, and advertises only limits set by hand. 20 is accepted everywhere.
const defaultMulticastBatch = 20

// maxMulticastBatch caps an advertised limit (or "infinite"): larger
// stanzas save little and grow towards the server's stanza size limit.
const maxMulticastBatch = 100

// mcReachedWindow is how long a recipient of a copy through the service
// counts as reached through it: stanzas for them alone then take the same
// path. A service delivers in milliseconds; after one to two windows
// without a copy, nothing for that recipient is still in it, and the
// record is dropped, so it stays as small as the recent recipients.
const mcReachedWindow = 60 * time.Second

// maxDiscoItems bounds the items of the server's domain that are asked
// for their features.
const maxDiscoItems = 32

// Sent multicast stanzas are remembered for mcRecentTTL (and at most
// mcRecentMax of them), so that a refusal can be resent per recipient.
const (
	mcRecentTTL = 60 * time.Second
	mcRecentMax = 4096
)

// mcService is a discovered multicast service and its limits (0: none
// advertised).
type mcService struct {
	jid                   string
	msgLimit, presLimit   int
	advertisedLimitsFound bool
	inOrder               bool // advertises nsInOrder
	bccList               bool // advertises nsBccList
}

// batchFor is how many addresses one stanza of kind local may carry.
func (s *mcService) batchFor(local string) int {
	n := s.msgLimit
	if local == "presence" {
		n = s.presLimit
	}
	switch {
	case n <= 0:
		return defaultMulticastBatch
	case n > maxMulticastBatch:
		return maxMulticastBatch
	}
	return n
}

// mcSent is one multicast stanza sent, for its refusal.
type mcSent struct {
	local, from, id string
	first           string // the first bcc address, told apart from the other batches
	to              []string
	st              *stanza.Element
	at              time.Time
}

// multicast is one link's use of a multicast service.
type multicast struct {
	l      *link
	server string // the server's domain: ours without its first label
	token  string // random, in the ids of this link's requests
	seq    atomic.Uint64

	svc atomic.Pointer[mcService] // nil until one is found
	off atomic.Bool               // refused on this link: one stanza per recipient

	// Recipients of copies through the service in the current window and
	// the one before (mcReachedWindow); the writer alone uses them.
	reached, reachedPrev map[string]struct{}
	reachedSince         time.Time

	mu     sync.Mutex
	asked  map[string]string // request id -> address asked
	recent []mcSent          // oldest first, from head on
	head   int
}

func newMulticast(l *link) *multicast {
	server := l.domain
	if _, rest, ok := strings.Cut(l.domain, "."); ok {
		server = rest
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &multicast{l: l, server: server, token: hex.EncodeToString(b[:]), asked: map[string]string{}}
}

// start returns the first discovery requests: disco#items and disco#info
// of the server's domain (XEP-0033 §2.2).
func (m *multicast) start() []room.Out {
	return []room.Out{m.request(stanza.NSDiscoItems, m.server), m.request(stanza.NSDiscoInfo, m.server)}
}

func (m *multicast) request(ns, to string) room.Out {
	id := mcIDPrefix + m.token + "-" + strconv.FormatUint(m.seq.Add(1), 10)
	m.mu.Lock()
	m.asked[id] = to
	m.mu.Unlock()
	return room.To1(to, stanza.New(stanza.NSClient, "iq", "type", "get", "id", id, "from", m.l.domain, "to", to).
		Add(stanza.New(ns, "query")))
}

// active is the service to send through, or nil.
func (m *multicast) active() *mcService {
	if m == nil || m.off.Load() {
		return nil
	}
	return m.svc.Load()
}

// intercept takes the stanzas that belong to multicast: answers to its
// requests and the service's refusals. It reports whether st was one; the
// rooms never see those. It runs on the reader under hmu.
func (m *multicast) intercept(st *stanza.Element) bool {
	if m == nil {
		return false
	}
	typ := st.Attr("type")
	if st.Local == "iq" && (typ == "result" || typ == "error") && strings.HasPrefix(st.Attr("id"), mcIDPrefix) {
		m.answer(st)
		return true
	}
	if typ == "error" && (st.Local == "message" || st.Local == "presence") {
		if svc := m.svc.Load(); svc != nil && st.Attr("from") == svc.jid {
			// Not every error from the service's address need be a
			// refusal of ours (when the service is the server's own
			// domain): one that matches no stanza sent and carries no
			// addresses goes on to the rooms.
			return m.refused(svc, st) || st.Child(nsAddress, "addresses") != nil || st.Child(nsBccList, "bcc") != nil
		}
	}
	return false
}

// answer handles a disco result (or error) to one of the link's requests.
func (m *multicast) answer(st *stanza.Element) {
	id := st.Attr("id")
	m.mu.Lock()
	asked, ok := m.asked[id]
	if ok && asked == st.Attr("from") {
		delete(m.asked, id)
	}
	m.mu.Unlock()
	// An answer from anyone but the address asked is no answer.
	if !ok || asked != st.Attr("from") || st.Attr("type") != "result" || m.svc.Load() != nil {
		return
	}
	if q := st.Child(stanza.NSDiscoItems, "query"); q != nil {
		var outs []room.Out
		for _, it := range q.ChildrenNamed(stanza.NSDiscoItems, "item") {
			j := it.Attr("jid")
			// Only services (bare domains) qualify, and not ourselves.
			if j == "" || j == m.l.domain || j == m.server || strings.ContainsAny(j, "@/") || it.Attr("node") != "" {
				continue
			}
			outs = append(outs, m.request(stanza.NSDiscoInfo, j))
			if len(outs) == maxDiscoItems {
				break
			}
		}
		if len(outs) > 0 {
			m.l.enqueue(outs, time.Time{})
		}
		return
	}
	q := st.Child(stanza.NSDiscoInfo, "query")
	if q == nil {
		return
	}
	found, inOrder, bccList := false, false, false
	for _, f := range q.ChildrenNamed(stanza.NSDiscoInfo, "feature") {
		switch f.Attr("var") {
		case nsAddress:
			found = true
		case nsInOrder:
			inOrder = true
		case nsBccList:
			bccList = true
		}
	}
	if !found {
		return
	}
	svc := &mcService{jid: asked, inOrder: inOrder, bccList: bccList}
	readLimits(q, svc)
	if !m.svc.CompareAndSwap(nil, svc) {
		return
	}
	m.l.r.cfg.Metrics.multicastInUse(true)
	m.l.r.log.Info().Str("service", svc.jid).Int("message_batch", svc.batchFor("message")).
		Int("presence_batch", svc.batchFor("presence")).Bool("limits_advertised", svc.advertisedLimitsFound).
		Bool("bcc_list", svc.bccList).
		Msg("multicast: sending stanzas for several recipients once, through the server's XEP-0033 service")
}

// readLimits reads the limits a service advertises (XEP-0033 §2.3, as
// XEP-0128 extended disco information): a form of FORM_TYPE nsAddress with
// the fields "message" and "presence".
func readLimits(q *stanza.Element, svc *mcService) {
	for _, x := range q.ChildrenNamed(nsData, "x") {
		formType := ""
		for _, f := range x.ChildrenNamed(nsData, "field") {
			if f.Attr("var") == "FORM_TYPE" {
				formType = strings.TrimSpace(f.ChildText(nsData, "value"))
			}
		}
		if formType != nsAddress {
			continue
		}
		for _, f := range x.ChildrenNamed(nsData, "field") {
			v := strings.TrimSpace(f.ChildText(nsData, "value"))
			n, err := strconv.Atoi(v)
			if v == "infinite" {
				n, err = maxMulticastBatch, nil
			}
			if err != nil || n <= 0 {
				continue
			}
			switch f.Attr("var") {
			case "message":
				svc.msgLimit, svc.advertisedLimitsFound = n, true
			case "presence":
				svc.presLimit, svc.advertisedLimitsFound = n, true
			}
		}
	}
}

// refused handles the service's error for a multicast stanza: the stanza
// goes again, once per recipient, and the link stops using the service.
// It reports false when st answers no stanza sent (recently).
func (m *multicast) refused(svc *mcService, st *stanza.Element) bool {
	sent, ok := m.take(st.Local, st.Attr("to"), st.Attr("id"), firstRecipient(st))
	if !ok {
		return false
	}
	if !m.off.Swap(true) {
		m.l.r.cfg.Metrics.multicastInUse(false)
		e := stanza.ErrorOf(st)
		m.l.r.log.Warn().Str("service", svc.jid).Str("condition", string(e.Condition)).Str("text", clip(e.Text)).
			Msg("multicast: the service refused a stanza; sending one stanza per recipient until the next connection (check the server allows the component to use its multicast service)")
	}
	m.l.r.cfg.Metrics.multicastFallback()
	m.l.enqueue([]room.Out{{To: sent.to, Stanza: sent.st}}, time.Time{})
	return true
}

// firstRecipient is the first recipient listed in a refusal that carries
// the recipients back, in either form, or "".
func firstRecipient(st *stanza.Element) string {
	if a := st.Child(nsAddress, "addresses"); a != nil {
		if ad := a.Child(nsAddress, "address"); ad != nil {
			return ad.Attr("jid")
		}
		return ""
	}
	if l := st.Child(nsBccList, "bcc"); l != nil {
		first, _, _ := strings.Cut(l.Text(), bccListSep)
		return first
	}
	return ""
}

// remember keeps a multicast stanza sent, for its refusal. It runs on the
// writer, once per batch: the oldest entries are skipped by moving head,
// and the slice is compacted only now and then.
func (m *multicast) remember(s mcSent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.head < len(m.recent) && (len(m.recent)-m.head >= mcRecentMax || s.at.Sub(m.recent[m.head].at) > mcRecentTTL) {
		m.recent[m.head] = mcSent{}
		m.head++
	}
	if m.head > 0 && m.head >= len(m.recent)/2 {
		n := copy(m.recent, m.recent[m.head:])
		clear(m.recent[n:])
		m.recent, m.head = m.recent[:n], 0
	}
	m.recent = append(m.recent, s)
}

// take finds and forgets the oldest stanza sent that a refusal answers:
// same kind, sender and id, and the same first address when the refusal
// carries the addresses (ejabberd's does, as does the Prosody module's).
func (m *multicast) take(local, from, id, first string) (mcSent, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := m.head; i < len(m.recent); i++ {
		s := m.recent[i]
		if s.st != nil && s.local == local && s.from == from && s.id == id && (first == "" || s.first == first) {
			m.recent[i] = mcSent{at: s.at} // taken; keeps its place for the expiry
			return s, true
		}
	}
	return mcSent{}, false
}

// end is called when the link ends.
func (m *multicast) end() {
	if m != nil && m.active() != nil {
		m.l.r.cfg.Metrics.multicastInUse(false)
	}
}

// multicastable reports whether o goes through svc: every message and
// presence for several recipients but errors, and one for one recipient
// when that recipient had copies through svc lately, so that it keeps its
// place behind them.
func (m *multicast) multicastable(o room.Out, svc *mcService, now time.Time) bool {
	if len(o.To) == 0 || o.Stanza.Attr("type") == "error" || (o.Stanza.Local != "message" && o.Stanza.Local != "presence") {
		return false
	}
	if len(o.To) > 1 {
		return true
	}
	// A stanza to the service itself is not a copy for it to make; one
	// for one recipient needs the service only to keep its place.
	return o.To[0] != svc.jid && !svc.inOrder && m.wasReached(o.To[0], now)
}

// markReached records that to gets a copy through the service.
func (m *multicast) markReached(to string, now time.Time) {
	switch age := now.Sub(m.reachedSince); {
	case m.reached == nil:
		m.reached, m.reachedSince = map[string]struct{}{}, now
	case age >= mcReachedWindow:
		// A new window. Marks go into the current one only in its first
		// mcReachedWindow, so each is kept for at least that long.
		m.reachedPrev = m.reached
		if age >= 2*mcReachedWindow {
			m.reachedPrev = nil
		}
		m.reached, m.reachedSince = map[string]struct{}{}, now
	}
	m.reached[to] = struct{}{}
}

// wasReached reports whether to got a copy through the service in this
// window or the one before.
func (m *multicast) wasReached(to string, now time.Time) bool {
	if m.reached == nil {
		return false
	}
	if now.Sub(m.reachedSince) >= 2*mcReachedWindow {
		// The newest mark is at least a window old: everything sent
		// through the service is delivered.
		m.reached, m.reachedPrev = nil, nil
		return false
	}
	if _, ok := m.reached[to]; ok {
		return true
	}
	_, ok := m.reachedPrev[to]
	return ok
}

// iqRecipients returns the recipients of the IQs in batch, one room's
// answer to one stanza; nil (no allocation) when there are none, as in
// every broadcast.
func iqRecipients(batch []room.Out) map[string]bool {
	var m map[string]bool
	for _, o := range batch {
		if o.Stanza != nil && o.Stanza.Local == "iq" {
			if m == nil {
				m = map[string]bool{}
			}
			for _, to := range o.To {
				m[to] = true
			}
		}
	}
	return m
}

// splitByIQ splits o's recipients into those it may reach through the
// service and those that also get an IQ in the same answer. An IQ never
// goes through the service (XEP-0033 §3), so what comes with it to the
// same recipient goes directly too, or a path with one more hop (ejabberd's
// mod_multicast) would let the IQ overtake it: a MAM query's results
// before the <fin/> that ends them (XEP-0313 §4.2), say.
func splitByIQ(o room.Out, iqTo map[string]bool) (mc room.Out, alone []string) {
	if len(iqTo) == 0 {
		return o, nil
	}
	mc = room.Out{Stanza: o.Stanza, To: make([]string, 0, len(o.To))}
	for _, to := range o.To {
		if iqTo[to] {
			alone = append(alone, to)
		} else {
			mc.To = append(mc.To, to)
		}
	}
	return mc, alone
}

// writeMulticast writes o to svc in batches, each with one bcc address per
// recipient (XEP-0033 §4: bcc addresses are not forwarded to anyone, so no
// recipient learns another's; 'to' and 'cc' would be), or with the same
// recipients as a bcc list when svc takes one. It reports false, having
// written nothing, when a batch would be too large for the server: then o
// goes out per recipient.
func (l *link) writeMulticast(w io.Writer, o room.Out, svc *mcService, buf []byte) ([]byte, bool, error) {
	to := make([]string, 0, len(o.To))
	for _, t := range o.To {
		if t != "" {
			to = append(to, t)
		}
	}
	if len(to) == 0 {
		return buf, false, nil
	}
	n := svc.batchFor(o.Stanza.Local)
	type piece struct {
		to  []string
		enc []byte
	}
	var pieces []piece
	for i := 0; i < len(to); i += n {
		chunk := to[i:min(i+n, len(to))]
		c := o.Stanza.ShallowCopy()
		c.Add(recipientsElement(chunk, svc.bccList))
		start := len(buf)
		buf = c.AppendWithTo(buf, svc.jid)
		if len(buf)-start > maxOutStanzaBytes {
			return buf[:0], false, nil
		}
		pieces = append(pieces, piece{chunk, buf[start:]})
	}
	now := time.Now()
	if !svc.inOrder {
		// Only a service that may deliver late needs singles to follow
		// its copies; through an in-order one they never do.
		for _, t := range to {
			l.mc.markReached(t, now)
		}
	}
	for _, p := range pieces {
		if e := l.r.log.Debug(); e.Enabled() {
			e.Str("stanza", string(p.enc)).Msg("send")
		}
		l.mc.remember(mcSent{local: o.Stanza.Local, from: o.Stanza.Attr("from"), id: o.Stanza.Attr("id"),
			first: p.to[0], to: p.to, st: o.Stanza, at: now})
		if _, err := w.Write(p.enc); err != nil {
			return buf, true, err
		}
	}
	l.r.cfg.Metrics.sent(o.Stanza, len(to))
	l.r.cfg.Metrics.multicastSent(len(pieces), len(to))
	return buf, true, nil
}

// recipientsElement lists to for the service: as a bcc list when the
// service takes one, else as XEP-0033 bcc addresses. A recipient that
// could not be told apart in a list (a tab, which no valid JID holds) gets
// the addresses, which need no separator.
func recipientsElement(to []string, bccList bool) *stanza.Element {
	if bccList && !slices.ContainsFunc(to, func(t string) bool { return strings.Contains(t, bccListSep) }) {
		return stanza.New(nsBccList, "bcc").AddText(strings.Join(to, bccListSep))
	}
	addrs := stanza.New(nsAddress, "addresses")
	for _, t := range to {
		addrs.Add(stanza.New(nsAddress, "address", "type", "bcc", "jid", t))
	}
	return addrs
}
