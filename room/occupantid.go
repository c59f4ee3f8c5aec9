package room

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"chorus/stanza"
)

// NSOccupantID is XEP-0421's namespace.
const NSOccupantID = "urn:xmpp:occupant-id:0"

// occupantIDFeature tags presences and messages with an id that is stable
// for one user in one room but reveals nothing about the real JID
// (XEP-0421): an HMAC of the bare JID keyed by a per-room secret.
var occupantIDFeature = feature{
	name:  "occupant-id",
	disco: func(r *Room) []string { return []string{NSOccupantID} },
	decoratePresence: func(r *Room, o *Occupant, p *stanza.Element) {
		setOccupantID(r, o, p)
	},
	decorateMessage: func(r *Room, o *Occupant, msg *stanza.Element) {
		setOccupantID(r, o, msg)
	},
	// XEP-0421 §4: private messages carry the sender's id too, or the
	// recipient could not tell who wrote to it, and a forged one would
	// pass for someone else's.
	decoratePrivate: func(r *Room, o *Occupant, msg *stanza.Element) {
		setOccupantID(r, o, msg)
	},
}

func setOccupantID(r *Room, o *Occupant, st *stanza.Element) {
	// XEP-0421 §4: whatever the sender put there is not to be trusted.
	st.RemoveChildren(func(e *stanza.Element) bool { return e.Is(NSOccupantID, "occupant-id") })
	if o == nil {
		return
	}
	if o.oid == "" {
		// Computed once per occupant: every presence and message it
		// causes carries it, and an HMAC per stanza was a fifth of the
		// cost of a small room's broadcast.
		o.oid = r.occupantID(o.Bare)
	}
	st.Add(stanza.New(NSOccupantID, "occupant-id", "id", o.oid))
}

func (r *Room) occupantID(bare string) string {
	m := hmac.New(sha256.New, r.roomSalt())
	m.Write([]byte(bare))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil)[:16])
}

// roomSalt is the room's secret key for ids derived from real JIDs.
func (r *Room) roomSalt() []byte {
	if r.salt == nil {
		r.salt = []byte(randomID() + randomID())
	}
	return r.salt
}
