package room

import (
	"context"

	"chorus/affiliations"
	"chorus/stanza"
)

// Namespaces of message moderation (XEP-0425) and retraction (XEP-0424).
const (
	NSModerate = "urn:xmpp:message-moderate:1"
	NSRetract  = "urn:xmpp:message-retract:1"
)

// XEP-0425 version 0.2, still all that some clients speak (Gajim 1.7, as
// in Debian 12): the request and the broadcast wrap the moderation in a
// fastening (XEP-0422) of the message's stanza id.
const (
	NSModerateV0 = "urn:xmpp:message-moderate:0"
	NSRetractV0  = "urn:xmpp:message-retract:0"
	NSFasten     = "urn:xmpp:fasten:0"
)

var moderationFeature = feature{
	name: "moderation",
	disco: func(r *Room) []string {
		if r.archives() {
			// XEP-0424 (Discovering support): a service that archives
			// retractions MUST advertise the namespace, and one that
			// leaves tombstones MUST advertise #tombstone.
			return []string{NSModerate, NSModerateV0, NSRetract, NSRetract + "#tombstone"}
		}
		return []string{NSModerate, NSModerateV0}
	},
}

// moderate handles a moderator's request to retract someone's message
// (XEP-0425, Use Case): the room broadcasts a retraction naming the moderator,
// and the history and the archive keep only a tombstone. The message may
// be anywhere in the archive, not only in the recent history. Requests of
// either version of XEP-0425 are accepted, and the broadcast carries both,
// so that every occupant's client understands it whoever moderated.
func (r *Room) moderate(req *request) {
	mod := r.occupantBySession(req.from)
	if mod == nil || mod.Role != affiliations.Moderator {
		r.replyError(req, errForbidden.withText("Only moderators may moderate messages"))
		return
	}
	id, text, ok := moderationRequest(req.st.FirstChild())
	if !ok {
		r.replyError(req, errFeatureNotImpl.withText("Only retraction is supported"))
		return
	}
	orig, i, e := r.findMessage(req, id)
	if e != nil {
		r.replyError(req, e)
		return
	}
	// XEP-0425: <moderated/> names the moderator, by occupant JID and,
	// since the nick may change, by occupant id (XEP-0421).
	by := r.occupantJID(mod.Nick)
	moderated := stanza.New(NSModerate, "moderated", "by", by).
		Add(stanza.New(NSOccupantID, "occupant-id", "id", r.occupantID(mod.Bare)))
	var reason *stanza.Element
	if text != "" {
		reason = stanza.New(NSRetract, "reason").AddText(text)
	}
	retract := stanza.New(NSRetract, "retract", "id", id).Add(moderated)
	if reason != nil {
		retract.Add(reason)
	}
	// XEP-0425 v0.2 (Use Case): the same retraction as a fastening.
	moderatedV0 := stanza.New(NSModerateV0, "moderated", "by", by).Add(stanza.New(NSRetractV0, "retract"))
	if text != "" {
		moderatedV0.Add(stanza.New(NSModerateV0, "reason").AddText(text))
	}
	applyTo := stanza.New(NSFasten, "apply-to", "id", id).Add(moderatedV0)
	tomb := r.tombstone(orig, moderated, reason)
	if i >= 0 {
		r.history.replace(i, tomb)
	}
	r.archiveReplace(id, tomb)

	msg := stanza.New(NSClient, "message", "from", r.jid, "type", "groupchat", "id", r.svc.newID()).Add(retract).Add(applyTo)
	sid := r.svc.newID()
	msg.Add(stanza.New(NSStanzaID, "stanza-id", "id", sid, "by", r.jid))
	// XEP-0424 (Business Rules; XEP-0425 follows it): the retraction
	// itself MUST be archived, so that clients that were offline learn of it when they
	// catch up through MAM. The history needs no copy: it already holds the
	// tombstone in the message's place.
	r.archiveMessage(msg, sid)
	r.send(req.from, iqResult(req.st))
	r.sendTo(r.allSessions(nil), msg)
}

// moderationRequest reads a moderation request of either version of
// XEP-0425: the moderated message's stanza id and the reason. ok is false
// for a request that asks for something other than retraction.
func moderationRequest(p *stanza.Element) (id, reason string, ok bool) {
	if p.Is(NSFasten, "apply-to") {
		m := p.Child(NSModerateV0, "moderate")
		if m == nil || m.Child(NSRetractV0, "retract") == nil {
			return "", "", false
		}
		return p.Attr("id"), m.ChildText(NSModerateV0, "reason"), true
	}
	if p.Child(NSRetract, "retract") == nil {
		return "", "", false
	}
	return p.Attr("id"), p.ChildText(NSModerate, "reason"), true
}

// tombstone is what the history and the archive keep of a retracted
// message (XEP-0424 and XEP-0425, Tombstones): its sender, type, id,
// stanza-id, origin-id (MUST, so that clients can match it to the
// retraction) and
// author's occupant id, with the content replaced by <retracted/> stamped
// with the time of retraction; for a moderation, <retracted/> holds the
// <moderated/> element and the reason.
func (r *Room) tombstone(orig, moderated, reason *stanza.Element) *stanza.Element {
	retracted := stanza.New(NSRetract, "retracted", "stamp", r.svc.now().UTC().Format("2006-01-02T15:04:05Z"))
	if moderated != nil {
		retracted.Add(moderated.Clone())
	}
	if reason != nil {
		retracted.Add(reason.Clone())
	}
	tomb := stanza.New(NSClient, "message", "from", orig.Attr("from"), "type", "groupchat", "id", orig.Attr("id")).Add(retracted)
	for _, c := range orig.Children() {
		if c.Is(NSStanzaID, "stanza-id") || c.Is(NSStanzaID, "origin-id") || c.Is(NSOccupantID, "occupant-id") {
			tomb.Add(c.Clone())
		}
	}
	return tomb
}

// prefetched is a message that a moderation or retraction names, read from
// the archive before the room lock was taken (Registry.prefetch).
type prefetched struct {
	id  string
	msg *stanza.Element // nil: not in the archive
	err error
}

// retractedID returns the id of the message req moderates or retracts,
// or "" when req does neither.
func retractedID(req *request) string {
	st := req.st
	switch {
	case req.nick != "":
	case st.Local == "iq" && req.typ == "set" && len(st.Children()) == 1 &&
		(st.FirstChild().Is(NSModerate, "moderate") || st.FirstChild().Is(NSFasten, "apply-to")):
		return st.FirstChild().Attr("id")
	case st.Local == "message" && req.typ == "groupchat":
		if rt := st.Child(NSRetract, "retract"); rt != nil {
			return rt.Attr("id")
		}
	}
	return ""
}

// prefetch reads from the archive, without the room lock, the message a
// moderation or retraction names when the room's recent history lacks it,
// and leaves it in req for findMessage. For a moderation, when the store
// lacks the message, the archive queue is flushed and the store asked
// again: a message that has just left a short history may still be
// queued. The flush waits for other rooms' writes, so it is not done for
// an occupant's retraction (any occupant may send them), nor for messages
// the store already has.
func (g *Registry) prefetch(r *Room, req *request) {
	id := retractedID(req)
	if id == "" || g.svc.store == nil {
		return
	}
	r.mu.Lock()
	need := r.historyIndex(id) < 0 && r.archives()
	r.mu.Unlock()
	if !need {
		return
	}
	a := &prefetched{id: id}
	req.archived = a
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	m, err := g.svc.store.Get(ctx, r.jid, id)
	if err == nil && m == nil && req.st.Local == "iq" && g.svc.archiver != nil {
		g.svc.archiver.sync()
		m, err = g.svc.store.Get(ctx, r.jid, id)
	}
	if err != nil {
		if g.svc.onStoreError != nil {
			g.svc.onStoreError(err)
		}
		a.err = err
		return
	}
	if m != nil {
		a.msg, _ = stanza.Parse(string(m.Stanza)) // unreadable: as if absent
	}
}

// findMessage finds a message of this room by its room-assigned stanza id:
// in the recent history (i is its index), or else in what prefetch read
// from the archive (i is -1). The archive is never read under the room
// lock; a message that left the history between prefetch and now is not
// found, as if it had never been sent.
func (r *Room) findMessage(req *request, id string) (msg *stanza.Element, i int, e *stanzaError) {
	notFound := errItemNotFound.withText("No such message in this room")
	if id == "" {
		return nil, -1, notFound
	}
	if i := r.historyIndex(id); i >= 0 {
		return r.history.entries[i].msg, i, nil
	}
	a := req.archived
	if !r.archives() || a == nil || a.id != id {
		return nil, -1, notFound
	}
	if a.err != nil {
		return nil, -1, newError(errWait, "internal-server-error").withText("The archive could not be read")
	}
	if a.msg == nil {
		return nil, -1, notFound
	}
	return a.msg, -1, nil
}

// authorRetraction checks a groupchat retraction by its author (XEP-0424):
// only the author of a message may retract it, and history and archive
// keep a tombstone in its place.
func (r *Room) authorRetraction(o *Occupant, req *request, rt *stanza.Element) *stanzaError {
	// No flush of the archive queue for an occupant's retraction
	// (prefetch): any occupant may send them.
	orig, i, e := r.findMessage(req, rt.Attr("id"))
	if e != nil {
		return nil // unknown here: let it through; clients check authorship themselves
	}
	// XEP-0424 (Business Rules): in a MUC the retraction must come from
	// the author, known across nick changes by occupant id (XEP-0421).
	if oid := orig.Child(NSOccupantID, "occupant-id"); oid == nil || oid.Attr("id") != r.occupantID(o.Bare) {
		return errForbidden.withText("Only the author may retract a message")
	}
	if i >= 0 {
		r.history.remove(i)
	}
	r.archiveReplace(rt.Attr("id"), r.tombstone(orig, nil, nil))
	return nil
}

// historyIndex finds a history entry by its room-assigned stanza id.
// Its one caller, findMessage, never asks for an empty id.
func (r *Room) historyIndex(id string) int {
	for i, e := range r.history.entries {
		if r.stanzaIDOf(e.msg) == id {
			return i
		}
	}
	return -1
}
