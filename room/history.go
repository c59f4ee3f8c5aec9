package room

import (
	"strconv"
	"time"

	"chorus/forms"
	"chorus/internal/xmlel"
)

// defaultHistoryLength is how many messages a room keeps and sends on join
// unless configured otherwise (XEP-0045 §7.2.15 leaves it to the service;
// 20 is what Prosody and clients expect).
const defaultHistoryLength = 20

// maxHistoryLength bounds what an owner may configure.
const maxHistoryLength = 1000

type historyEntry struct {
	msg *xmlel.Element // as broadcast, without "to"
	at  time.Time
	n   int // encoded size, for maxchars; 0 until a join asks for it
}

type history struct {
	entries []historyEntry
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

// addHistory keeps a broadcast message for later joiners when it has a body
// or subject and no hint against storing it.
// It goes to the archive too, when the room keeps one.
func (r *Room) addHistory(msg *xmlel.Element) {
	if msg.Child(NSClient, "body") == nil && msg.Child(NSClient, "subject") == nil {
		return
	}
	if msg.Child("urn:xmpp:hints", "no-store") != nil || msg.Child("urn:xmpp:hints", "no-permanent-store") != nil {
		return
	}
	r.archiveMessage(msg, r.stanzaIDOf(msg))
	if r.cfg.HistoryLength == 0 {
		r.history.entries = nil
		return
	}
	e := historyEntry{msg: msg, at: r.svc.now()}
	r.history.entries = append(r.history.entries, e)
	if over := len(r.history.entries) - r.cfg.HistoryLength; over > 0 {
		copy(r.history.entries, r.history.entries[over:])
		clear(r.history.entries[len(r.history.entries)-over:])
		r.history.entries = r.history.entries[:len(r.history.entries)-over]
	}
}

// sendHistory sends the discussion history to a joining session, honouring
// the limits it asked for (XEP-0045 §7.2.15: maxchars, maxstanzas, seconds,
// since), each message with a delay stamped by the room.
func (r *Room) sendHistory(to string, muc *xmlel.Element) {
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
func delayEl(from string, at time.Time) *xmlel.Element {
	return xmlel.New(NSDelay, "delay", "from", from, "stamp", at.UTC().Format("2006-01-02T15:04:05Z"))
}
