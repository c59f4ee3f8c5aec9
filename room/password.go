package room

import (
	"strconv"

	"chorus/forms"
	"chorus/stanza"
)

var passwordFeature = feature{
	name: "password",
	// The password given with the join that creates a room becomes the
	// room's (as in Prosody's password.lib.lua), so it is bounded as the
	// form's is.
	preCreate: func(r *Room, j *joinAttempt) *stanzaError {
		if tooLong(j.muc.ChildText(NSMUC, "password"), maxFieldChars) {
			return errBadValue.withText("The password is longer than " + strconv.Itoa(maxFieldChars) + " characters")
		}
		return nil
	},
	created: func(r *Room, j *joinAttempt) {
		if pw := j.muc.ChildText(NSMUC, "password"); pw != "" {
			r.cfg.Password = pw
		}
	},
	// XEP-0045 §7.2.6: a missing or wrong password is not-authorized;
	// the text tells the two apart.
	preJoin: func(r *Room, j *joinAttempt) *stanzaError {
		if r.cfg.Password == "" || j.newRoom {
			return nil
		}
		switch pw := j.muc.ChildText(NSMUC, "password"); pw {
		case "":
			return newError(errAuth, "not-authorized").withText("A password is required to enter this room")
		case r.cfg.Password:
			return nil
		default:
			// Say which: a user who typed one should retype it, not
			// look for where to give one.
			return newError(errAuth, "not-authorized").withText("The password is wrong")
		}
	},
	config: []configField{
		// The secret comes before the flag, so that a form that clears
		// the flag and sends back the secret it showed clears it.
		{
			field: func(c *Config) forms.Field {
				return forms.Field{Var: forms.ConfigRoomSecret, Type: forms.TextPrivate, Label: "Password", Values: []string{c.Password}}
			},
			parse: textParser(func(c *Config) *string { return &c.Password }),
		},
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
	},
	// An invitation carries the password the invitee will need.
	invite: func(r *Room, inv *invitation) {
		if r.cfg.Password != "" {
			inv.x.Add(stanza.New(NSMUCUser, "password").AddText(r.cfg.Password))
		}
	},
	disco: func(r *Room) []string {
		if r.cfg.Password != "" {
			return []string{"muc_passwordprotected"}
		}
		return []string{"muc_unsecured"}
	},
}
