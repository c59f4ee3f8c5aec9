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

// invitation is a mediated invitation (XEP-0045 §7.8.2) as features see
// it.
type invitation struct {
	req *request
	// inviter is the sender's occupant, by this session or another of
	// the same user; nil when the sender is not in the room. Hooks that
	// name the inviter to others look at the sending session only.
	inviter *Occupant
	aff     affiliations.Affiliation
	to      string // the invitee
	reason  string
	// el is the <invite/> the invitee receives; its 'from' is the inviter
	// as the invitee sees it. x is the muc#user payload holding it.
	el, x *stanza.Element
}

// mayInvite: occupants with a voice may invite; where invitations are
// restricted, only admins and owners (XEP-0045 §7.8.2 and
// muc#roomconfig_allowinvites); then the features' preInvite hooks.
// Someone who is neither in the room nor affiliated with it may not:
// Prosody lets such outsiders invite into open rooms, which makes any open
// room a relay for spam.
func (r *Room) mayInvite(inv *invitation) *stanzaError {
	role := r.defaultRole(inv.aff)
	if inv.inviter != nil {
		role = inv.inviter.Role
	}
	switch {
	case inv.inviter == nil && inv.aff == affiliations.None:
		return errForbidden.withText("Only occupants and affiliated users may invite people to this room")
	case role <= affiliations.Visitor && inv.aff < affiliations.Admin:
		return errForbidden.withText("You may not invite people to this room")
	case r.cfg.NoInvites && inv.aff < affiliations.Admin:
		return errForbidden.withText("Only admins may invite people to this room")
	}
	for _, f := range features {
		if f.preInvite == nil {
			continue
		}
		if e := f.preInvite(r, inv); e != nil {
			return e
		}
	}
	return nil
}

func (r *Room) invite(req *request, el *stanza.Element) {
	j, ok := parseJID(el.Attr("to"))
	if !ok {
		r.replyError(req, errJIDMalformed.withText("Invalid invitee address"))
		return
	}
	inv := &invitation{req: req, inviter: r.occupantBySession(req.from), aff: r.affiliation(req.bare), to: j.String()}
	if inv.inviter == nil {
		inv.inviter = r.occupantByBare(req.bare)
	}
	if err := r.mayInvite(inv); err != nil {
		r.replyError(req, err)
		return
	}
	// Invitations cost message tokens: each is a message the room sends
	// on the sender's behalf.
	if !r.allowMessage(req.bare) {
		r.replyError(req, errTooFast.withText("You are sending invitations too fast"))
		return
	}
	if r.affiliation(inv.to) == affiliations.Outcast {
		// A banned user could not enter anyway; relaying would only let
		// occupants message them through the room.
		r.replyError(req, errNotAllowed.withText("That user is banned from this room"))
		return
	}
	inv.reason = el.ChildText(NSMUCUser, "reason")
	inv.el = stanza.New(NSMUCUser, "invite", "from", req.from).Add(stanza.New(NSMUCUser, "reason").AddText(inv.reason))
	inv.x = userX(inv.el)
	for _, f := range features {
		if f.invite != nil {
			f.invite(r, inv)
		}
	}
	r.send(inv.to, r.invitation(inv))
}

// invitation builds what the invitee receives: the muc#user invite, an
// XEP-0249 payload and a body for clients that understand neither.
func (r *Room) invitation(inv *invitation) *stanza.Element {
	msg := stripMUC(inv.req.st)
	msg.SetAttr("from", r.jid)
	msg.SetAttr("to", "")
	msg.Add(inv.x, stanza.New(NSConference, "x", "jid", r.jid).AddText(inv.reason))
	if msg.Child(NSClient, "body") == nil {
		text := inv.el.Attr("from") + " invited you to the room " + r.jid
		if inv.reason != "" {
			text += " (" + inv.reason + ")"
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
