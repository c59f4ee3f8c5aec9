package room

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// IQs between occupants (XEP-0045 §7.3 disco to occupants, and any other
// request such as version or vCard) are relayed with the room in the middle, so neither side
// learns the other's real JID. The request's id is rewritten to carry what
// routing the answer back needs: the target session, the original id and a
// keyed hash naming the requesting session.

// iqForward relays an IQ request from occupant from to occupant to.
func (r *Room) iqForward(req *request, from, to *Occupant) {
	target := to.sessions[0].jid
	fwd := req.st.ShallowCopy()
	fwd.SetAttr("from", r.occupantJID(from.Nick))
	fwd.SetAttr("to", "")
	fwd.SetAttr("id", r.encodeIQID(target, req.st.Attr("id"), req.from))
	dest := target
	switch req.st.FirstChild().Space {
	case "vcard-temp", "http://jabber.org/protocol/pubsub", "urn:ietf:params:xml:ns:vcard-4.0":
		// Account data lives at the bare JID.
		dest = bareOf(target)
	}
	r.send(dest, fwd)
}

// iqReturn routes an occupant's answer back to the session that asked.
func (r *Room) iqReturn(req *request) {
	target, origID, hash, ok := r.decodeIQID(req.st.Attr("id"))
	if !ok || (req.from != target && req.from != bareOf(target) && req.bare != bareOf(target)) {
		return // not an answer to anything we relayed
	}
	answerer := r.occupantBySession(target)
	asker := r.occupantByNick(req.nick)
	if answerer == nil || asker == nil {
		return
	}
	for _, s := range asker.sessions {
		if hmac.Equal([]byte(r.sessionHash(s.jid)), []byte(hash)) {
			back := req.st.ShallowCopy()
			back.SetAttr("from", r.occupantJID(answerer.Nick))
			back.SetAttr("to", "")
			back.SetAttr("id", origID)
			r.send(s.jid, back)
			return
		}
	}
}

func (r *Room) sessionHash(full string) string {
	m := hmac.New(sha256.New, r.roomSalt())
	m.Write([]byte(full))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:6])
}

func (r *Room) encodeIQID(target, orig, asker string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(target + "\x00" + orig + "\x00" + r.sessionHash(asker)))
}

func (r *Room) decodeIQID(id string) (target, orig, hash string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return "", "", "", false
	}
	parts := strings.SplitN(string(b), "\x00", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}
