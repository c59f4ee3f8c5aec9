package room

import (
	"strconv"
	"sync/atomic"
	"time"

	"chorus/forms"
	"chorus/stanza"
)

// defaultHistoryLength is how many messages a room keeps and sends on join
// unless configured otherwise (XEP-0045 §7.2.15 leaves it to the service;
// 20 is what Prosody and clients expect).
const defaultHistoryLength = 20

// maxHistoryLength bounds what an owner may configure.
const maxHistoryLength = 1000

type historyEntry struct {
	msg  *stanza.Element // as broadcast, without "to"
	at   time.Time
	n    int // encoded size, for maxchars; 0 until a join asks for it
	size int // estimated memory, counted against the byte bounds
}

// history is the room's recent messages in memory. It is bounded in
// count (the room's history length), in bytes per room and, through
// budget, in bytes over the whole service: without the byte bounds, large
// messages in many rooms with long histories would let one account grow
// the service by gigabytes. The archive keeps everything regardless.
type history struct {
	entries []historyEntry
	bytes   int            // sum of the entries' sizes
	budget  *historyBudget // shared by every room of the service
	// changes counts the changes, for the live state of temporary rooms.
	changes uint64
}

// historyBudget is the service-wide bound on history in memory.
type historyBudget struct {
	used  atomic.Int64
	limit int64 // 0: none
}

func (b *historyBudget) add(n int) {
	if b != nil {
		b.used.Add(int64(n))
	}
}

func (b *historyBudget) over() bool {
	return b != nil && b.limit > 0 && b.used.Load() > b.limit
}

// push adds an entry and drops the oldest ones beyond the bounds: the
// room's length and bytes, then the service's budget. Over the budget a
// room gives up its own oldest entries, so rooms that are quiet keep
// theirs; the newest entry is dropped last.
func (h *history) push(e historyEntry, maxLen, maxBytes int) {
	e.size = e.msg.Size()
	h.changes++
	h.entries = append(h.entries, e)
	h.bytes += e.size
	h.budget.add(e.size)
	drop := max(len(h.entries)-maxLen, 0)
	for bytes := h.bytes; drop < len(h.entries) && maxBytes > 0 && bytes > maxBytes; drop++ {
		bytes -= h.entries[drop].size
	}
	h.dropOldest(drop)
	for len(h.entries) > 0 && h.budget.over() {
		h.dropOldest(1)
	}
}

// dropOldest forgets the n oldest entries.
func (h *history) dropOldest(n int) {
	if n <= 0 {
		return
	}
	freed := 0
	for _, e := range h.entries[:n] {
		freed += e.size
	}
	copy(h.entries, h.entries[n:])
	clear(h.entries[len(h.entries)-n:])
	h.entries = h.entries[:len(h.entries)-n]
	h.bytes -= freed
	h.budget.add(-freed)
}

// replace puts msg in place of entry i (a moderated message's tombstone).
func (h *history) replace(i int, msg *stanza.Element) {
	old := h.entries[i].size
	e := historyEntry{msg: msg, at: h.entries[i].at, size: msg.Size()}
	h.changes++
	h.entries[i] = e
	h.bytes += e.size - old
	h.budget.add(e.size - old)
}

// remove forgets entry i.
func (h *history) remove(i int) {
	size := h.entries[i].size
	h.changes++
	h.entries = append(h.entries[:i:i], h.entries[i+1:]...)
	h.bytes -= size
	h.budget.add(-size)
}

// clear forgets every entry, giving their bytes back to the budget.
func (h *history) clear() {
	h.budget.add(-h.bytes)
	h.changes++
	h.entries, h.bytes = nil, 0
}

var historyFeature = feature{
	name: "history",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigHistoryLength, Type: forms.TextSingle,
				Label:  "Maximum number of history messages returned by room",
				Values: []string{strconv.Itoa(c.HistoryLength)}}
		},
		parse: func(c *Config, f *forms.Field) error {
			n, err := strconv.Atoi(f.Value())
			if err != nil || n < 0 || n > maxHistoryLength {
				return errNotAcceptable.withText("History length must be a number from 0 to " + strconv.Itoa(maxHistoryLength))
			}
			c.HistoryLength = n
			return nil
		},
	}},
}

// Namespaces of payloads that make a body-less message worth keeping.
const (
	NSHints       = "urn:xmpp:hints"                 // XEP-0334
	NSChatMarkers = "urn:xmpp:chat-markers:0"        // XEP-0333
	NSEME         = "urn:xmpp:eme:0"                 // XEP-0380
	NSOMEMOLegacy = "eu.siacs.conversations.axolotl" // XEP-0384 before 0.4
	NSOMEMO       = "urn:xmpp:omemo:2"               // XEP-0384
	NSOpenPGP     = "urn:xmpp:openpgp:0"             // XEP-0373
)

// historic decides whether a broadcast message goes to the history and
// the archive. This is the one list; it follows Prosody's
// muc-message-is-historic hook (plugins/muc/history.lib.lua), which also
// decides what mod_muc_mam archives, in the same order:
//   - a no-store or no-permanent-store hint keeps it out (XEP-0334 §4);
//   - a store hint keeps it (XEP-0334 §4.4): reactions (XEP-0444) and
//     retractions (XEP-0424) carry one because they have no body;
//   - a body keeps it; so does a subject (XEP-0313, MUC Archives: subject
//     changes SHOULD be stored, as bodies);
//   - an encrypted payload keeps it, since nobody can tell what it holds:
//     Prosody looks for the XEP-0380 <encryption/> marker; OMEMO and
//     OpenPGP for XMPP payloads are recognised as well, for clients that
//     send them without that marker;
//   - a chat marker keeps it (XEP-0333: markers are how other devices learn
//     what was read);
//   - a retraction keeps it, store hint or not: XEP-0424 (Business Rules)
//     says the archive MUST store it, so that devices that were offline
//     learn of it. Prosody 0.12 predates that rule.
//
// It looks at each child once: it runs for every groupchat message.
func historic(msg *stanza.Element) bool {
	keep := false
	for _, c := range msg.Children() {
		switch c.Space {
		case NSHints:
			switch c.Local {
			case "no-store", "no-permanent-store":
				return false
			case "store":
				keep = true
			}
		case NSClient:
			keep = keep || c.Local == "body" || c.Local == "subject"
		case NSEME:
			keep = keep || c.Local == "encryption"
		case NSOMEMOLegacy, NSOMEMO:
			keep = keep || c.Local == "encrypted"
		case NSOpenPGP:
			keep = keep || c.Local == "openpgp"
		case NSChatMarkers:
			keep = true
		case NSRetract:
			keep = keep || c.Local == "retract"
		}
	}
	return keep
}

// addHistory keeps a broadcast message for later joiners when it is
// historic. It goes to the archive too, when the room keeps one.
func (r *Room) addHistory(msg *stanza.Element) {
	if !historic(msg) {
		return
	}
	r.archiveMessage(msg, r.stanzaIDOf(msg))
	if r.cfg.HistoryLength == 0 {
		r.history.clear()
		return
	}
	r.history.push(historyEntry{msg: msg, at: r.svc.now()}, r.cfg.HistoryLength, r.svc.limits.HistoryBytes)
}

// sendHistory sends the discussion history to a joining session, honouring
// the limits it asked for (XEP-0045 §7.2.15: maxchars, maxstanzas, seconds,
// since), each message with a delay stamped by the room.
func (r *Room) sendHistory(to string, muc *stanza.Element) {
	entries := r.history.entries
	maxStanzas, maxChars := len(entries), -1
	var since time.Time
	if h := muc.Child(NSMUC, "history"); h != nil {
		if v, err := strconv.Atoi(h.Attr("maxstanzas")); err == nil && v >= 0 {
			maxStanzas = min(v, maxStanzas)
		}
		if v, err := strconv.Atoi(h.Attr("maxchars")); err == nil && v >= 0 {
			maxChars = v
		}
		if v, err := strconv.Atoi(h.Attr("seconds")); err == nil && v >= 0 {
			since = r.svc.now().Add(-time.Duration(v) * time.Second)
		}
		if t, err := time.Parse(time.RFC3339, h.Attr("since")); err == nil && t.After(since) {
			since = t
		}
	}
	n, chars := 0, 0
	for i := len(entries) - 1; i >= 0 && n < maxStanzas; i-- {
		e := entries[i]
		if e.at.Before(since) {
			break
		}
		if maxChars >= 0 {
			// Sized on demand: few joins ask for maxchars, and encoding
			// every broadcast once more would tax the hot path.
			if e.n == 0 {
				e.n = len(e.msg.Append(nil))
				entries[i].n = e.n
			}
			chars += e.n
			if chars > maxChars {
				break
			}
		}
		n++
	}
	for _, e := range entries[len(entries)-n:] {
		m := e.msg.ShallowCopy()
		m.Add(delayEl(r.jid, e.at))
		r.send(to, m)
	}
}

// delayEl is an XEP-0203 delay stamped by from.
func delayEl(from string, at time.Time) *stanza.Element {
	return stanza.New(NSDelay, "delay", "from", from, "stamp", at.UTC().Format("2006-01-02T15:04:05Z"))
}
