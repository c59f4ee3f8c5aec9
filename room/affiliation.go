package room

import (
	"chorus/affiliations"
	"chorus/stanza"
)

// affChange is one affiliation change, checked before any is applied.
type affChange struct {
	target string // bare JID (or a domain)
	aff    affiliations.Affiliation
	reason string
	nick   string // reserved nick to record, if given
	keep   bool   // keep the reserved nick and reason already on record
}

// checkAffiliation decides whether actor (a bare or full JID) may make
// change c (XEP-0045 §5.2.1); actor "" is the room itself (registration,
// invitations).
func (r *Room) checkAffiliation(actor string, c affChange) *stanzaError {
	if actor == "" {
		return nil
	}
	if r.svc.isAdmin(c.target) && c.aff != affiliations.Owner {
		// Service admins own every room whatever is recorded: accepting
		// the change would report a success that does nothing.
		return errNotAllowed.withText("Service administrators own every room; their affiliation cannot be changed")
	}
	actorAff := r.affiliation(actor)
	// The effective affiliation: a service admin is an owner whatever the
	// room recorded, and an admin may not touch owners.
	if !affiliations.MaySetAffiliation(actorAff, r.affiliation(c.target), c.aff) {
		return errNotAllowed.withText("You may not make that affiliation change")
	}
	if r.affs[c.target].aff == affiliations.Owner && c.aff != affiliations.Owner && r.lastOwner(c.target) {
		// XEP-0045 §10.6: a room always has an owner.
		return errConflict.withText("The room must keep at least one owner")
	}
	return nil
}

func (r *Room) lastOwner(bare string) bool {
	for j, rec := range r.affs {
		if rec.aff == affiliations.Owner && j != bare {
			return false
		}
	}
	return true
}

// setAffiliation applies c: records it, updates the roles of the target's
// occupants and tells the room (XEP-0045 §9-10). actor is the full JID of
// who asked, or "" for the room itself.
func (r *Room) setAffiliation(actor string, c affChange) {
	if c.nick != "" {
		if o := r.occupantByNick(c.nick); o != nil && o.Bare != c.target {
			// The nick now belongs to someone else (as Prosody does).
			r.remove(o, statusChange{codes: []string{statusKicked}, reason: "This nickname is reserved"})
		}
	}
	prev := r.affs[c.target]
	r.affChanged(c.target)
	if c.aff == affiliations.None {
		// Unaffiliated users have nothing on record (XEP-0045 §9.2).
		delete(r.affs, c.target)
	} else {
		rec := affRecord{aff: c.aff, reason: c.reason, nick: c.nick}
		if c.keep {
			if rec.reason == "" {
				rec.reason = prev.reason
			}
			if rec.nick == "" {
				rec.nick = prev.nick
			}
		}
		r.affs[c.target] = rec
	}

	aff := r.affiliation(c.target)
	role := r.defaultRole(aff)
	var codes []string
	if role == affiliations.RoleNone {
		if aff == affiliations.Outcast {
			codes = []string{statusBanned}
		} else {
			codes = []string{statusAffRemoved}
		}
	}
	var touched []*Occupant
	for _, o := range r.occupants {
		if o.Bare == c.target || (aff == affiliations.Outcast && domainOf(o.Bare) == c.target) {
			touched = append(touched, o)
		}
	}
	for _, o := range touched {
		change := statusChange{codes: codes, actor: actor, reason: c.reason, prevRole: o.Role}
		if role == affiliations.RoleNone {
			r.remove(o, change)
			continue
		}
		if o.Role != role && (aff < prev.aff || o.Role < role) {
			o.Role = role
		}
		r.publish(o, change)
	}
	if len(touched) > 0 {
		return
	}
	// XEP-0045 §9.4 example: the room is told about changes to users who
	// are not in it; in a semi-anonymous room only moderators, who may see
	// real JIDs.
	x := stanza.New(NSMUCUser, "x")
	for _, code := range codes {
		x.Add(statusEl(code))
	}
	it := stanza.New(NSMUCUser, "item", "affiliation", c.aff.String(), "jid", c.target)
	if c.reason != "" {
		it.Add(stanza.New(NSMUCUser, "reason").AddText(c.reason))
	}
	x.Add(it)
	to := r.allSessions(func(o *Occupant) bool {
		return r.cfg.Whois == WhoisAnyone || o.Role == affiliations.Moderator
	})
	r.sendTo(to, stanza.New(NSClient, "message", "from", r.jid, "id", r.svc.newID()).Add(x))
}
