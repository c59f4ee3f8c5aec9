package room

import "chorus/forms"

var passwordFeature = feature{
	name: "password",
	// XEP-0045 §7.2.5: a wrong or missing password is not-authorized.
	preJoin: func(r *Room, j *joinAttempt) *stanzaError {
		if r.cfg.Password == "" || j.newRoom {
			return nil
		}
		if j.muc.ChildText(NSMUC, "password") != r.cfg.Password {
			return newError(errAuth, "not-authorized").withText("A password is required to enter this room")
		}
		return nil
	},
	config: []configField{
		{
			// The secret alone decides; the flag is shown for clients that
			// expect it and an explicit "0" clears the secret.
			field: func(c *Config) forms.Field {
				return forms.Field{Var: forms.ConfigPasswordProtected, Type: forms.Boolean,
					Label: "Password protected", Values: []string{forms.Bool(c.Password != "")}}
			},
			parse: func(c *Config, f *forms.Field) error {
				on, err := forms.ParseBool(f.Value())
				if err != nil {
					return errNotAcceptable.withText("Field " + f.Var + " must be a boolean")
				}
				if !on {
					c.Password = ""
				}
				return nil
			},
		},
		{
			field: func(c *Config) forms.Field {
				return forms.Field{Var: forms.ConfigRoomSecret, Type: forms.TextPrivate, Label: "Password", Values: []string{c.Password}}
			},
			parse: textParser(func(c *Config) *string { return &c.Password }),
		},
	},
	disco: func(r *Room) []string {
		if r.cfg.Password != "" {
			return []string{"muc_passwordprotected"}
		}
		return []string{"muc_unsecured"}
	},
}
