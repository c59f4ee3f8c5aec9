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

var moderationFeature = feature{
	name: "moderation",
	disco: func(r *Room) []string {
		if r.archives() {
			// XEP-0424 (Discovering support): a service that archives
			// retractions MUST advertise the namespace, and one that
			// leaves tombstones MUST advertise #tombstone.
			return []string{NSModerate, NSRetract, NSRetract + "#tombstone"}
		}
		return []string{NSModerate}
	},
}

// moderate handles a moderator's request to retract someone's message
// (XEP-0425, Use Case): the room broadcasts a retraction naming the moderator,
// and the history and the archive keep only a tombstone. The message may
// be anywhere in the archive, not only in the recent history.
func (r *Room) moderate(req *request) {
	m := req.st.FirstChild()
	mod := r.occupantBySession(req.from)
	if mod == nil || mod.Role != affiliations.Moderator {
		r.replyError(req, errForbidden.withText("Only moderators may moderate messages"))
		return
	}
	if m.Child(NSRetract, "retract") == nil {
		r.replyError(req, errFeatureNotImpl.withText("Only retraction is supported"))
		return
	}
	id := m.Attr("id")
	orig, i, e := r.findMessage(id, true)
	if e != nil {
		r.replyError(req, e)
		return
	}
	// XEP-0425: <moderated/> names the moderator, by occupant JID and,
	// since the nick may change, by occupant id (XEP-0421).
	moderated := stanza.New(NSModerate, "moderated", "by", r.occupantJID(mod.Nick)).
		Add(stanza.New(NSOccupantID, "occupant-id", "id", r.occupantID(mod.Bare)))
	var reason *stanza.Element
	if text := m.ChildText(NSModerate, "reason"); text != "" {
		reason = stanza.New(NSRetract, "reason").AddText(text)
	}
	retract := stanza.New(NSRetract, "retract", "id", id).Add(moderated)
	if reason != nil {
		retract.Add(reason)
	}
	tomb := r.tombstone(orig, moderated, reason)
	if i >= 0 {
		r.history.replace(i, tomb)
	}
	r.archiveReplace(id, tomb)

	msg := stanza.New(NSClient, "message", "from", r.jid, "type", "groupchat", "id", r.svc.newID()).Add(retract)
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

// findMessage finds a message of this room by its room-assigned stanza id:
// in the recent history (i is its index), or else in the archive (i is -1).
//
// The archive is read under the room lock: moderation is rare, and the
// read is bounded by storeTimeout, as every durable write of the room is.
// With flush, when the store lacks the message, the archive queue is
// flushed and the store asked again: a message that has just left a short
// history may still be queued. The flush makes the room wait for other
// rooms' writes, so it is not done for messages the store already has.
func (r *Room) findMessage(id string, flush bool) (msg *stanza.Element, i int, e *stanzaError) {
	notFound := errItemNotFound.withText("No such message in this room")
	if id == "" {
		return nil, -1, notFound
	}
	if i := r.historyIndex(id); i >= 0 {
		return r.history.entries[i].msg, i, nil
	}
	if !r.archives() {
		return nil, -1, notFound
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	m, err := r.svc.store.Get(ctx, r.jid, id)
	if err == nil && m == nil && flush && r.svc.archiver != nil {
		r.svc.archiver.sync()
		m, err = r.svc.store.Get(ctx, r.jid, id)
	}
	if err != nil {
		if r.svc.onStoreError != nil {
			r.svc.onStoreError(err)
		}
		return nil, -1, newError(errWait, "internal-server-error").withText("The archive could not be read")
	}
	if m == nil {
		return nil, -1, notFound
	}
	msg, err = stanza.Parse(string(m.Stanza))
	if err != nil {
		return nil, -1, notFound
	}
	return msg, -1, nil
}

// authorRetraction checks a groupchat retraction by its author (XEP-0424):
// only the author of a message may retract it, and history and archive
// keep a tombstone in its place.
func (r *Room) authorRetraction(o *Occupant, req *request, rt *stanza.Element) *stanzaError {
	// No flush of the archive queue for an occupant's retraction: any
	// occupant may send them, and a flush makes the room wait for other
	// rooms' writes.
	orig, i, e := r.findMessage(rt.Attr("id"), false)
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
