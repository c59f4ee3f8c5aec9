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

// persist makes the room's changes durable (XEP-0045 leaves it to the
// service; our rule: a change acknowledged to a client is on disk first).
// It runs under the room lock at the end of every stanza, so writes reach
// the store in the order they happened.
func (r *Room) persist() error {
	st := r.svc.store
	if st == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	switch {
	case r.destroyed != nil:
		if !r.stored && !r.cfg.Persistent {
			return nil
		}
		var tomb *store.Tombstone
		if r.cfg.Persistent {
			tomb = &store.Tombstone{Alt: r.destroyed.alt, Reason: r.destroyed.reason, Until: r.destroyed.until}
		}
		if err := st.DeleteRoom(ctx, r.jid, tomb); err != nil {
			return err
		}
		r.stored = false
	case r.cfg.Persistent && r.created:
		if r.stored && !r.dirtyData && len(r.dirtyAffs) == 0 {
			return nil
		}
		u := store.RoomUpdate{JID: r.jid}
		if !r.stored || r.dirtyData {
			data, err := json.Marshal(r.record())
			if err != nil {
				return err
			}
			u.Data = data
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
		if err := st.UpdateRoom(ctx, u); err != nil {
			return err
		}
		r.stored = true
	case r.stored:
		// No longer persistent: the room lives on in memory until empty.
		if err := st.DeleteRoom(ctx, r.jid, nil); err != nil {
			return err
		}
		r.stored = false
	}
	r.dirtyData = false
	clear(r.dirtyAffs)
	return nil
}

// failAcks replaces the success reply to req, if any, with an error: the
// client must not be told a change is kept when the store refused it. It is
// the fallback for work transact did not save the room for (txn.go
// decides), whose change stays marked dirty and is written with the next.
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
