package room

import (
	"chorus/affiliations"
	"chorus/forms"
)

// memberListFeature: muc#roomconfig_getmemberlist names the roles that may
// retrieve the member list besides admins and owners (XEP-0045 §15.5.3).
var memberListFeature = feature{
	name: "member-list",
	config: []configField{{
		field: func(c *Config) forms.Field {
			f := forms.Field{Var: forms.ConfigGetMemberList, Type: forms.ListMulti,
				Label: "Roles that may retrieve the member list", Values: c.GetMemberList.names()}
			for r := affiliations.Moderator; r >= affiliations.Visitor; r-- {
				f.Options = append(f.Options, forms.Option{Label: r.String(), Value: r.String()})
			}
			return f
		},
		parse: func(c *Config, f *forms.Field) error {
			var s roleSet
			for _, v := range f.Values {
				role, ok := affiliations.ParseRole(v)
				if !ok || role == affiliations.RoleNone {
					return errNotAcceptable.withText("Unknown role in " + f.Var)
				}
				s |= rolesOf(role)
			}
			c.GetMemberList = s
			return nil
		},
	}},
}

// mayGetMemberList reports whether an occupant's role lets it see the
// member list.
func (r *Room) mayGetMemberList(from string) bool {
	o := r.occupantBySession(from)
	return o != nil && r.cfg.GetMemberList.has(o.Role)
}
