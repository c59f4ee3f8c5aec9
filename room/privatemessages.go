package room

import (
	"chorus/affiliations"
	"chorus/forms"
)

// Values of muc#roomconfig_allowpm (XEP-0045 §15.5.3).
const (
	PMAnyone       = "anyone"
	PMParticipants = "participants"
	PMModerators   = "moderators"
	PMNone         = "none"
)

// prosodyPM maps the values Prosody's form uses to the XEP's.
var prosodyPM = map[string]string{"visitor": PMAnyone, "participant": PMParticipants, "moderator": PMModerators}

var privateMessagesFeature = feature{
	name: "private-messages",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigAllowPM, Type: forms.ListSingle,
				Label: "Who may send private messages", Values: []string{c.AllowPM},
				Options: []forms.Option{
					{Label: "Anyone", Value: PMAnyone},
					{Label: "Participants and moderators", Value: PMParticipants},
					{Label: "Moderators only", Value: PMModerators},
					{Label: "Nobody", Value: PMNone},
				}}
		},
		parse: func(c *Config, f *forms.Field) error {
			v := f.Value()
			if p, ok := prosodyPM[v]; ok {
				v = p
			}
			switch v {
			case PMAnyone, PMParticipants, PMModerators, PMNone:
				c.AllowPM = v
				return nil
			}
			return errNotAcceptable.withText(f.Var + " must be anyone, participants, moderators or none")
		},
	}},
}

// mayPM reports whether an occupant may send private messages here.
func (r *Room) mayPM(o *Occupant) bool {
	switch r.cfg.AllowPM {
	case PMNone:
		return false
	case PMModerators:
		return o.Role >= affiliations.Moderator
	case PMParticipants:
		return o.Role >= affiliations.Participant
	}
	return true
}
