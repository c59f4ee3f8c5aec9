package room

import (
	"slices"
	"strconv"

	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

// Config is a room's configuration (muc#roomconfig). It is comparable so a
// change can be detected with ==.
type Config struct {
	Name          string `json:"name,omitempty"`
	Description   string `json:"description,omitempty"`
	Lang          string `json:"lang,omitempty"`
	Persistent    bool   `json:"persistent,omitempty"`
	Public        bool   `json:"public,omitempty"`
	Moderated     bool   `json:"moderated,omitempty"`
	MembersOnly   bool   `json:"members_only,omitempty"`
	Password      string `json:"password,omitempty"`
	Whois         string `json:"whois"`
	ChangeSubject bool   `json:"change_subject,omitempty"`
	HistoryLength int    `json:"history_length"`
	// NoInvites restricts invitations to admins and owners
	// (muc#roomconfig_allowinvites off).
	NoInvites bool `json:"no_invites,omitempty"`
	// PresenceBroadcast holds the roles whose presence is shown.
	PresenceBroadcast roleSet `json:"presence_broadcast"`
	// AllowPM says who may send private messages (PMAnyone, ...).
	AllowPM string `json:"allow_pm"`
	// MaxUsers bounds the occupants; 0 is no limit.
	MaxUsers int `json:"max_users,omitempty"`
	// GetMemberList holds the roles that may retrieve the member list.
	GetMemberList roleSet `json:"get_member_list"`
	// Logging says whether messages are archived (persistent rooms only).
	Logging bool `json:"logging"`
	// SlowMode is the seconds each occupant waits between two messages
	// (XEP-0500); 0 is off.
	SlowMode int `json:"slow_mode,omitempty"`
}

func defaultConfig() Config {
	return Config{
		Whois:             WhoisModerators,
		HistoryLength:     defaultHistoryLength,
		PresenceBroadcast: defaultBroadcast,
		AllowPM:           PMAnyone,
		// Nobody beyond those Prosody lets get it (admin.go adminGet),
		// unless the owner names roles.
		GetMemberList: 0,
		// The archive keeps persistent rooms' messages unless the owner
		// turns logging off (temporary rooms are never written).
		Logging: true,
	}
}

// configField is one muc#roomconfig field: how to show it and how to read a
// submitted value into a Config.
type configField struct {
	field func(c *Config) forms.Field
	parse func(c *Config, f *forms.Field) error
	// maxChars bounds each submitted value; 0 means maxFieldChars.
	maxChars int
}

// Bounds on submitted configuration values. Prosody sets none and
// ejabberd none by default; without them one owner could store a room
// name of any size, and every disco#info, room list and stored record
// would carry it.
const (
	maxFieldChars  = 256  // any value, unless its field says otherwise
	maxNameChars   = 256  // muc#roomconfig_roomname
	maxDescChars   = 2048 // muc#roomconfig_roomdesc
	maxFieldValues = 64   // values of a multi-valued field
)

// errBadValue is the answer to a value the client may correct.
var errBadValue = newError(errModify, "not-acceptable")

// checkSubmitted refuses a submitted field that breaks the form's shape or
// the bounds: more than one value where the field takes one (XEP-0004
// §3.3), too many values, or a value too long.
func (cf *configField) checkSubmitted(shown forms.Field, sub *forms.Field) *stanzaError {
	switch shown.Type {
	case forms.JIDMulti, forms.ListMulti, forms.TextMulti:
		if len(sub.Values) > maxFieldValues {
			return errBadValue.withText("Field " + sub.Var + " has too many values")
		}
	default:
		if len(sub.Values) > 1 {
			return errBadValue.withText("Field " + sub.Var + " takes a single value")
		}
	}
	limit := cf.maxChars
	if limit == 0 {
		limit = maxFieldChars
	}
	for _, v := range sub.Values {
		if tooLong(v, limit) {
			return errBadValue.withText("Field " + sub.Var + " is longer than " + strconv.Itoa(limit) + " characters")
		}
	}
	return nil
}

func boolParser(at func(*Config) *bool) func(*Config, *forms.Field) error {
	return func(c *Config, f *forms.Field) error {
		b, err := forms.ParseBool(f.Value())
		if err != nil {
			return errNotAcceptable.withText("Field " + f.Var + " must be a boolean")
		}
		*at(c) = b
		return nil
	}
}

func textParser(at func(*Config) *string) func(*Config, *forms.Field) error {
	return func(c *Config, f *forms.Field) error {
		*at(c) = f.Value()
		return nil
	}
}

// configForm builds the muc#roomconfig form with the current values.
func (r *Room) configForm() *forms.Form {
	f := &forms.Form{
		Type:         forms.TypeForm,
		Title:        "Configuration for " + r.jid,
		Instructions: "Complete and submit this form to configure the room.",
	}
	f.Add(forms.HiddenFormType(forms.RoomConfig))
	for _, ft := range features {
		for _, cf := range ft.config {
			f.Add(cf.field(&r.cfg))
		}
	}
	return f
}

// ownerGet returns the configuration form to an owner (XEP-0045 §10.2).
func (r *Room) ownerGet(req *request) {
	if r.affiliation(req.bare) != affiliations.Owner {
		r.replyError(req, errForbidden.withText("Only owners can configure rooms"))
		return
	}
	q := stanza.New(NSMUCOwner, "query").Add(r.configForm().Element())
	r.send(req.from, iqResult(req.st).Add(q))
}

// ownerSet handles a submitted configuration form or a destroy request.
func (r *Room) ownerSet(req *request) {
	if r.affiliation(req.bare) != affiliations.Owner {
		r.replyError(req, errForbidden.withText("Only owners can configure rooms"))
		return
	}
	child := req.st.FirstChild().FirstChild()
	switch {
	case child == nil:
		r.replyError(req, errBadRequest)
	case child.Is(NSMUCOwner, "destroy"):
		r.ownerDestroy(req, child)
	case child.Is(forms.NS, "x"):
		r.submitConfig(req, child)
	default:
		r.replyError(req, errServiceUnavailable)
	}
}

// submitConfig applies a submitted configuration form atomically: every
// field is read into a copy first, so a bad value changes nothing.
func (r *Room) submitConfig(req *request, x *stanza.Element) {
	form, err := forms.Parse(x)
	if err != nil {
		r.replyError(req, errBadRequest.withText("Malformed data form"))
		return
	}
	switch form.Type {
	case forms.TypeCancel:
		r.send(req.from, iqResult(req.st))
		return
	case forms.TypeSubmit:
	default:
		r.replyError(req, errBadRequest.withText("Not a submitted form"))
		return
	}
	// An empty submission makes an instant room (XEP-0045 §10.1.2).
	if len(form.Fields) > 0 && form.FormType() != forms.RoomConfig {
		r.replyError(req, errBadRequest.withText("Form is not of type room configuration"))
		return
	}
	next := r.cfg
	for _, ft := range features {
		for _, cf := range ft.config {
			shown := cf.field(&next)
			if sub := form.Field(shown.Var); sub != nil {
				if err := cf.checkSubmitted(shown, sub); err != nil {
					r.replyError(req, err)
					return
				}
				if err := cf.parse(&next, sub); err != nil {
					r.replyError(req, err.(*stanzaError))
					return
				}
			}
		}
	}
	for _, ft := range features {
		if ft.configSubmitted != nil {
			ft.configSubmitted(r, &next)
		}
	}
	prev := r.cfg
	r.cfg = next
	r.dirtyData = true
	r.send(req.from, iqResult(req.st))
	r.configChanged(prev, req.bare)
}

// configChange is an applied configuration change as features see it.
type configChange struct {
	prev  Config // the configuration before
	actor string // the owner who changed it
	// codes are the status codes the change is announced with.
	codes []string
	// rest is prev where each feature that announces its setting's change
	// with a code of its own (XEP-0045 §10.2.1 privacy changes) has copied
	// the new value; any other change is announced with 104.
	rest Config
}

// configChanged lets every feature act on a configuration change, then
// tells the room what changed (XEP-0045 §10.2.1).
func (r *Room) configChanged(prev Config, actor string) {
	c := &configChange{prev: prev, actor: actor, rest: prev}
	for _, ft := range features {
		if ft.configChanged != nil {
			ft.configChanged(r, c)
		}
	}
	if c.rest != r.cfg {
		c.codes = append(c.codes, statusConfigChange)
	}
	if len(c.codes) == 0 {
		return
	}
	slices.Sort(c.codes)
	x := stanza.New(NSMUCUser, "x")
	for _, code := range c.codes {
		x.Add(statusEl(code))
	}
	msg := stanza.New(NSClient, "message", "from", r.jid, "type", "groupchat", "id", r.svc.newID()).Add(x)
	r.sendTo(r.allSessions(nil), msg)
}

// The simple configuration features.

var nameFeature = feature{
	name: "name",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigRoomName, Type: forms.TextSingle, Label: "Title", Values: []string{c.Name}}
		},
		parse:    textParser(func(c *Config) *string { return &c.Name }),
		maxChars: maxNameChars,
	}},
}

var descriptionFeature = feature{
	name: "description",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigRoomDesc, Type: forms.TextSingle, Label: "Description", Values: []string{c.Description}}
		},
		parse:    textParser(func(c *Config) *string { return &c.Description }),
		maxChars: maxDescChars,
	}},
	roomInfo: func(r *Room) []forms.Field {
		return []forms.Field{{Var: "muc#roominfo_description", Label: "Description", Values: []string{r.cfg.Description}}}
	},
}

var persistentFeature = feature{
	name: "persistent",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigPersistent, Type: forms.Boolean, Label: "Persistent (room stays when empty)", Values: []string{forms.Bool(c.Persistent)}}
		},
		parse: boolParser(func(c *Config) *bool { return &c.Persistent }),
	}},
	disco: func(r *Room) []string {
		if r.cfg.Persistent {
			return []string{"muc_persistent"}
		}
		return []string{"muc_temporary"}
	},
}

var publicFeature = feature{
	name: "public",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigPublic, Type: forms.Boolean, Label: "Include room information in public lists", Values: []string{forms.Bool(c.Public)}}
		},
		parse: boolParser(func(c *Config) *bool { return &c.Public }),
	}},
	disco: func(r *Room) []string {
		if r.cfg.Public {
			return []string{"muc_public"}
		}
		return []string{"muc_hidden"}
	},
}

var moderatedFeature = feature{
	name: "moderated",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigModerated, Type: forms.Boolean, Label: "Moderated (only occupants with voice may speak)", Values: []string{forms.Bool(c.Moderated)}}
		},
		parse: boolParser(func(c *Config) *bool { return &c.Moderated }),
	}},
	disco: func(r *Room) []string {
		if r.cfg.Moderated {
			return []string{"muc_moderated"}
		}
		return []string{"muc_unmoderated"}
	},
}
