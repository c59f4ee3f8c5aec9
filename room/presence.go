package room

import (
	"chorus/affiliations"
	"chorus/stanza"
)

// Status codes (XEP-0045 §15.6).
const (
	statusRealJIDPublic  = "100"
	statusAffChange      = "101"
	statusConfigChange   = "104"
	statusSelf           = "110"
	statusLoggingOn      = "170"
	statusLoggingOff     = "171"
	statusNonAnonymous   = "172"
	statusSemiAnonymous  = "173"
	statusCreated        = "201"
	statusNickAssigned   = "210"
	statusBanned         = "301"
	statusNewNick        = "303"
	statusKicked         = "307"
	statusAffRemoved     = "321"
	statusMembersOnly    = "322"
	statusShutdown       = "332"
	statusKickedForError = "333"
)

// statusChange describes one occupant presence to publish.
type statusChange struct {
	codes     []string        // status codes everyone sees, before the item
	selfCodes []string        // status codes only the occupant's own sessions see
	destroy   *stanza.Element // <destroy/> when the room goes away
	newNick   string          // nick attribute of the item (status 303)
	actor     string          // real (full) JID of who caused the change
	reason    string
	base      *stanza.Element   // presence to show; default: the occupant's own
	selfTo    []string          // sessions that get the self-presence; default: all
	noSelf    bool              // the occupant's own sessions are told elsewhere
	onlySelf  bool              // tell only the occupant's own sessions
	prevRole  affiliations.Role // role before this change, for presence broadcast
	// forceUnavailable shows the occupant as gone to others (its role is
	// no longer broadcast).
	forceUnavailable bool
}

// seesRealJIDs reports whether viewer may see occupants' real JIDs
// (XEP-0045 §4.1 semi-anonymous vs non-anonymous rooms).
func (r *Room) seesRealJIDs(viewer *Occupant) bool {
	return r.cfg.Whois == WhoisAnyone || viewer.Role == affiliations.Moderator ||
		r.affiliation(viewer.Bare) >= affiliations.Admin
}

// view is how one class of recipients sees an occupant.
type view int

const (
	viewAnon view = iota // no real JIDs
	viewFull             // real JIDs of occupant and actor
	viewSelf             // the occupant itself (or its other nicks): real JIDs, no actor JID
)

func (r *Room) viewOf(viewer, o *Occupant) view {
	switch {
	case r.seesRealJIDs(viewer):
		return viewFull
	case viewer.Bare == o.Bare:
		return viewSelf
	}
	return viewAnon
}

// items builds the <item/> elements describing o: one per session where
// real JIDs are shown (XEP-0045 §7.2.3), else one without a JID.
func (r *Room) items(o *Occupant, v view, c *statusChange) []*stanza.Element {
	aff := r.affiliation(o.Bare).String()
	role := o.Role.String()
	var actor *stanza.Element
	if c.actor != "" {
		actor = stanza.New(NSMUCUser, "actor")
		a := r.occupantBySession(c.actor)
		if a == nil {
			a = r.occupantByBare(bareOf(c.actor))
		}
		if a != nil {
			actor.SetAttr("nick", a.Nick)
		}
		if v == viewFull {
			actor.SetAttr("jid", c.actor)
		}
	}
	mk := func(realJID string) *stanza.Element {
		it := itemEl(aff, role, realJID, c.newNick)
		if actor != nil {
			it.Add(actor)
		}
		if c.reason != "" {
			it.Add(stanza.New(NSMUCUser, "reason").AddText(c.reason))
		}
		return it
	}
	if v == viewAnon || len(o.sessions) == 0 {
		return []*stanza.Element{mk("")}
	}
	out := make([]*stanza.Element, len(o.sessions))
	for i, s := range o.sessions {
		out[i] = mk(s.jid)
	}
	return out
}

// presenceOf builds the presence of occupant o as seen through v.
func (r *Room) presenceOf(o *Occupant, v view, c *statusChange, self bool) *stanza.Element {
	base := c.base
	if base == nil && o.Role != affiliations.RoleNone {
		// A removed occupant's last presence says nothing true any more.
		base = o.presence()
	}
	var p *stanza.Element
	if base == nil {
		p = stanza.New(NSClient, "presence")
	} else {
		p = base.ShallowCopy()
	}
	p.SetAttr("from", r.occupantJID(o.Nick))
	if o.Role == affiliations.RoleNone || c.newNick != "" || (c.forceUnavailable && !self) {
		p.SetAttr("type", "unavailable")
	}
	x := stanza.New(NSMUCUser, "x")
	x.Add(c.destroy)
	for _, code := range c.codes {
		x.Add(statusEl(code))
	}
	if self {
		for _, code := range c.selfCodes {
			x.Add(statusEl(code))
		}
	}
	x.Add(r.items(o, v, c)...)
	if self {
		x.Add(statusEl(statusSelf))
	}
	r.decoratePresence(o, p)
	return p.Add(x)
}

func statusEl(code string) *stanza.Element {
	return stanza.New(NSMUCUser, "status", "code", code)
}

// publish tells the room about occupant o: every other occupant gets o's
// presence as its view allows, then o's own sessions get the self-presence
// with status 110 (XEP-0045 §7.2.3). Recipients that see the same thing
// share one Out.
func (r *Room) publish(o *Occupant, c statusChange) {
	r.liveStateChanged() // a role or presence the live state keeps
	bc := r.cfg.PresenceBroadcast
	if !bc.has(o.Role) && !c.forceUnavailable && !(c.prevRole != affiliations.RoleNone && bc.has(c.prevRole)) {
		// XEP-0045 §15.5.3 presencebroadcast: nobody else hears of it,
		// unless its previous role was shown, or its role has just been
		// hidden (presenceBroadcastChanged), then they see it go.
		c.onlySelf = true
	} else if !bc.has(o.Role) {
		c.forceUnavailable = true
	}
	if !c.onlySelf {
		var byView [3][]string
		for _, other := range r.occupants {
			if other == o {
				continue
			}
			v := r.viewOf(other, o)
			for _, s := range other.sessions {
				byView[v] = append(byView[v], s.jid)
			}
		}
		for v, to := range byView {
			if len(to) > 0 {
				r.sendTo(to, r.presenceOf(o, view(v), &c, false))
			}
		}
	}
	if c.noSelf {
		return
	}
	selfTo := c.selfTo
	if selfTo == nil {
		selfTo = o.Sessions()
	}
	r.sendTo(selfTo, r.presenceOf(o, viewSelf, &c, true))
}

// sendOccupantList sends the presence of every occupant except skip to one
// session that is joining (XEP-0045 §7.2.3, existing occupants first).
func (r *Room) sendOccupantList(to string, viewer, skip *Occupant) {
	for _, o := range r.occupants {
		if o == skip || !(r.cfg.PresenceBroadcast.has(o.Role) || o.Bare == viewer.Bare) {
			continue
		}
		r.send(to, r.presenceOf(o, r.viewOf(viewer, o), &statusChange{}, false))
	}
}

// remove takes o out of the room, telling the room as c says.
func (r *Room) remove(o *Occupant, c statusChange) {
	c.prevRole = o.Role
	o.Role = affiliations.RoleNone
	r.publish(o, c)
	r.removeOccupant(o)
}

// Builders of the muc#user payloads.

func presenceEl(from, typ string) *stanza.Element {
	return stanza.New(NSClient, "presence", "from", from, "type", typ)
}

func userX(children ...*stanza.Element) *stanza.Element {
	return stanza.New(NSMUCUser, "x").Add(children...)
}

func itemEl(aff, role, realJID, nick string) *stanza.Element {
	return stanza.New(NSMUCUser, "item", "affiliation", aff, "role", role, "jid", realJID, "nick", nick)
}

// occupantByBare returns an occupant whose real bare JID is bare.
func (r *Room) occupantByBare(bare string) *Occupant {
	for _, o := range r.occupants {
		if o.Bare == bare {
			return o
		}
	}
	return nil
}

// decoratePresence adds what features put in every occupant presence.
func (r *Room) decoratePresence(o *Occupant, p *stanza.Element) {
	for _, f := range features {
		if f.decoratePresence != nil {
			f.decoratePresence(r, o, p)
		}
	}
}
