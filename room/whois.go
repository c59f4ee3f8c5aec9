package room

import (
	"chorus/affiliations"
	"chorus/forms"
)

// Whois settings (muc#roomconfig_whois).
const (
	WhoisModerators = "moderators" // semi-anonymous
	WhoisAnyone     = "anyone"     // non-anonymous
)

// whoisFeature: muc#roomconfig_whois says who may see occupants' real
// JIDs: moderators only (a semi-anonymous room) or anyone (non-anonymous).
var whoisFeature = feature{
	name: "whois",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigWhois, Type: forms.ListSingle,
				Label:  "Addresses (JIDs) of room occupants may be viewed by",
				Values: []string{c.Whois},
				Options: []forms.Option{
					{Label: "Moderators only", Value: WhoisModerators},
					{Label: "Anyone", Value: WhoisAnyone},
				}}
		},
		parse: func(c *Config, f *forms.Field) error {
			switch v := f.Value(); v {
			case WhoisModerators, WhoisAnyone:
				c.Whois = v
				return nil
			}
			return errNotAcceptable.withText("muc#roomconfig_whois must be moderators or anyone")
		},
	}},
	disco: func(r *Room) []string {
		if r.cfg.Whois == WhoisAnyone {
			return []string{"muc_nonanonymous"}
		}
		return []string{"muc_semianonymous"}
	},
	// XEP-0045 §7.2.4: warn who enters that the room is non-anonymous.
	joinCodes: func(r *Room, j *joinAttempt) []string {
		if r.cfg.Whois == WhoisAnyone {
			return []string{statusRealJIDPublic}
		}
		return nil
	},
	// A privacy change with a code of its own, 172 or 173 (XEP-0045
	// §10.2.1), not 104.
	configChanged: func(r *Room, c *configChange) {
		c.rest.Whois = r.cfg.Whois
		if c.prev.Whois != r.cfg.Whois {
			c.codes = append(c.codes, map[bool]string{true: statusNonAnonymous, false: statusSemiAnonymous}[r.cfg.Whois == WhoisAnyone])
		}
	},
	// In a semi-anonymous room the invitee learns the inviter's nick
	// only, unless it will be a moderator.
	invite: func(r *Room, inv *invitation) {
		if o := r.occupantBySession(inv.req.from); o != nil && r.cfg.Whois != WhoisAnyone &&
			r.defaultRole(r.affiliation(inv.to)) != affiliations.Moderator {
			inv.el.SetAttr("from", r.occupantJID(o.Nick))
		}
	},
}
