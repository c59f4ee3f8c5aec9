package affiliations

// RoomKind carries the room settings that the default role depends on.
type RoomKind struct {
	MembersOnly bool
	Moderated   bool
}

// DefaultRole is the role an occupant with affiliation a gets on entering
// (XEP-0045 §5.1.2 and §7.2): owners and admins moderate; in a moderated
// room unaffiliated users are visitors; in a members-only room they cannot
// enter at all (RoleNone), nor can outcasts anywhere.
func DefaultRole(a Affiliation, k RoomKind) Role {
	switch a {
	case Owner, Admin:
		return Moderator
	case Member:
		return Participant
	case None:
		if k.MembersOnly {
			return RoleNone
		}
		if k.Moderated {
			return Visitor
		}
		return Participant
	}
	return RoleNone
}

// MaySetAffiliation reports whether an actor with affiliation actor may
// change a target's affiliation from cur to next (XEP-0045 §5.2.1 and
// §9-10): owners may make any change; admins may only move users who are
// neither owners nor admins between none, member and outcast.
// Keeping at least one owner is the room's business, not this table's.
func MaySetAffiliation(actor, cur, next Affiliation) bool {
	switch actor {
	case Owner:
		return true
	case Admin:
		return cur < Admin && next < Admin
	}
	return false
}

// MaySetRole reports whether an occupant (actorAff, actorRole) may change
// the role of an occupant (targetAff, targetRole) to next (XEP-0045 §5.1.2,
// §8 and §9): only moderators change roles; nobody acts on a higher
// affiliation; granting or revoking moderator takes an admin or owner; and
// an admin or owner cannot be kicked or silenced (their role follows from
// their affiliation).
func MaySetRole(actorAff Affiliation, actorRole Role, targetAff Affiliation, targetRole, next Role) bool {
	if actorRole != Moderator {
		return false
	}
	if actorAff < targetAff {
		return false
	}
	if (targetRole == Moderator || next == Moderator) && actorAff < Admin {
		return false
	}
	if targetAff >= Admin && next < Moderator {
		return false
	}
	return true
}

// MayListAffiliation reports whether a user with affiliation actor may
// retrieve the list of users with affiliation list (XEP-0045 §8.5, §9.5,
// §10.5, §10.8 leave the rule to the service). It is Prosody's rule
// (muc.lib.lua, room_mt:handle_admin_query_get_command): an admin or owner
// may get the lists of its own rank and below, so owners every list and
// admins all but the owners'; and in a room that is both members-only and
// non-anonymous (whois anyone), where members already see each other's
// real JIDs, members and above may get every list. Roles play no part.
func MayListAffiliation(actor, list Affiliation, membersOnlyNonAnonymous bool) bool {
	return (actor >= Admin && actor >= list) || (membersOnlyNonAnonymous && actor >= Member)
}
