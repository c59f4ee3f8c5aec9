package room

import "chorus/forms"

// loggingFeature: muc#roomconfig_enablelogging says whether the room's
// messages are archived; turning it on or off is a privacy change that
// occupants are told with 170 or 171 (XEP-0045 §10.2.1).
var loggingFeature = feature{
	name: "logging",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigEnableLogging, Type: forms.Boolean,
				Label: "Archive the room's messages", Values: []string{forms.Bool(c.Logging)}}
		},
		parse: boolParser(func(c *Config) *bool { return &c.Logging }),
	}},
	// XEP-0045 §7.2.13: a service that logs the room MUST warn who enters
	// that discussions are logged.
	joinCodes: func(r *Room, j *joinAttempt) []string {
		if r.archives() {
			return []string{statusLoggingOn}
		}
		return nil
	},
	configChanged: func(r *Room, c *configChange) {
		c.rest.Logging = r.cfg.Logging
		if c.prev.Logging != r.cfg.Logging {
			c.codes = append(c.codes, map[bool]string{true: statusLoggingOn, false: statusLoggingOff}[r.cfg.Logging])
		}
	},
	// No muc#roominfo_logs: XEP-0045 §15.5.4 makes it the URL of the
	// room's logs, and the archive has none to give (a "1" there is not
	// a URL clients can open).
}
