package room

import (
	"strconv"

	"chorus/affiliations"
	"chorus/forms"
)

var maxUsersFeature = feature{
	name: "max-users",
	// XEP-0045 §7.2.10: a full room refuses newcomers with
	// service-unavailable; admins and owners may still enter.
	preJoin: func(r *Room, j *joinAttempt) *stanzaError {
		if m := r.maxUsers(); m > 0 && j.existing == nil && len(r.occupants) >= m && j.aff < affiliations.Admin {
			return errServiceUnavailable.withText("The room is full")
		}
		return nil
	},
	config: []configField{{
		field: func(c *Config) forms.Field {
			v := "none"
			if c.MaxUsers > 0 {
				v = strconv.Itoa(c.MaxUsers)
			}
			return forms.Field{Var: forms.ConfigMaxUsers, Type: forms.ListSingle, Label: "Maximum number of occupants",
				Values: []string{v},
				Options: []forms.Option{{Label: "10", Value: "10"}, {Label: "20", Value: "20"}, {Label: "30", Value: "30"},
					{Label: "50", Value: "50"}, {Label: "100", Value: "100"}, {Label: "None", Value: "none"}}}
		},
		parse: func(c *Config, f *forms.Field) error {
			v := f.Value()
			if v == "none" || v == "" || v == "0" {
				c.MaxUsers = 0
				return nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return errNotAcceptable.withText(f.Var + " must be a positive number or none")
			}
			c.MaxUsers = n
			return nil
		},
	}},
	// The service's limit is also the ceiling of what an owner may set.
	configSubmitted: func(r *Room, next *Config) {
		if c := r.svc.limits.MaxOccupants; c > 0 && (next.MaxUsers == 0 || next.MaxUsers > c) {
			next.MaxUsers = c
		}
	},
}
