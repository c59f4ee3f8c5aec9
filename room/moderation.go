package room

import (
	"chorus/affiliations"
	"chorus/internal/xmlel"
)

// Namespaces of message moderation (XEP-0425) and retraction (XEP-0424).
const (
	NSModerate = "urn:xmpp:message-moderate:1"
	NSRetract  = "urn:xmpp:message-retract:1"
)

var moderationFeature = feature{
	name:  "moderation",
	disco: func(r *Room) []string { return []string{NSModerate} },
}

// moderate handles a moderator's request to retract someone's message
// (XEP-0425 §4): the room broadcasts a retraction naming the moderator and
// the author's occupant id, and the history keeps only a tombstone.
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
	i := r.historyIndex(id)
	if id == "" || i < 0 {
		r.replyError(req, errItemNotFound.withText("No such message in this room"))
		return
	}
	orig := r.history.entries[i].msg
	reason := m.ChildText(NSModerate, "reason")

	moderated := xmlel.New(NSModerate, "moderated", "by", r.occupantJID(mod.Nick))
	if oid := orig.Child(NSOccupantID, "occupant-id"); oid != nil {
		moderated.Add(oid.Clone())
	}
	retract := xmlel.New(NSRetract, "retract", "id", id).Add(moderated)
	if reason != "" {
		retract.Add(xmlel.New(NSRetract, "reason").AddText(reason))
	}
	// The tombstone replaces the message for later joiners (XEP-0424 §5).
	tomb := xmlel.New(NSClient, "message", "from", orig.Attr("from"), "type", "groupchat", "id", orig.Attr("id")).
		Add(xmlel.New(NSRetract, "retracted", "stamp", r.svc.now().UTC().Format("2006-01-02T15:04:05Z")).Add(moderated.Clone()))
	for _, c := range orig.Children() {
		if c.Is(NSStanzaID, "stanza-id") || c.Is(NSOccupantID, "occupant-id") {
			tomb.Add(c)
		}
	}
	r.history.replace(i, tomb)
	r.archiveReplace(id, tomb)

	msg := xmlel.New(NSClient, "message", "from", r.jid, "type", "groupchat", "id", r.svc.newID()).Add(retract)
	msg.Add(xmlel.New(NSStanzaID, "stanza-id", "id", r.svc.newID(), "by", r.jid))
	r.send(req.from, iqResult(req.st))
	r.sendTo(r.allSessions(nil), msg)
}

// authorRetraction checks a groupchat retraction by its author (XEP-0424):
// only the author of a message may retract it, and history drops it.
func (r *Room) authorRetraction(o *Occupant, req *request, rt *xmlel.Element) *stanzaError {
	i := r.historyIndex(rt.Attr("id"))
	if i < 0 {
		return nil // not in recent history: let it through; clients check authorship themselves
	}
	orig := r.history.entries[i].msg
	if oid := orig.Child(NSOccupantID, "occupant-id"); oid == nil || oid.Attr("id") != r.occupantID(o.Bare) {
		return errForbidden.withText("Only the author may retract a message")
	}
	r.history.remove(i)
	tomb := xmlel.New(NSClient, "message", "from", orig.Attr("from"), "type", "groupchat", "id", orig.Attr("id")).
		Add(xmlel.New(NSRetract, "retracted", "stamp", r.svc.now().UTC().Format("2006-01-02T15:04:05Z")))
	for _, c := range orig.Children() {
		if c.Is(NSStanzaID, "stanza-id") || c.Is(NSOccupantID, "occupant-id") {
			tomb.Add(c)
		}
	}
	r.archiveReplace(rt.Attr("id"), tomb)
	return nil
}

// historyIndex finds a history entry by its room-assigned stanza id.
func (r *Room) historyIndex(id string) int {
	if id == "" {
		return -1
	}
	for i, e := range r.history.entries {
		if r.stanzaIDOf(e.msg) == id {
			return i
		}
	}
	return -1
}
