package room

import (
	"strings"

	"chorus/stanza"
)

// ghostPrefix marks the ids of the room's session checks.
const ghostPrefix = "ghost-check-"

// CheckSessions pings every occupant session (XEP-0199) from its room.
// The component calls it when its link to the server comes back: sessions
// that ended while the link was down would otherwise stay in rooms as
// ghosts. The server answers for a session that is gone with an error,
// which removes it (status 333); live clients answer the ping.
func (g *Registry) CheckSessions() []Out {
	var outs []Out
	for _, r := range g.snapshot() {
		o, _, _ := g.transact(r.jid, liveOnly, nil, func(r *Room) {
			if len(r.deferred) > 0 {
				// A timer taken while the link went down was never run.
				g.svc.timers.schedule(r.jid, g.svc.now())
			}
			for _, o := range r.occupants {
				for _, s := range o.sessions {
					ping := stanza.New(NSClient, "iq", "type", "get", "from", r.jid, "id", ghostPrefix+r.svc.newID()).
						Add(stanza.New(NSPing, "ping"))
					r.send(s.jid, ping)
				}
			}
		})
		outs = append(outs, o...)
	}
	return outs
}

// sessionCheckAnswer handles the answer to a session check: an error that
// says the session is gone removes it.
func (r *Room) sessionCheckAnswer(req *request) {
	if req.typ != "error" || !strings.HasPrefix(req.st.Attr("id"), ghostPrefix) {
		return
	}
	switch stanza.ErrorOf(req.st).Condition {
	case "feature-not-implemented", "":
		// A live client that does not do pings; it is there.
		return
	}
	if isKickableError(req.st) {
		r.kickForError(req)
	}
}
