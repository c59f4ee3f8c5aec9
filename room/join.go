package room

import (
	"strings"

	"chorus/affiliations"
	"chorus/stanza"
)

// joinAttempt is what entry checks look at.
type joinAttempt struct {
	req      *request
	nick     string
	aff      affiliations.Affiliation
	muc      *stanza.Element // the <x xmlns='http://jabber.org/protocol/muc'/> payload
	existing *Occupant       // occupant already holding the nick, if any
	newRoom  bool
	o        *Occupant // in a nick change, the occupant changing its nick
}

// presenceToRoom handles presence sent to the bare room JID. Some clients
// send presence updates there; an occupant's goes to its nick
// (as Prosody does). A join needs a nick (XEP-0045 §7.2.1).
func (r *Room) presenceToRoom(req *request) {
	if o := r.occupantBySession(req.from); o != nil {
		req.nick = o.Nick
		req.to = r.occupantJID(o.Nick)
		r.presenceToOccupant(req)
		return
	}
	if req.typ == "" {
		r.replyError(req, errJIDMalformed.withText("A nickname is required to enter the room"))
	}
}

// presenceToOccupant handles presence sent to room@service/nick.
func (r *Room) presenceToOccupant(req *request) {
	switch req.typ {
	case "error":
		r.kickForError(req)
	case "", "unavailable", "probe":
		r.normalPresence(req)
	case "visible", "invisible":
		// Legacy XEP-0018 presences some servers forward: nothing to do.
	default:
		r.replyError(req, errBadRequest.withText("Unexpected presence type"))
	}
}

func (r *Room) normalPresence(req *request) {
	orig := r.occupantBySession(req.from)
	muc := req.st.Child(NSMUC, "x")
	switch {
	case req.typ == "unavailable":
		delete(r.deferred, req.from)
		if orig != nil {
			r.leave(orig, req)
		}
	case req.typ == "probe":
		r.answerProbe(orig, req)
	case orig == nil && muc == nil:
		// An available presence from a non-occupant without the MUC
		// payload is a client that thinks it is still in the room.
		r.replyError(req, errItemNotFound.withText("You are not currently connected to this chat"))
	case orig == nil:
		r.join(req, muc)
	case r.deferred[req.from] != nil || !r.allowPresence(orig.Bare):
		// Over the rate, or behind an update that was: the latest update
		// waits for a token (flood.go).
		r.deferPresence(orig, req)
	case orig.Nick == req.nick:
		// Only the very same nick is an update; a nick that compares equal
		// but looks different is a change of how it is shown.
		r.updatePresence(orig, req, muc != nil)
	default:
		r.changeNick(orig, req)
	}
}

// join enters a session into the room, creating the room on first join.
func (r *Room) join(req *request, muc *stanza.Element) {
	// A user with a reserved nick may have to enter under it (status 210
	// below), as with Prosody's enforce_registered_nickname.
	nick := r.enforcedNick(req.bare, req.nick)
	ja := &joinAttempt{
		req:      req,
		nick:     nick,
		aff:      r.affiliation(req.bare),
		muc:      muc,
		existing: r.occupantByNick(nick),
		newRoom:  !r.created,
	}
	if ja.newRoom {
		// XEP-0045 §10.1.1: the creator is the room's owner.
		ja.aff = affiliations.Owner
		if e := r.refusal(ja, func(f *feature) joinCheck { return f.preCreate }); e != nil {
			r.replyError(req, e)
			return
		}
	}
	if !r.allowPresence(req.bare) {
		// Joins share the presence tokens: leaving and rejoining must not
		// flood the room, nor guess a password at will.
		r.replyError(req, errTooFast.withText("You are joining too fast; wait a moment"))
		return
	}
	if e := r.refusal(ja, func(f *feature) joinCheck { return f.preJoin }); e != nil {
		r.replyError(req, e)
		return
	}
	var selfCodes []string
	if ja.newRoom {
		r.create(ja)
		selfCodes = append(selfCodes, statusCreated)
	}
	for _, f := range features {
		if f.joinCodes != nil {
			selfCodes = append(selfCodes, f.joinCodes(r, ja)...)
		}
	}

	o := ja.existing
	if o == nil {
		// The nick is cut from the stanza's whole "to"; a copy of its own
		// lets that go.
		o = &Occupant{Nick: strings.Clone(ja.nick), Bare: req.bare, Role: r.defaultRole(ja.aff)}
		o.setSession(req.from, sanitizePresence(req.st))
		r.addOccupant(o)
	} else {
		// Another session of the same user under the same nick. Prosody
		// would make a second occupant for a nick that differs only in
		// case or width; here that would be two look-alike occupants, so
		// the session joins the occupant it matches, under the nick shown
		// so far, and is told the room changed its nick (below).
		o.setSession(req.from, sanitizePresence(req.st))
		r.byReal[req.from] = o
		r.audienceChanged()
	}
	if i := o.session(req.from); o.sessions[i].joined.IsZero() {
		o.sessions[i].joined = r.svc.now()
	}
	if o.Nick != req.nick {
		// XEP-0045 §7.2 (entering a room): a service that changes the
		// nick asked for MUST say so with status 210.
		selfCodes = append(selfCodes, statusNickAssigned)
	}
	r.sendOccupantList(req.from, o, o)
	r.sendOfflineMembers(req.from, o)
	r.publish(o, statusChange{selfCodes: selfCodes})
	r.sendAvatar(req.from)
	r.sendHistory(req.from, muc)
	r.sendSubject(req.from)
}

// create makes the room its first join asked for (XEP-0045 §10.1.1): the
// creator is its owner, and each feature sets up its part.
func (r *Room) create(j *joinAttempt) {
	r.created = true
	r.affs[j.req.bare] = affRecord{aff: affiliations.Owner}
	r.affChanged(j.req.bare)
	for _, f := range features {
		if f.created != nil {
			f.created(r, j)
		}
	}
}

// updatePresence handles a new presence from an occupant to its own nick.
// With the MUC payload it is a client resyncing: it gets the whole join.
func (r *Room) updatePresence(o *Occupant, req *request, resync bool) {
	o.setSession(req.from, sanitizePresence(req.st))
	if resync {
		r.sendOccupantList(req.from, o, o)
	}
	r.publish(o, statusChange{})
	if resync {
		r.sendHistory(req.from, req.st.Child(NSMUC, "x"))
		r.sendSubject(req.from)
	}
}

// leave handles an unavailable presence from one session of o.
func (r *Room) leave(o *Occupant, req *request) {
	base := sanitizePresence(req.st)
	if len(o.sessions) > 1 {
		// The user stays through other sessions: only this one is told it
		// left; the others see the occupant's presence from its primary.
		wasPrimary := o.sessions[0].jid == req.from
		r.send(req.from, r.sessionLeftPresence(o, req.from, base))
		o.removeSession(req.from)
		r.audienceChanged()
		delete(r.byReal, req.from)
		if wasPrimary {
			r.publish(o, statusChange{noSelf: true})
		}
		return
	}
	r.remove(o, statusChange{base: base})
}

// sessionLeftPresence is the unavailable self-presence for one session of
// a multi-session occupant.
func (r *Room) sessionLeftPresence(o *Occupant, full string, base *stanza.Element) *stanza.Element {
	p := base.ShallowCopy()
	p.SetAttr("from", r.occupantJID(o.Nick)).SetAttr("type", "unavailable")
	x := stanza.New(NSMUCUser, "x")
	x.Add(stanza.New(NSMUCUser, "item", "affiliation", r.affiliation(o.Bare).String(), "role", "none", "jid", full))
	x.Add(statusEl(statusSelf))
	r.decoratePresence(o, p)
	return p.Add(x)
}

// changeNick moves an occupant to a new nick, keeping its role (XEP-0045
// §7.6): unavailable with 303 and the new nick, then the presence under
// the new nick. An occupant present through several sessions moves whole:
// each session gets the pair with 110, everyone else sees one change.
// (Prosody instead splits the session that asked off into an occupant of
// its own; here one user is one occupant per nick, so the nick moves with
// all of its sessions.)
func (r *Room) changeNick(o *Occupant, req *request) {
	ja := &joinAttempt{req: req, nick: req.nick, aff: r.affiliation(req.bare), existing: r.occupantByNick(req.nick), o: o}
	if e := r.refusal(ja, func(f *feature) joinCheck { return f.preNickChange }); e != nil {
		r.replyError(req, e)
		return
	}
	r.publish(o, statusChange{codes: []string{statusNewNick}, newNick: req.nick})
	r.removeOccupant(o)
	o.Nick = strings.Clone(req.nick)
	o.setSession(req.from, sanitizePresence(req.st))
	r.addOccupant(o)
	r.publish(o, statusChange{})
}

// answerProbe answers a presence probe from an occupant with the probed
// occupant's current presence, as Prosody does (muc.lib.lua
// respond_to_probe). For an absent nick it answers only when the nick is
// reserved: with the user's unavailable presence, as the occupant list
// shows absent members; a nick nobody holds gets no answer.
func (r *Room) answerProbe(prober *Occupant, req *request) {
	if prober == nil {
		r.replyError(req, errNotAcceptable.withText("You are not currently connected to this chat"))
		return
	}
	target := r.occupantByNick(req.nick)
	if target == nil {
		if p := r.absentPresence(prober, req.nick); p != nil {
			r.send(req.from, p)
		}
		return
	}
	r.send(req.from, r.presenceOf(target, r.viewOf(prober, target), &statusChange{}, false))
}

// kickForError removes a session whose client bounced a stanza with an
// error: it is gone, or its server is (XEP-0045 §18.1 ghost users, 333).
func (r *Room) kickForError(req *request) {
	o := r.occupantBySession(req.from)
	if o == nil {
		return
	}
	e := stanza.ErrorOf(req.st)
	cond := string(e.Condition)
	if cond == "" {
		cond = "presence error"
	}
	msg := "Kicked: " + strings.ReplaceAll(cond, "-", " ")
	if text := e.Text; text != "" && r.cfg.Whois == WhoisAnyone {
		msg += ": " + text
	}
	base := stanza.New(NSClient, "presence").Add(stanza.New(NSClient, "status").AddText(msg))
	if len(o.sessions) > 1 {
		o.removeSession(req.from)
		r.audienceChanged()
		delete(r.byReal, req.from)
		r.publish(o, statusChange{noSelf: true})
		return
	}
	r.remove(o, statusChange{codes: []string{statusKickedForError}, base: base, noSelf: true})
}

// The entry checks that are not features of their own.

var banFeature = feature{name: "ban", preJoin: func(r *Room, j *joinAttempt) *stanzaError {
	// XEP-0045 §7.2.7: banned users are refused with forbidden.
	if j.aff == affiliations.Outcast {
		return errForbidden.withText("You are banned from this room")
	}
	return nil
}}

var nickConflictFeature = feature{
	name:          "nick-conflict",
	preJoin:       checkNickConflict,
	preNickChange: inOrder(checkNickConflict, checkOwnOtherNick),
}

// checkOwnOtherNick refuses a nick change to the nick of another occupant
// of the same user. The occupant's own nick under another case or width
// is only a new way to show it.
func checkOwnOtherNick(r *Room, j *joinAttempt) *stanzaError {
	if j.existing != nil && j.existing != j.o {
		return errConflict.withText("You are already in the room under that nickname")
	}
	return nil
}

// checkNickConflict: XEP-0045 §7.2.9, a nick in use by another user.
func checkNickConflict(r *Room, j *joinAttempt) *stanzaError {
	if j.existing != nil && j.existing.Bare != j.req.bare {
		return errConflict.withText("That nickname is already in use")
	}
	return nil
}
