package room

import (
	"time"

	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

// voiceRequestFeature: in a moderated room a visitor asks for voice with
// the muc#request form; moderators get the request as a form and grant it
// by submitting it back (XEP-0045 §7.13 and §8.6).
var voiceRequestFeature = feature{
	name:  "voice-request",
	disco: func(r *Room) []string { return []string{forms.Request} },
}

// handleRequestForm handles a muc#request form sent to the room.
func (r *Room) handleRequestForm(req *request, form *forms.Form) {
	o := r.occupantBySession(req.from)
	if o == nil {
		r.replyError(req, errNotAcceptable.withText("You are not currently connected to this chat"))
		return
	}
	if o.Role == affiliations.Moderator {
		r.voiceResponse(req, o, form)
		return
	}
	if o.Role != affiliations.Visitor {
		return // already has voice: nothing to ask for
	}
	if !r.mayAskVoice(o.Bare) {
		// Nothing reaches the moderators: one visitor must not bury
		// them in forms.
		r.replyError(req, errTooFast.withText("You have asked for voice recently; wait before asking again"))
		return
	}
	f := &forms.Form{Type: forms.TypeForm, Title: "Voice request"}
	f.Add(forms.HiddenFormType(forms.Request),
		forms.Field{Var: "muc#role", Type: forms.ListSingle, Label: "Requested role", Values: []string{"participant"}},
		forms.Field{Var: "muc#jid", Type: forms.JIDSingle, Label: "User ID", Values: []string{req.from}},
		forms.Field{Var: "muc#roomnick", Type: forms.TextSingle, Label: "Room nickname", Values: []string{o.Nick}},
		forms.Field{Var: "muc#request_allow", Type: forms.Boolean, Label: "Grant voice to this person?", Values: []string{forms.Bool(false)}},
	)
	msg := stanza.New(NSClient, "message", "from", r.jid, "type", "normal", "id", r.svc.newID()).Add(f.Element())
	r.sendTo(r.allSessions(func(m *Occupant) bool { return m.Role == affiliations.Moderator }), msg)
}

// voiceResponse applies a moderator's answer to a voice request.
func (r *Room) voiceResponse(req *request, moderator *Occupant, form *forms.Form) {
	allow, err := forms.ParseBool(form.Field("muc#request_allow").Value())
	if err != nil || !allow {
		return // declined, or nothing decided
	}
	target := r.occupantByNick(form.Field("muc#roomnick").Value())
	if target == nil {
		if j := form.Field("muc#jid").Value(); j != "" {
			target = r.occupantBySession(j)
		}
	}
	if target == nil {
		r.replyError(req, errItemNotFound.withText("That user is no longer in the room"))
		return
	}
	if target.Role != affiliations.Visitor {
		return
	}
	c := roleChange{target: target, role: affiliations.Participant, reason: "Voice granted"}
	if e := r.checkRole(req.from, c); e != nil {
		r.replyError(req, e)
		return
	}
	r.setRole(req.from, c)
}

// mayAskVoice allows one voice request per user and room within
// Limits.VoiceRequestInterval, and records it.
func (r *Room) mayAskVoice(bare string) bool {
	every := r.svc.limits.VoiceRequestInterval
	if every <= 0 {
		return true
	}
	now := r.svc.now()
	if at, ok := r.voiceAsked[bare]; ok && now.Sub(at) < every {
		return false
	}
	if r.voiceAsked == nil {
		r.voiceAsked = map[string]time.Time{}
	}
	if len(r.voiceAsked) >= minSweep {
		// Requests older than the interval no longer matter.
		for k, at := range r.voiceAsked {
			if now.Sub(at) >= every {
				delete(r.voiceAsked, k)
			}
		}
	}
	r.voiceAsked[bare] = now
	return true
}
