package room

import (
	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

// registerFeature: users register with a room to reserve a nickname
// (XEP-0045 §7.10); a reserved nick is refused to everyone else.
var registerFeature = feature{
	name:    "register",
	preJoin: checkReservedNick,
	// A nick change is refused a nick reserved by someone else, then one
	// other than the user's own where reserved nicks are enforced.
	preNickChange: inOrder(checkReservedNick, checkEnforcedNick),
	disco:         func(r *Room) []string { return []string{NSRegister} },
}

func checkReservedNick(r *Room, j *joinAttempt) *stanzaError {
	if owner := r.reservedBy(j.nick); owner != "" && owner != j.req.bare {
		return errConflict.withText("That nickname is reserved")
	}
	return nil
}

// registeredNick returns the nick bare reserved in the room, or "".
func (r *Room) registeredNick(bare string) string {
	return r.affs[bare].nick
}

// enforcedNick is the nick a user who asks for nick enters under: its
// reserved nick where the service enforces them (Prosody's
// enforce_registered_nickname, register.lib.lua enforce_nick_policy),
// else nick.
func (r *Room) enforcedNick(bare, nick string) string {
	if reserved := r.registeredNick(bare); r.svc.enforceNick && reserved != "" {
		return reserved
	}
	return nick
}

// checkEnforcedNick refuses a nick change away from the user's reserved
// nick where the service enforces them, as Prosody does (not-acceptable,
// the error XEP-0045's error table gives for "the reserved roomnick must
// be used").
func checkEnforcedNick(r *Room, j *joinAttempt) *stanzaError {
	if want := r.enforcedNick(j.req.bare, j.nick); nickKey(want) != nickKey(j.nick) {
		return errNotAcceptable.withText("You must use your registered nickname: " + want)
	}
	return nil
}

// reservedBy returns the bare JID that reserved nick, or a nick that is
// the same (nickKey), or "".
func (r *Room) reservedBy(nick string) string {
	key := ""
	for j, rec := range r.affs {
		if rec.nick == "" {
			continue
		}
		if key == "" {
			key = nickKey(nick)
		}
		if rec.nick == nick || nickKey(rec.nick) == key {
			return j
		}
	}
	return ""
}

// register handles jabber:iq:register queries to the room.
func (r *Room) register(req *request) {
	aff := r.affiliation(req.bare)
	switch {
	case aff == affiliations.Outcast:
		r.replyError(req, errForbidden)
		return
	case aff < affiliations.Member:
		// As in Prosody: registering is for members; owners and admins grant
		// membership (and may reserve a nick with it) through muc#admin.
		r.replyError(req, newError(errAuth, "registration-required").withText("Only members may register with this room"))
		return
	}
	q := req.st.FirstChild()
	rec := r.affs[req.bare]
	if req.typ == "get" {
		res := stanza.New(NSRegister, "query")
		if rec.nick != "" {
			res.Add(stanza.New(NSRegister, "registered"), stanza.New(NSRegister, "username").AddText(rec.nick))
		} else {
			res.Add(registrationForm().Element())
		}
		r.send(req.from, iqResult(req.st).Add(res))
		return
	}
	if q.Child(NSRegister, "remove") != nil {
		// XEP-0045 §7.10 (cancellation): members lose their membership;
		// admins and owners keep their rank and only lose the nick.
		next := affiliations.None
		if aff > affiliations.Member && r.affs[req.bare].aff > affiliations.Member {
			next = aff
		}
		r.setAffiliation("", affChange{target: req.bare, aff: next})
		r.send(req.from, iqResult(req.st))
		return
	}
	x := q.Child(forms.NS, "x")
	form, err := forms.Parse(x)
	if err != nil || form.Type != forms.TypeSubmit || form.FormType() != forms.Register {
		r.replyError(req, errBadRequest.withText("Submit the muc#register form"))
		return
	}
	nick := form.Field("muc#register_roomnick").Value()
	// As Prosody: a nick to reserve must pass strict Resourceprep
	// (register.lib.lua answers modify/bad-request); Chorus also wants it
	// visible, as for joins.
	if pj, ok := parseJID(r.jid + "/" + nick); !ok || nick == "" {
		r.replyError(req, errBadRequest.withText(textNickInvalid))
		return
	} else if e := nickError(pj.Resourcepart()); e != nil {
		r.replyError(req, errBadRequest.withText(e.Text))
		return
	} else {
		nick = pj.Resourcepart()
	}
	if o := r.occupantByNick(nick); o != nil && o.Bare != req.bare {
		r.replyError(req, errConflict)
		return
	}
	if by := r.reservedBy(nick); by != "" && by != req.bare {
		r.replyError(req, errConflict)
		return
	}
	if rec.nick != nick {
		next := max(aff, affiliations.Member)
		if r.affs[req.bare].aff == affiliations.None && aff > affiliations.Member {
			// A service admin's effective rank is not recorded as such.
			next = affiliations.Member
		}
		r.setAffiliation("", affChange{target: req.bare, aff: next, nick: nick, keep: true})
	}
	r.send(req.from, iqResult(req.st))
}

func registrationForm() *forms.Form {
	f := &forms.Form{Type: forms.TypeForm}
	return f.Add(forms.HiddenFormType(forms.Register),
		forms.Field{Var: "muc#register_roomnick", Type: forms.TextSingle, Label: "Nickname", Required: true})
}
