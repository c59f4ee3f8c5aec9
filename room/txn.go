package room

import (
	"maps"

	"chorus/stanza"
)

// A stanza that may change what the store keeps runs against a saved copy
// of the room's state: when the write fails, the room goes back to exactly
// how it was, nothing the stanza caused is sent or archived, and only the
// sender hears of it. Prosody has no such rule (it saves after the fact and
// logs a failure); ours is that a change is live, announced and
// acknowledged only once it is durable.

// textNotStored is what the sender of a change the store refused is told.
const textNotStored = "The change could not be stored; try again"

// savedRoom is everything a stanza may change that restore must put back.
// A field added to Room that persist writes must be added here too;
// TestSavedRoomCoversRecord compares record() before and after. Rate
// limits and voice request times are left as the stanza made them: a
// refused attempt still costs what an attempt costs.
type savedRoom struct {
	cfg        Config
	created    bool
	locked     bool
	closed     bool
	destroyed  *tombstone
	subject    subject
	affs       map[string]affRecord
	salt       []byte
	vcard      *stanza.Element // never changed in place: vcardSet swaps it
	avatarHash string

	occupants []*Occupant
	values    []Occupant // what each of occupants held
	sessions  [][]session
	deferred  map[string]*request

	out, archive int // lengths of the queues
	stored       bool
	dirtyData    bool
	dirtyAffs    map[string]bool
}

// save copies the room's state; it runs under the room lock.
func (r *Room) save() *savedRoom {
	s := &savedRoom{
		cfg: r.cfg, created: r.created, locked: r.locked, closed: r.closed,
		destroyed: r.destroyed, subject: r.subject, affs: maps.Clone(r.affs),
		salt: r.salt, vcard: r.vcard, avatarHash: r.avatarHash,
		occupants: append([]*Occupant(nil), r.occupants...),
		values:    make([]Occupant, len(r.occupants)),
		sessions:  make([][]session, len(r.occupants)),
		deferred:  maps.Clone(r.deferred),
		out:       len(r.out), archive: len(r.archive),
		stored: r.stored, dirtyData: r.dirtyData, dirtyAffs: maps.Clone(r.dirtyAffs),
	}
	for i, o := range r.occupants {
		s.values[i] = *o
		// setSession changes a session's presence in place.
		s.sessions[i] = append([]session(nil), o.sessions...)
	}
	return s
}

// restore puts the room back as save found it. Occupants keep their
// identity (pointers), so nothing that refers to them goes stale.
func (r *Room) restore(s *savedRoom) {
	r.cfg, r.created, r.locked, r.closed = s.cfg, s.created, s.locked, s.closed
	r.destroyed, r.subject, r.affs = s.destroyed, s.subject, s.affs
	r.salt, r.vcard, r.avatarHash = s.salt, s.vcard, s.avatarHash
	r.occupants = s.occupants
	clear(r.byNick)
	clear(r.byReal)
	for i, o := range s.occupants {
		*o = s.values[i]
		o.sessions = s.sessions[i]
		r.byNick[nickKey(o.Nick)] = o
		for _, ss := range o.sessions {
			r.byReal[ss.jid] = o
		}
	}
	r.audienceChanged()
	r.deferred = s.deferred
	clear(r.out[s.out:])
	r.out = r.out[:s.out]
	clear(r.archive[s.archive:])
	r.archive = r.archive[:s.archive]
	r.stored, r.dirtyData, r.dirtyAffs = s.stored, s.dirtyData, s.dirtyAffs
}

// mayChangeStored reports whether req is a stanza whose handling can change
// what the store keeps of this room, so that transact saves the room
// first: IQ sets (configuration, affiliations, registration, vCard,
// destroy), subject changes, and invitations (into a members-only room
// they grant membership, XEP-0045 §9.3). Groupchat messages without a
// subject stay off this path: they never touch the room's record.
func (r *Room) mayChangeStored(req *request) bool {
	if req == nil || req.nick != "" || r.svc.store == nil || !r.created {
		return false
	}
	st := req.st
	switch {
	case st.Local == "iq" && req.typ == "set":
		// Only an owner's set can make a temporary room persistent.
		return r.cfg.Persistent || r.stored || st.FirstChild().Is(NSMUCOwner, "query")
	case !r.cfg.Persistent && !r.stored:
		return false
	case st.Local == "message" && req.typ == "groupchat":
		return st.Child(NSClient, "subject") != nil
	case st.Local == "message":
		return st.Child(NSMUCUser, "x") != nil
	}
	return false
}
