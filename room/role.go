package room

import "chorus/affiliations"

// roleChange is one role change by a moderator (XEP-0045 §8-9).
type roleChange struct {
	target *Occupant
	role   affiliations.Role
	reason string
}

func (r *Room) checkRole(actorFull string, c roleChange) *stanzaError {
	actor := r.occupantBySession(actorFull)
	if actor == nil {
		return errNotAllowed.withText("You are not in the room")
	}
	if !affiliations.MaySetRole(r.affiliation(actor.Bare), actor.Role, r.affiliation(c.target.Bare), c.target.Role, c.role) {
		return errNotAllowed.withText("You may not make that role change")
	}
	return nil
}

// setRole applies a role change; RoleNone kicks (status 307).
func (r *Room) setRole(actor string, c roleChange) {
	o := c.target
	if r.occupantByNick(o.Nick) != o {
		return // an earlier item of the same request removed it
	}
	var codes []string
	if c.role == affiliations.RoleNone {
		codes = []string{statusKicked}
	}
	change := statusChange{codes: codes, actor: actor, reason: c.reason}
	if c.role == affiliations.RoleNone {
		r.remove(o, change)
		return
	}
	change.prevRole = o.Role
	o.Role = c.role
	r.publish(o, change)
}
