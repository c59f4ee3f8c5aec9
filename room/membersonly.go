package room

import (
	"chorus/affiliations"
	"chorus/forms"
)

var membersOnlyFeature = feature{
	name: "members-only",
	// XEP-0045 §7.2.6: only members (and above) may enter.
	preJoin: func(r *Room, j *joinAttempt) *stanzaError {
		if r.cfg.MembersOnly && j.aff < affiliations.Member && !j.newRoom {
			return newError(errAuth, "registration-required").withText("This room is only open to members")
		}
		return nil
	},
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigMembersOnly, Type: forms.Boolean,
				Label: "Only allow members to join", Values: []string{forms.Bool(c.MembersOnly)}}
		},
		parse: boolParser(func(c *Config) *bool { return &c.MembersOnly }),
	}},
	configChanged: func(r *Room, c *configChange) {
		if r.cfg.MembersOnly && !c.prev.MembersOnly {
			r.removeNonMembers(c.actor)
		}
	},
	// XEP-0045 §9.3: in a members-only room only members (and above) may
	// invite...
	preInvite: func(r *Room, inv *invitation) *stanzaError {
		if r.cfg.MembersOnly && inv.aff < affiliations.Member {
			return errForbidden.withText("Only members may invite people to this room")
		}
		return nil
	},
	// ...and an invitation makes the invitee a member, or it would be
	// useless. The reason names the inviter by nick: the member list may
	// be readable by occupants who must not learn real JIDs.
	invite: func(r *Room, inv *invitation) {
		if !r.cfg.MembersOnly || r.affiliation(inv.to) >= affiliations.Member {
			return
		}
		reason := "Invited"
		if o := r.occupantBySession(inv.req.from); o != nil {
			reason = "Invited by " + o.Nick
		}
		r.setAffiliation("", affChange{target: bareOf(inv.to), aff: affiliations.Member, reason: reason})
	},
	disco: func(r *Room) []string {
		if r.cfg.MembersOnly {
			return []string{"muc_membersonly"}
		}
		return []string{"muc_open"}
	},
}

// removeNonMembers applies a switch to members-only: occupants without
// membership leave with status 322 (XEP-0045 §9.3).
func (r *Room) removeNonMembers(actor string) {
	var gone []*Occupant
	for _, o := range r.occupants {
		if r.affiliation(o.Bare) < affiliations.Member {
			gone = append(gone, o)
		}
	}
	for _, o := range gone {
		r.remove(o, statusChange{codes: []string{statusMembersOnly}})
	}
}
