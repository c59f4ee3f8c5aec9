package room

import "chorus/stanza"

// ownerDestroy destroys the room on its owner's request (XEP-0045 §10.9).
func (r *Room) ownerDestroy(req *request, d *stanza.Element) {
	alt := d.Attr("jid")
	if alt != "" {
		if _, ok := parseJID(alt); !ok {
			r.replyError(req, errJIDMalformed)
			return
		}
	}
	r.destroy(alt, d.ChildText(NSMUCOwner, "reason"), d.ChildText(NSMUCOwner, "password"))
	r.send(req.from, iqResult(req.st))
}

// destroy removes every occupant with a <destroy/> notice and closes the
// room; the registry forgets it. Each occupant is told only of its own
// removal (XEP-0045 §10.9 advises against a storm of unavailables).
func (r *Room) destroy(alt, reason, password string) {
	d := stanza.New(NSMUCUser, "destroy", "jid", alt)
	if reason != "" {
		d.Add(stanza.New(NSMUCUser, "reason").AddText(reason))
	}
	if password != "" {
		d.Add(stanza.New(NSMUCUser, "password").AddText(password))
	}
	for _, o := range append([]*Occupant(nil), r.occupants...) {
		r.remove(o, statusChange{destroy: d, onlySelf: true})
	}
	r.closed = true
	r.destroyed = &tombstone{alt: alt, reason: reason, until: r.svc.now().Add(r.svc.tombTTL)}
}
