package room

import (
	"time"

	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

type subject struct {
	text string
	from string // occupant JID of who set it; the room when unset
	oid  string // XEP-0421 occupant id of who set it
	at   time.Time
}

var subjectFeature = feature{
	name: "subject",
	config: []configField{{
		field: func(c *Config) forms.Field {
			return forms.Field{Var: forms.ConfigChangeSubject, Type: forms.Boolean,
				Label: "Allow anyone to set the room's subject", Values: []string{forms.Bool(c.ChangeSubject)}}
		},
		parse: boolParser(func(c *Config) *bool { return &c.ChangeSubject }),
	}},
	roomInfo: func(r *Room) []forms.Field {
		return []forms.Field{
			{Var: "muc#roominfo_subject", Values: []string{r.subject.text}},
			{Var: forms.ConfigChangeSubject, Type: forms.Boolean, Values: []string{forms.Bool(r.cfg.ChangeSubject)}},
		}
	},
}

func (r *Room) subjectMessage() *stanza.Element {
	from := r.subject.from
	if from == "" {
		from = r.jid
	}
	return stanza.New(NSClient, "message", "from", from, "type", "groupchat").
		Add(stanza.New(NSClient, "subject").AddText(r.subject.text))
}

// sendSubject ends a join: the subject, empty if unset, is always the last
// stanza (XEP-0045 §7.2.15; clients wait for it).
func (r *Room) sendSubject(to string) {
	msg := r.subjectMessage()
	if r.subject.oid != "" {
		// XEP-0421: the subject is a message from the occupant who set it.
		msg.Add(stanza.New(NSOccupantID, "occupant-id", "id", r.subject.oid))
	}
	if !r.subject.at.IsZero() {
		msg.Add(delayEl(r.jid, r.subject.at))
	}
	r.send(to, msg)
}

// changeSubject handles a subject change (XEP-0045 §8.1): moderators may,
// participants only when the room allows it.
func (r *Room) changeSubject(o *Occupant, req *request, text string) {
	if o.Role < affiliations.Moderator && !r.cfg.ChangeSubject {
		r.replyError(req, errForbidden.withText("You are not allowed to change the subject"))
		return
	}
	r.subject = subject{text: text, from: r.occupantJID(o.Nick), at: r.svc.now()}
	r.dirtyData = true
	msg := r.subjectMessage()
	if id := req.st.Attr("id"); id != "" {
		msg.SetAttr("id", id)
	}
	r.decorateMessage(o, msg)
	r.subject.oid = msg.Child(NSOccupantID, "occupant-id").Attr("id")
	r.sendTo(r.allSessions(nil), msg)
}
