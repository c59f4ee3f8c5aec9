package room

import "chorus/forms"

var langFeature = feature{
	name: "lang",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigLang, Type: forms.TextSingle,
				Label: "Natural language of the room's discussions", Values: []string{c.Lang}}
		},
		parse: textParser(func(c *Config) *string { return &c.Lang }),
	}},
	roomInfo: func(r *Room) []forms.Field {
		return []forms.Field{{Var: "muc#roominfo_lang", Values: []string{r.cfg.Lang}}}
	},
}
