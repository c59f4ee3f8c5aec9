package room

import (
	"time"

	"chorus/affiliations"
	"chorus/stanza"
)

// Occupant is one nickname in a room. A user may be present through several
// sessions (resources) under one nick; the first session is the primary,
// whose presence the room shows to others.
type Occupant struct {
	Nick     string
	Bare     string // bare real JID
	Role     affiliations.Role
	sessions []session
	oid      string // XEP-0421 occupant id, derived from Bare when first needed
}

type session struct {
	jid      string          // full real JID
	presence *stanza.Element // last available presence, muc payloads removed
	joined   time.Time       // when the session entered (kept in live state)
}

// Sessions returns the full real JIDs of the occupant's sessions.
func (o *Occupant) Sessions() []string {
	out := make([]string, len(o.sessions))
	for i, s := range o.sessions {
		out[i] = s.jid
	}
	return out
}

func (o *Occupant) session(full string) int {
	for i, s := range o.sessions {
		if s.jid == full {
			return i
		}
	}
	return -1
}

// setSession records the presence of a session, adding it if new.
func (o *Occupant) setSession(full string, pres *stanza.Element) {
	switch {
	case pres != nil && len(pres.Attrs) == 0 && len(pres.Nodes) == 0:
		// A bare presence says nothing a new one would not: keep none.
		pres = nil
	case pres != nil:
		pres = internPresence(pres)
	}
	if i := o.session(full); i >= 0 {
		o.sessions[i].presence = pres
		return
	}
	o.sessions = append(o.sessions, session{jid: full, presence: pres})
}

func (o *Occupant) removeSession(full string) {
	if i := o.session(full); i >= 0 {
		o.sessions = append(o.sessions[:i:i], o.sessions[i+1:]...)
	}
}

// presence returns the primary session's presence.
func (o *Occupant) presence() *stanza.Element {
	if len(o.sessions) == 0 {
		return nil
	}
	return o.sessions[0].presence
}

// sanitizePresence keeps what an occupant's presence says about the user
// (show, status, priority, capabilities, avatar hash, ...) and drops the
// addressing and the MUC protocol payloads, which the room writes itself.
// It also drops xml:lang when no status text is there for it to describe
// (RFC 6120 §8.1.5, RFC 6121 §4.7.2.2): servers such as ejabberd stamp
// every client stanza with one, and the room would repeat it in each
// copy of the presence it sends.
func sanitizePresence(p *stanza.Element) *stanza.Element {
	c := p.ShallowCopy()
	c.Attrs = c.Attrs[:0]
	hasText := p.Child(NSClient, "status") != nil
	for _, a := range p.Attrs {
		if a.Space == "" && (a.Local == "to" || a.Local == "from" || a.Local == "type" || a.Local == "id") {
			continue
		}
		if a.Space == stanza.NSXML && a.Local == "lang" && !hasText {
			continue
		}
		c.Attrs = append(c.Attrs, a)
	}
	c.RemoveChildren(func(e *stanza.Element) bool {
		return e.Space == NSMUC || e.Space == NSMUCUser
	})
	return c
}
