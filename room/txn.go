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

// A transaction (run) takes the room's writer lock (wmu) unless it only
// reads, then the room lock (mu). A change of stored state is saved first
// and its durable write runs with mu released and the room put back as it
// was, so readers meanwhile see only what is stored; once the store has
// it the change is put back in place and announced, or, when the store
// refused it, it is dropped and only the sender hears (wait/
// internal-server-error). State no one is waiting for an answer about is
// retried in the background (flushLoop), not by every later stanza.

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

// txnResult is what one transaction (run) produced.
type txnResult struct {
	outs  []Out
	ops   []archiveOp
	ok    bool  // false: the room was closed; look it up again
	err   error // the store refused the change, which was undone
	leave bool  // the room should leave memory (Registry.collect)
}

// run is the room's one transaction: fn under the room lock, then what it
// changed made durable, then what it sends and archives handed back. See
// the comment at the top of this file. read says fn cannot change the
// room's saved state (readOnly), so it need not wait for the room's
// durable writes.
func (r *Room) run(req *request, always, read bool, fn func()) (res txnResult) {
	if !read {
		r.wmu.Lock()
		defer r.wmu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return res
	}
	res.ok = true
	r.out = r.out[:0]
	defer func() { r.out = nil }()
	r.archive = r.archive[:0]
	var saved *savedRoom
	if !read && r.svc.store != nil && (always || r.mayChangeStored(req)) {
		saved = r.save()
	}
	// A temporary room's record, affiliations and history are kept only
	// in the live state: their changes mark it too.
	temp := r.svc.live != nil && !r.cfg.Persistent
	hist := r.history.changes
	fn()
	if temp && (r.dirtyData || len(r.dirtyAffs) > 0 || r.history.changes != hist) {
		r.liveStateChanged()
	}
	if !read && r.svc.store != nil && (saved != nil || !r.flushing) {
		if w := r.takeWrite(); w != nil {
			res.err = r.write(req, w, saved)
		}
	}
	res.outs = r.out
	if len(r.archive) > 0 {
		res.ops = append([]archiveOp(nil), r.archive...)
	}
	res.leave = r.mayLeave()
	if r.liveChanged && r.svc.live != nil {
		// The one place live state learns of a change: a mark, no I/O.
		r.liveChanged = false
		r.svc.live.markLive(r)
	}
	return res
}

// write does w for run, with the room lock released meanwhile. With saved
// (a change of stored state), readers see the room as saved until the
// write is done; a failed write leaves it so. Without, a failed write
// fails the sender's acknowledgement and is retried in the background.
func (r *Room) write(req *request, w *roomWrite, saved *savedRoom) error {
	outs := append([]Out(nil), r.out...)
	ops := append([]archiveOp(nil), r.archive...)
	clear(r.out)
	r.out = r.out[:0]
	clear(r.archive)
	r.archive = r.archive[:0]
	var after *savedRoom
	if saved != nil {
		saved.salt = r.salt // made on first use, kept whatever happens
		after = r.save()
		r.restore(saved)
	}
	r.writing = true
	r.mu.Unlock()
	err := w.do()
	r.mu.Lock()
	r.writing = false
	r.out = r.out[:0]
	switch {
	case err == nil:
		if after != nil {
			r.restore(after)
		}
		r.out, r.archive = append(r.out, outs...), append(r.archive, ops...)
	case saved != nil:
		// Nothing happened: the room is as before, nobody but the
		// sender hears of the attempt.
		if req != nil {
			r.replyError(req, newError(errWait, "internal-server-error").withText(textNotStored))
		}
		r.reportStoreError(err)
		if r.needsWrite() {
			r.scheduleFlush() // what was pending before the change
		}
	default:
		r.unwrote(w)
		r.out, r.archive = append(r.out, outs...), append(r.archive, ops...)
		r.failAcks(req, err)
		r.scheduleFlush()
	}
	return err
}

// ReadOnly reports whether st, a stanza to a room or occupant, is one that
// only reads the room (readOnly): it may be handled while a change to the
// room from another sender waits for the store.
func (g *Registry) ReadOnly(to Address, st *stanza.Element) bool {
	return readOnly(&request{st: st, typ: st.Attr("type"), nick: to.Resource()})
}

// readOnly reports whether req cannot change what a room saves and
// restores (savedRoom): IQ queries, and messages that are neither subject
// changes nor errors (which may remove an occupant) nor invitations and
// requests. These run beside a durable write of the room.
func readOnly(req *request) bool {
	st := req.st
	switch st.Local {
	case "iq":
		return req.typ == "get"
	case "message":
		switch {
		case req.nick == "":
			return req.typ == "groupchat" && st.Child(NSClient, "subject") == nil
		default:
			return req.typ != "error" && req.typ != "groupchat"
		}
	}
	return false
}

// mayLeave reports whether the room should leave memory: destroyed or
// evicted already, temporary and empty, never created, or persistent,
// empty and entirely stored. A room with a durable write in flight or
// pending stays. It runs under the room lock.
func (r *Room) mayLeave() bool {
	if r.writing || r.flushing {
		return false
	}
	evict := r.isEmpty() && r.cfg.Persistent && r.stored && r.archives() && !r.dirtyData && len(r.dirtyAffs) == 0
	return r.closed || (r.isEmpty() && !r.cfg.Persistent) || !r.created || evict
}
