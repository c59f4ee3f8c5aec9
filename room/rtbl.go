package room

import (
	"chorus/affiliations"
)

// Real-time block lists: the operator names shared lists of abusive
// accounts (Options.Blocklist, kept current by the component); a listed
// user may not enter a room, and one who becomes listed is removed as if
// banned. A room's own affiliations win: members, admins and owners are
// trusted by the room, whatever the list says.

// Blocklist tells whether a bare JID is on the operator's block lists. It
// is read from every room's goroutine, so it must be safe for concurrent
// use.
type Blocklist interface {
	Listed(bare string) bool
}

// blocked reports whether bare, with the affiliation aff in r, is kept out
// by the block lists.
func (r *Room) blocked(bare string, aff affiliations.Affiliation) bool {
	return r.svc.blocklist != nil && aff == affiliations.None && r.svc.blocklist.Listed(bare)
}

var blocklistFeature = feature{
	name: "blocklist",
	// A listed user creates no room (the creator would own it, and so be
	// exempt); service admins are never kept out.
	preCreate: func(r *Room, j *joinAttempt) *stanzaError {
		aff := affiliations.None
		if r.svc.admins[j.req.bare] {
			aff = affiliations.Owner
		}
		return r.blockedJoin(j.req.bare, aff)
	},
	preJoin: func(r *Room, j *joinAttempt) *stanzaError { return r.blockedJoin(j.req.bare, j.aff) },
}

func (r *Room) blockedJoin(bare string, aff affiliations.Affiliation) *stanzaError {
	if !r.blocked(bare, aff) {
		return nil
	}
	r.svc.refusals.blocklist.Add(1)
	return errForbidden.withText("You are not allowed in the rooms of this service")
}

// Blocklisted removes, from every room in memory, the unaffiliated
// occupants that the block lists now name, with status 301 as for a ban,
// and returns what to send. The component calls it when the lists grow.
func (g *Registry) Blocklisted() []Out {
	if g.svc.blocklist == nil {
		return nil
	}
	var outs []Out
	for _, r := range g.snapshot() {
		o, _, _ := g.transact(r.jid, liveOnly, nil, func(r *Room) {
			var listed []*Occupant
			for _, o := range r.occupants {
				if r.blocked(o.Bare, r.affiliation(o.Bare)) {
					listed = append(listed, o)
				}
			}
			for _, o := range listed {
				r.remove(o, statusChange{codes: []string{statusBanned}, reason: "On the service's block list"})
			}
		})
		outs = append(outs, o...)
	}
	return outs
}
