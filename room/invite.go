package room

import (
	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

// NSConference is XEP-0249's direct invitation payload, which Chorus adds
// to mediated invitations for clients that only know that form.
const NSConference = "jabber:x:conference"

var inviteFeature = feature{
	name: "invite",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigAllowInvites, Type: forms.Boolean,
				Label: "Allow occupants to invite others", Values: []string{forms.Bool(!c.NoInvites)}}
		},
		parse: func(c *Config, f *forms.Field) error {
			b, err := forms.ParseBool(f.Value())
			if err != nil {
				return errNotAcceptable.withText("Field " + f.Var + " must be a boolean")
			}
			c.NoInvites = !b
			return nil
		},
	}},
	roomInfo: func(r *Room) []forms.Field {
		return []forms.Field{{Var: forms.ConfigAllowInvites, Type: forms.Boolean, Values: []string{forms.Bool(!r.cfg.NoInvites)}}}
	},
}

// userExtension handles muc#user payloads in normal messages to the room:
// mediated invitations and declines (XEP-0045 §7.8). Only the first
// invitation or decline of a stanza counts, as in Prosody: one stanza
// must not make the room send many.
func (r *Room) userExtension(req *request, x *stanza.Element) {
	for _, c := range x.Children() {
		switch {
		case c.Is(NSMUCUser, "invite"):
			r.invite(req, c)
			return
		case c.Is(NSMUCUser, "decline"):
			r.decline(req, c)
			return
		}
	}
	r.replyError(req, errBadRequest.withText("Expected an invitation or a decline"))
}

// mayInvite: occupants with a voice may invite; where invitations are
// restricted, and in members-only rooms, only admins and owners (XEP-0045
// §7.8.2, §9.3 and muc#roomconfig_allowinvites). Someone who is neither in
// the room nor affiliated with it may not: Prosody lets such outsiders
// invite into open rooms, which makes any open room a relay for spam.
func (r *Room) mayInvite(req *request) *stanzaError {
	aff := r.affiliation(req.bare)
	role := r.defaultRole(aff)
	o := r.occupantBySession(req.from)
	if o == nil {
		o = r.occupantByBare(req.bare)
	}
	if o != nil {
		role = o.Role
	}
	switch {
	case o == nil && aff == affiliations.None:
		return errForbidden.withText("Only occupants and affiliated users may invite people to this room")
	case role <= affiliations.Visitor && aff < affiliations.Admin:
		return errForbidden.withText("You may not invite people to this room")
	case r.cfg.NoInvites && aff < affiliations.Admin:
		return errForbidden.withText("Only admins may invite people to this room")
	case r.cfg.MembersOnly && aff < affiliations.Member:
		return errForbidden.withText("Only members may invite people to this room")
	}
	return nil
}

func (r *Room) invite(req *request, inv *stanza.Element) {
	j, ok := parseJID(inv.Attr("to"))
	if !ok {
		r.replyError(req, errJIDMalformed.withText("Invalid invitee address"))
		return
	}
	to := j.String()
	if err := r.mayInvite(req); err != nil {
		r.replyError(req, err)
		return
	}
	// Invitations cost message tokens: each is a message the room sends
	// on the sender's behalf.
	if !r.allowMessage(req.bare) {
		r.replyError(req, errTooFast.withText("You are sending invitations too fast"))
		return
	}
	if r.affiliation(to) == affiliations.Outcast {
		// A banned user could not enter anyway; relaying would only let
		// occupants message them through the room.
		r.replyError(req, errNotAllowed.withText("That user is banned from this room"))
		return
	}
	reason := inv.ChildText(NSMUCUser, "reason")
	if r.cfg.MembersOnly && r.affiliation(to) < affiliations.Member {
		// XEP-0045 §9.3: inviting into a members-only room makes the
		// invitee a member, or the invitation would be useless.
		// The reason names the inviter by nick: the member list may be
		// readable by occupants who must not learn real JIDs.
		reason := "Invited"
		if o := r.occupantBySession(req.from); o != nil {
			reason = "Invited by " + o.Nick
		}
		r.setAffiliation("", affChange{target: bareOf(to), aff: affiliations.Member, reason: reason})
	}
	r.send(to, r.invitation(req, to, reason))
}

// invitation builds what the invitee receives: the muc#user invite, an
// XEP-0249 payload and a body for clients that understand neither.
func (r *Room) invitation(req *request, to, reason string) *stanza.Element {
	from := req.from
	if o := r.occupantBySession(req.from); o != nil && r.cfg.Whois != WhoisAnyone &&
		r.defaultRole(r.affiliation(to)) != affiliations.Moderator {
		// Semi-anonymous: the invitee learns the inviter's nick only.
		from = r.occupantJID(o.Nick)
	}
	msg := stripMUC(req.st)
	msg.SetAttr("from", r.jid)
	msg.SetAttr("to", "")
	x := userX(stanza.New(NSMUCUser, "invite", "from", from).Add(stanza.New(NSMUCUser, "reason").AddText(reason)))
	if r.cfg.Password != "" {
		x.Add(stanza.New(NSMUCUser, "password").AddText(r.cfg.Password))
	}
	msg.Add(x, stanza.New(NSConference, "x", "jid", r.jid).AddText(reason))
	if msg.Child(NSClient, "body") == nil {
		text := from + " invited you to the room " + r.jid
		if reason != "" {
			text += " (" + reason + ")"
		}
		msg.Add(stanza.New(NSClient, "body").AddText(text))
	}
	return msg
}

// decline passes an invitee's refusal back to the inviter.
func (r *Room) decline(req *request, d *stanza.Element) {
	to, ok := parseJID(d.Attr("to"))
	if !ok {
		r.replyError(req, errJIDMalformed.withText("Invalid address to decline to"))
		return
	}
	reason := d.ChildText(NSMUCUser, "reason")
	msg := stripMUC(req.st)
	msg.SetAttr("from", r.jid)
	msg.SetAttr("to", "")
	msg.Add(userX(stanza.New(NSMUCUser, "decline", "from", req.bare).Add(stanza.New(NSMUCUser, "reason").AddText(reason))))
	if msg.Child(NSClient, "body") == nil {
		text := req.bare + " declined your invitation to the room " + r.jid
		if reason != "" {
			text += " (" + reason + ")"
		}
		msg.Add(stanza.New(NSClient, "body").AddText(text))
	}
	if to.Bare().String() == r.jid {
		if o := r.occupantByNick(to.Resourcepart()); o != nil {
			r.sendTo(o.Sessions(), msg)
		}
		return
	}
	r.send(to.String(), msg)
}

// stripMUC copies a message without its MUC payloads and without any
// occupant id the sender put there: only the room issues those (XEP-0421
// §4).
func stripMUC(st *stanza.Element) *stanza.Element {
	m := st.ShallowCopy()
	m.RemoveChildren(func(e *stanza.Element) bool {
		return e.Space == NSMUC || e.Space == NSMUCUser || e.Is(NSOccupantID, "occupant-id")
	})
	return m
}
