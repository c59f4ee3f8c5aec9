package room

import (
	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

// messageToRoom handles messages to the bare room JID.
func (r *Room) messageToRoom(req *request) {
	switch req.typ {
	case "groupchat":
		r.groupchat(req)
	case "error":
		if isKickableError(req.st) {
			r.kickForError(req)
		}
	case "", "normal":
		if x := req.st.Child(NSMUCUser, "x"); x != nil {
			r.userExtension(req, x)
			return
		}
		if x := req.st.Child(forms.NS, "x"); x != nil {
			if f, err := forms.Parse(x); err == nil && f.FormType() == forms.Request {
				r.handleRequestForm(req, f)
				return
			}
		}
		r.replyError(req, errBadRequest.withText("Messages to the room must be of type groupchat"))
	default:
		r.replyError(req, errBadRequest.withText("Messages to the room must be of type groupchat"))
	}
}

// groupchat broadcasts an occupant's message to the room (XEP-0045 §7.4).
func (r *Room) groupchat(req *request) {
	o := r.occupantBySession(req.from)
	switch {
	case o == nil:
		r.replyError(req, errNotAcceptable.withText("You are not currently connected to this chat"))
		return
	case o.Role < affiliations.Participant:
		// XEP-0045 §7.4: visitors in moderated rooms may not speak.
		r.replyError(req, errForbidden.withText("You do not currently have permission to speak in this chat"))
		return
	case !r.allowMessage(o.Bare):
		r.replyError(req, errTooFast.withText("You are sending messages too fast"))
		return
	}
	if e := r.checkLengths(req.st.ChildText(NSClient, "body"), req.st.ChildText(NSClient, "subject")); e != nil {
		r.replyError(req, e)
		return
	}
	if e := r.slowModeRefusal(o, req.st.ChildText(NSClient, "body") != ""); e != nil {
		r.replyError(req, e)
		return
	}
	if s := req.st.Child(NSClient, "subject"); s != nil &&
		req.st.Child(NSClient, "body") == nil && req.st.Child(NSClient, "thread") == nil {
		r.changeSubject(o, req, s.Text())
		return
	}
	if rt := req.st.Child(NSRetract, "retract"); rt != nil {
		if e := r.authorRetraction(o, req, rt); e != nil {
			r.replyError(req, e)
			return
		}
	}
	msg := req.st.ShallowCopy()
	msg.SetAttr("from", r.occupantJID(o.Nick))
	msg.SetAttr("to", "")
	if msg.Attr("id") == "" {
		msg.SetAttr("id", r.svc.newID())
	}
	// Delays claiming to be from this room are forgeries.
	msg.RemoveChildren(func(e *stanza.Element) bool {
		return e.Is(NSDelay, "delay") && e.Attr("from") == r.jid
	})
	r.decorateMessage(o, msg)
	r.broadcastMessage(msg)
}

// decorateMessage adds what features put in every occupant message.
func (r *Room) decorateMessage(o *Occupant, msg *stanza.Element) {
	for _, f := range features {
		if f.decorateMessage != nil {
			f.decorateMessage(r, o, msg)
		}
	}
}

// broadcastMessage sends a groupchat message to every occupant and keeps it
// in the history.
func (r *Room) broadcastMessage(msg *stanza.Element) {
	r.addHistory(msg)
	r.sendTo(r.allSessions(nil), msg)
}

// messageToOccupant handles private messages (XEP-0045 §7.5).
func (r *Room) messageToOccupant(req *request) {
	from := r.occupantBySession(req.from)
	switch {
	case from == nil:
		if req.typ != "error" {
			r.replyError(req, errNotAcceptable.withText("You are not currently connected to this chat"))
		}
		return
	case req.typ == "groupchat":
		r.replyError(req, errBadRequest.withText("Private messages cannot be of type groupchat"))
		return
	case req.typ == "error":
		if isKickableError(req.st) {
			r.kickForError(req)
		}
		return
	}
	if !r.mayPM(from) {
		r.replyError(req, errForbidden.withText("Private messages are not allowed in this room"))
		return
	}
	if !r.allowMessage(from.Bare) {
		r.replyError(req, errTooFast.withText("You are sending messages too fast"))
		return
	}
	if e := r.checkLengths(req.st.ChildText(NSClient, "body"), ""); e != nil {
		r.replyError(req, e)
		return
	}
	to := r.occupantByNick(req.nick)
	if to == nil {
		r.replyError(req, errItemNotFound.withText("Recipient not in room"))
		return
	}
	msg := stripMUC(req.st)
	msg.SetAttr("from", r.occupantJID(from.Nick))
	msg.Add(stanza.New(NSMUCUser, "x"))
	for _, f := range features {
		if f.decoratePrivate != nil {
			f.decoratePrivate(r, from, msg)
		}
	}
	r.sendTo(to.Sessions(), msg)
}

// isKickableError reports whether an error bounced by an occupant's client
// means the occupant is gone (as Prosody judges it).
func isKickableError(st *stanza.Element) bool {
	switch stanza.ErrorOf(st).Condition {
	case "", "gone", "internal-server-error", "item-not-found", "jid-malformed",
		"recipient-unavailable", "redirect", "remote-server-not-found",
		"remote-server-timeout", "service-unavailable":
		return true
	}
	return false
}
