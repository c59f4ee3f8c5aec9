package room

import "chorus/stanza"

// NSStanzaID is XEP-0359's namespace.
const NSStanzaID = "urn:xmpp:sid:0"

// stanzaIDFeature gives every groupchat message a unique, stable id assigned
// by the room (XEP-0359, XEP-0045 §7.4 with muc#stable_id), which clients
// use for corrections, retractions and archive paging. A stanza-id claiming
// to be the room's on an incoming message is a forgery and is dropped.
var stanzaIDFeature = feature{
	name:  "stanza-id",
	disco: func(r *Room) []string { return []string{NSStanzaID} },
	decorateMessage: func(r *Room, o *Occupant, msg *stanza.Element) {
		msg.RemoveChildren(func(e *stanza.Element) bool {
			return e.Is(NSStanzaID, "stanza-id") && e.Attr("by") == r.jid
		})
		msg.Add(stanza.New(NSStanzaID, "stanza-id", "id", r.svc.newID(), "by", r.jid))
	},
}

// stanzaIDOf returns the room-assigned id of a broadcast message.
func (r *Room) stanzaIDOf(msg *stanza.Element) string {
	for _, c := range msg.ChildrenNamed(NSStanzaID, "stanza-id") {
		if c.Attr("by") == r.jid {
			return c.Attr("id")
		}
	}
	return ""
}
