package affiliations

import "fmt"

// Affiliation is a user's long-lived standing in a room (XEP-0045 §5.2).
// The zero value is None; the order of the constants is the rank.
type Affiliation int8

// Affiliations, lowest rank first.
const (
	Outcast Affiliation = iota - 1
	None
	Member
	Admin
	Owner
)

var affNames = [...]string{"outcast", "none", "member", "admin", "owner"}

func (a Affiliation) String() string {
	if a < Outcast || a > Owner {
		return fmt.Sprintf("Affiliation(%d)", int8(a))
	}
	return affNames[a+1]
}

// ParseAffiliation parses the XEP-0045 name of an affiliation.
func ParseAffiliation(s string) (Affiliation, bool) {
	for i, n := range affNames {
		if n == s {
			return Affiliation(i - 1), true
		}
	}
	return None, false
}

// Role is an occupant's standing for the length of its visit (XEP-0045 §5.1).
// The zero value is RoleNone (not in the room); the order is the rank.
type Role int8

// Roles, lowest rank first.
const (
	RoleNone Role = iota
	Visitor
	Participant
	Moderator
)

var roleNames = [...]string{"none", "visitor", "participant", "moderator"}

func (r Role) String() string {
	if r < RoleNone || r > Moderator {
		return fmt.Sprintf("Role(%d)", int8(r))
	}
	return roleNames[r]
}

// ParseRole parses the XEP-0045 name of a role.
func ParseRole(s string) (Role, bool) {
	for i, n := range roleNames {
		if n == s {
			return Role(i), true
		}
	}
	return RoleNone, false
}
