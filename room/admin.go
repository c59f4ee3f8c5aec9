package room

import (
	"chorus/affiliations"
	"chorus/stanza"
)

// adminSet handles muc#admin changes of affiliations and roles (XEP-0045
// §8-10). All items are checked before any is applied, so a request either
// succeeds whole or changes nothing.
func (r *Room) adminSet(req *request) {
	items := req.st.FirstChild().ChildrenNamed(NSMUCAdmin, "item")
	if len(items) == 0 {
		r.replyError(req, errBadRequest.withText("No item to change"))
		return
	}
	var affs []affChange
	var roles []roleChange
	for _, it := range items {
		a, rc, err := r.parseAdminItem(req, it)
		if err != nil {
			r.replyError(req, err)
			return
		}
		if a != nil {
			affs = append(affs, *a)
		} else {
			roles = append(roles, *rc)
		}
	}
	for _, a := range affs {
		if err := r.checkAffiliation(req.bare, a); err != nil {
			r.replyError(req, err)
			return
		}
	}
	for _, rc := range roles {
		if err := r.checkRole(req.from, rc); err != nil {
			r.replyError(req, err)
			return
		}
	}
	for _, a := range affs {
		r.setAffiliation(req.from, a)
	}
	for _, rc := range roles {
		r.setRole(req.from, rc)
	}
	r.send(req.from, iqResult(req.st))
}

// parseAdminItem reads one <item/>: an affiliation change names a JID (or a
// nick in the room), a role change names a nick (or the JID of an occupant).
func (r *Room) parseAdminItem(req *request, it *stanza.Element) (*affChange, *roleChange, *stanzaError) {
	affName, hasAff := it.LookupAttr("affiliation")
	roleName, hasRole := it.LookupAttr("role")
	reason := it.ChildText(NSMUCAdmin, "reason")
	nick := it.Attr("nick")
	target := ""
	if j := it.Attr("jid"); j != "" {
		pj, ok := parseJID(j)
		if !ok {
			return nil, nil, errJIDMalformed
		}
		if pj.Resourcepart() != "" {
			return nil, nil, errJIDMalformed.withText("Bare JID expected, got full JID")
		}
		target = pj.String()
	}
	switch {
	case hasAff && !hasRole:
		aff, ok := affiliations.ParseAffiliation(affName)
		if !ok {
			return nil, nil, errBadRequest.withText("Unknown affiliation")
		}
		if target == "" && nick != "" {
			// Some clients name the occupant instead of the JID.
			if o := r.occupantByNick(nick); o != nil {
				target, nick = o.Bare, ""
			}
		}
		if target == "" {
			return nil, nil, errBadRequest.withText("An affiliation change needs a JID")
		}
		if nick != "" {
			// A nick to reserve is held to the rules of nicks (Prosody
			// answers jid-malformed), and one user's reserved nick is no
			// one else's, in any of its look-alike forms.
			if e := nickError(nick); e != nil {
				return nil, nil, e
			}
			if by := r.reservedBy(nick); by != "" && by != target {
				return nil, nil, errConflict.withText("That nickname is reserved by someone else")
			}
		}
		return &affChange{target: target, aff: aff, reason: reason, nick: nick, keep: nick == ""}, nil, nil
	case hasRole && !hasAff:
		role, ok := affiliations.ParseRole(roleName)
		if !ok {
			return nil, nil, errBadRequest.withText("Unknown role")
		}
		if nick == "" && target != "" {
			if o := r.occupantByBare(target); o != nil {
				nick = o.Nick
			}
		}
		o := r.occupantByNick(nick)
		if o == nil {
			return nil, nil, errItemNotFound.withText("No occupant with that nickname")
		}
		return nil, &roleChange{target: o, role: role, reason: reason}, nil
	}
	return nil, nil, errBadRequest.withText("An item changes either an affiliation or a role")
}

// adminGet returns an affiliation list or a role list (XEP-0045 §8.5, §9.5,
// §10.5).
func (r *Room) adminGet(req *request) {
	it := req.st.FirstChild().Child(NSMUCAdmin, "item")
	affName, hasAff := it.LookupAttr("affiliation")
	roleName, hasRole := it.LookupAttr("role")
	q := stanza.New(NSMUCAdmin, "query")
	switch {
	case hasAff && !hasRole:
		list, ok := affiliations.ParseAffiliation(affName)
		if !ok {
			r.replyError(req, errBadRequest.withText("Unknown affiliation"))
			return
		}
		// Prosody's rule (affiliations.MayListAffiliation), and the member
		// list also to the roles muc#roomconfig_getmemberlist names
		// (XEP-0045 §15.5.3), none unless the owner chose some.
		if !affiliations.MayListAffiliation(r.affiliation(req.bare), list, r.cfg.MembersOnly && r.cfg.Whois == WhoisAnyone) &&
			!(list == affiliations.Member && r.mayGetMemberList(req.from)) {
			r.replyError(req, errForbidden)
			return
		}
		for _, j := range sortedKeys(r.affs) {
			rec := r.affs[j]
			if rec.aff != list {
				continue
			}
			item := stanza.New(NSMUCAdmin, "item", "affiliation", list.String(), "jid", j, "nick", rec.nick)
			if rec.reason != "" {
				item.Add(stanza.New(NSMUCAdmin, "reason").AddText(rec.reason))
			}
			q.Add(item)
		}
	case hasRole && !hasAff:
		role, ok := affiliations.ParseRole(roleName)
		if !ok {
			r.replyError(req, errBadRequest.withText("Unknown role"))
			return
		}
		if o := r.occupantBySession(req.from); o == nil || o.Role != affiliations.Moderator {
			r.replyError(req, errForbidden)
			return
		}
		for _, o := range r.occupants {
			if o.Role != role {
				continue
			}
			for _, s := range o.sessions {
				q.Add(stanza.New(NSMUCAdmin, "item", "affiliation", r.affiliation(o.Bare).String(),
					"role", o.Role.String(), "nick", o.Nick, "jid", s.jid))
			}
		}
	default:
		r.replyError(req, errBadRequest.withText("Ask for one affiliation or one role"))
		return
	}
	r.send(req.from, iqResult(req.st).Add(q))
}
