package room

import (
	"chorus/affiliations"
	"chorus/forms"
)

// memberListFeature: muc#roomconfig_getmemberlist names the roles that may
// retrieve the member list besides admins and owners (XEP-0045 §15.5.3).
var memberListFeature = feature{
	name: "member-list",
	config: []configField{roleSetField(forms.ConfigGetMemberList, "Roles that may retrieve the member list",
		affiliations.Visitor, func(c *Config) *roleSet { return &c.GetMemberList })},
}

// mayGetMemberList reports whether an occupant's role lets it see the
// member list.
func (r *Room) mayGetMemberList(from string) bool {
	o := r.occupantBySession(from)
	return o != nil && r.cfg.GetMemberList.has(o.Role)
}
