package room

import (
	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

// roleSet is a set of roles, one bit per role.
type roleSet uint8

func rolesOf(roles ...affiliations.Role) roleSet {
	var s roleSet
	for _, r := range roles {
		s |= 1 << r
	}
	return s
}

func (s roleSet) has(r affiliations.Role) bool { return s&(1<<r) != 0 }

// names lists the roles in the set, highest first.
func (s roleSet) names() []string {
	var out []string
	for r := affiliations.Moderator; r >= affiliations.RoleNone; r-- {
		if s.has(r) {
			out = append(out, r.String())
		}
	}
	return out
}

// defaultBroadcast shows everybody who is in the room.
var defaultBroadcast = rolesOf(affiliations.Visitor, affiliations.Participant, affiliations.Moderator)

// presenceBroadcastFeature: muc#roomconfig_presencebroadcast chooses whose
// presence the room shows; "none" also shows affiliated users who are not
// in the room, as unavailable, to those who join.
var presenceBroadcastFeature = feature{
	name: "presence-broadcast",
	config: []configField{roleSetField(forms.ConfigPresenceBroadcast, "Only show participants with roles",
		affiliations.RoleNone, func(c *Config) *roleSet { return &c.PresenceBroadcast })},
	configChanged: func(r *Room, c *configChange) {
		if r.cfg.PresenceBroadcast != c.prev.PresenceBroadcast {
			r.presenceBroadcastChanged(c.prev.PresenceBroadcast)
		}
	},
}

// roleSetField is a list-multi configuration field of roles, from the
// highest down to lowest.
func roleSetField(v, label string, lowest affiliations.Role, at func(*Config) *roleSet) configField {
	return configField{
		field: func(c *Config) forms.Field {
			f := forms.Field{Var: v, Type: forms.ListMulti, Label: label, Values: at(c).names()}
			for r := affiliations.Moderator; r >= lowest; r-- {
				f.Options = append(f.Options, forms.Option{Label: r.String(), Value: r.String()})
			}
			return f
		},
		parse: func(c *Config, f *forms.Field) error {
			var s roleSet
			for _, val := range f.Values {
				r, ok := affiliations.ParseRole(val)
				if !ok || r < lowest {
					return errNotAcceptable.withText("Unknown role in " + f.Var)
				}
				s |= rolesOf(r)
			}
			*at(c) = s
			return nil
		},
	}
}

// presenceBroadcastChanged shows or hides occupants whose role's visibility
// changed with the configuration.
func (r *Room) presenceBroadcastChanged(prev roleSet) {
	for _, o := range r.occupants {
		was, is := prev.has(o.Role), r.cfg.PresenceBroadcast.has(o.Role)
		switch {
		case is && !was:
			r.publish(o, statusChange{noSelf: true})
		case was && !is:
			r.publish(o, statusChange{noSelf: true, forceUnavailable: true})
		}
	}
}

// sendOfflineMembers tells a joining session about affiliated users who are
// not in the room, when the room broadcasts role "none": by reserved nick,
// and with their JIDs where the joiner may see real JIDs (Prosody's
// send_occupant_list).
func (r *Room) sendOfflineMembers(to string, viewer *Occupant) {
	if !r.cfg.PresenceBroadcast.has(affiliations.RoleNone) {
		return
	}
	full := r.seesRealJIDs(viewer)
	for _, j := range sortedKeys(r.affs) {
		rec := r.affs[j]
		if r.occupantByBare(j) != nil || (rec.nick == "" && !full) {
			continue
		}
		r.send(to, r.offlinePresence(j, rec, full))
	}
}

// absentPresence is the unavailable presence of the user who reserved
// nick, as viewer may see it, or nil when nobody reserved it (Prosody's
// build_unavailable_presence).
func (r *Room) absentPresence(viewer *Occupant, nick string) *stanza.Element {
	j := r.reservedBy(nick)
	if j == "" {
		return nil
	}
	return r.offlinePresence(j, r.affs[j], r.seesRealJIDs(viewer))
}

// offlinePresence is the presence of an affiliated user who is not in the
// room: unavailable, with the muc#user item every presence about an
// occupant carries (XEP-0045 §7.2.3): its affiliation, role none, the
// reserved nick, and the real JID when full.
func (r *Room) offlinePresence(bare string, rec affRecord, full bool) *stanza.Element {
	from := r.jid
	if rec.nick != "" {
		from = r.occupantJID(rec.nick)
	}
	item := itemEl(rec.aff.String(), affiliations.RoleNone.String(), "", rec.nick)
	if full {
		item.SetAttr("jid", bare)
	}
	return presenceEl(from, "unavailable").Add(userX(item))
}
