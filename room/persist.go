package room

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"chorus/affiliations"
	"chorus/stanza"
	"chorus/store"
)

// storeTimeout bounds one durable write; a store slower than this fails the
// change rather than stall the room.
const storeTimeout = 10 * time.Second

// record is a room's stored form (store.RoomState.Data). Fields are only
// ever added, so older records still load.
type record struct {
	Config  Config    `json:"config"`
	Subject string    `json:"subject,omitempty"`
	SubjBy  string    `json:"subject_by,omitempty"`
	SubjOID string    `json:"subject_oid,omitempty"`
	SubjAt  time.Time `json:"subject_at,omitzero"`
	VCard   string    `json:"vcard,omitempty"`
	Salt    []byte    `json:"salt"`
}

func (r *Room) affChanged(bare string) {
	if r.dirtyAffs == nil {
		r.dirtyAffs = map[string]bool{}
	}
	r.dirtyAffs[bare] = true
}

// roomWrite is one durable write of a room (XEP-0045 leaves persistence
// to the service; our rule: a change acknowledged to a client is on disk
// first). takeWrite builds it under the room lock and marks the room as if
// written; do runs it without the lock, so the room's readers go on; a
// failed one is handed back with unwrote. The room's wmu orders them, so
// writes reach the store in the order they happened.
type roomWrite struct {
	st   store.Store
	jid  string
	del  bool             // DeleteRoom, with tomb; else UpdateRoom with upd
	tomb *store.Tombstone // for del
	upd  store.RoomUpdate
	err  error // the record could not be encoded

	// What the write covers, to mark dirty again when it fails.
	wasStored bool
	data      bool
	affs      []string
}

// takeWrite returns the write that brings the store up to date with the
// room, or nil when there is none, and marks the room written. It runs
// under the room lock.
func (r *Room) takeWrite() *roomWrite {
	if r.svc.store == nil {
		return nil
	}
	w := &roomWrite{st: r.svc.store, jid: r.jid, wasStored: r.stored, data: r.dirtyData}
	switch {
	case r.destroyed != nil:
		if !r.stored && !r.cfg.Persistent {
			return nil
		}
		w.del = true
		if r.cfg.Persistent {
			w.tomb = &store.Tombstone{Alt: r.destroyed.alt, Reason: r.destroyed.reason, Until: r.destroyed.until}
		}
		r.stored = false
	case r.cfg.Persistent && r.created:
		if r.stored && !r.dirtyData && len(r.dirtyAffs) == 0 {
			return nil
		}
		u := store.RoomUpdate{JID: r.jid}
		if !r.stored || r.dirtyData {
			u.Data, w.err = json.Marshal(r.record())
			// What room lists show (XEP-0045 §6.3), from the store.
			u.Public, u.Name = r.cfg.Public, r.cfg.Name
		}
		for j := range r.affs {
			if !r.stored || r.dirtyAffs[j] {
				rec := r.affs[j]
				u.SetAffiliations = append(u.SetAffiliations, store.Affiliation{JID: j, Affiliation: rec.aff.String(), Reason: rec.reason, Nick: rec.nick})
			}
		}
		for j := range r.dirtyAffs {
			if _, ok := r.affs[j]; !ok && r.stored {
				u.DeleteAffiliations = append(u.DeleteAffiliations, j)
			}
		}
		w.upd = u
		r.stored = true
	case r.stored:
		// No longer persistent: the room lives on in memory until empty.
		w.del = true
		r.stored = false
	default:
		w = nil // a temporary room: nothing to keep
	}
	if w != nil {
		for j := range r.dirtyAffs {
			w.affs = append(w.affs, j)
		}
	}
	r.dirtyData = false
	clear(r.dirtyAffs)
	return w
}

// do runs the write; it waits on the store, bounded by storeTimeout, and
// runs without the room lock.
func (w *roomWrite) do() error {
	if w.err != nil {
		return w.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if w.del {
		return w.st.DeleteRoom(ctx, w.jid, w.tomb)
	}
	return w.st.UpdateRoom(ctx, w.upd)
}

// unwrote marks what a failed write covered as not written, under the
// room lock, so that the next write carries it.
func (r *Room) unwrote(w *roomWrite) {
	r.stored = w.wasStored
	if w.data {
		r.dirtyData = true
	}
	for _, j := range w.affs {
		r.affChanged(j)
	}
}

// needsWrite reports whether the store lacks some of the room's state.
func (r *Room) needsWrite() bool {
	switch {
	case r.svc.store == nil:
		return false
	case r.destroyed != nil:
		return r.stored || r.cfg.Persistent
	case r.cfg.Persistent && r.created:
		return !r.stored || r.dirtyData || len(r.dirtyAffs) > 0
	}
	return r.stored
}

// Background writes: a write that failed where nobody waits for an answer
// (state a change left behind without an acknowledgement, e.g. the record
// of a room its first join created) is retried by one goroutine per room,
// with backoff, instead of by every later stanza, each waiting for the
// store again.
const (
	flushMinWait = 500 * time.Millisecond
	flushMaxWait = time.Minute
)

// scheduleFlush starts the room's background writer unless it runs; under
// the room lock.
func (r *Room) scheduleFlush() {
	if r.flushing || r.svc.store == nil {
		return
	}
	r.flushing = true
	go r.flushLoop()
}

// flushLoop writes the room until the store has all of it, the room is
// closed, or the registry stops.
func (r *Room) flushLoop() {
	wait := flushMinWait
	for {
		t := time.NewTimer(wait)
		select {
		case <-r.svc.stop:
			t.Stop()
			r.mu.Lock()
			r.flushing = false
			r.mu.Unlock()
			return
		case <-t.C:
		}
		r.wmu.Lock()
		r.mu.Lock()
		var w *roomWrite
		if !r.closed {
			w = r.takeWrite()
		}
		if w == nil {
			r.flushing = false
			leave := r.mayLeave()
			r.mu.Unlock()
			r.wmu.Unlock()
			if leave && r.svc.leave != nil {
				r.svc.leave(r)
			}
			return
		}
		r.writing = true
		r.mu.Unlock()
		err := w.do()
		r.mu.Lock()
		r.writing = false
		if err != nil {
			r.unwrote(w)
			r.reportStoreError(err)
		}
		r.mu.Unlock()
		r.wmu.Unlock()
		if err == nil {
			wait = 0 // one more round: finds nothing left, or what came meanwhile
		} else {
			wait = min(max(2*wait, flushMinWait), flushMaxWait)
		}
	}
}

// failAcks replaces the success reply to req, if any, with an error: the
// client must not be told a change is kept when the store refused it. It is
// the fallback for work run did not save the room for (txn.go decides),
// whose change stays marked dirty and is written in the background.
func (r *Room) failAcks(req *request, err error) {
	for i, o := range r.out {
		if req == nil {
			break
		}
		st := o.Stanza
		if st.Local == "iq" && st.Attr("type") == "result" && st.Attr("id") == req.st.Attr("id") && len(o.To) == 1 && o.To[0] == req.from {
			r.out[i] = To1(req.from, errorReply(req.st, newError(errWait, "internal-server-error").withText("The change could not be stored"), r.jid))
		}
	}
	r.reportStoreError(err)
}

// reportStoreError tells the operator of a write the store refused.
func (r *Room) reportStoreError(err error) {
	if r.svc.onStoreError != nil {
		r.svc.onStoreError(fmt.Errorf("room %s: %w", r.jid, err))
	}
}

func (r *Room) record() record {
	rec := record{Config: r.cfg, Subject: r.subject.text, SubjBy: r.subject.from, SubjOID: r.subject.oid, SubjAt: r.subject.at, Salt: r.roomSalt()}
	if r.vcard != nil {
		rec.VCard = r.vcard.String()
	}
	return rec
}

// restore builds a room from its stored state.
func restore(svc *service, st *store.RoomState, hist []store.Message) (*Room, error) {
	r := newRoom(svc, st.JID)
	var rec record
	if err := json.Unmarshal(st.Data, &rec); err != nil {
		return nil, fmt.Errorf("room %s: stored record: %w", st.JID, err)
	}
	r.cfg = rec.Config
	r.subject = subject{text: rec.Subject, from: rec.SubjBy, oid: rec.SubjOID, at: rec.SubjAt}
	r.salt = rec.Salt
	if rec.VCard != "" {
		v, err := stanza.Parse(rec.VCard)
		if err != nil {
			return nil, fmt.Errorf("room %s: stored vCard: %w", st.JID, err)
		}
		r.vcard = v
		r.avatarHash = photoHash(v)
	}
	for _, a := range st.Affiliations {
		aff, ok := affiliations.ParseAffiliation(a.Affiliation)
		if !ok {
			return nil, fmt.Errorf("room %s: stored affiliation %q of %s", st.JID, a.Affiliation, a.JID)
		}
		r.affs[a.JID] = affRecord{aff: aff, reason: a.Reason, nick: a.Nick}
	}
	for _, m := range hist {
		msg, err := stanza.Parse(string(m.Stanza))
		if err != nil {
			continue // one unreadable entry should not lose the room
		}
		r.history.push(historyEntry{msg: msg, at: m.At, n: len(m.Stanza)}, len(hist), svc.limits.HistoryBytes)
	}
	r.created, r.stored = true, true
	return r, nil
}
