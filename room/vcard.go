package room

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
)

// NSVCard is the vcard-temp namespace (XEP-0054).
const NSVCard = "vcard-temp"

// vcardFeature: a room has a vCard its owners set, and its avatar's hash is
// announced in presence from the room (XEP-0486 / XEP-0153 as Prosody does)
// so clients can show a room picture.
var vcardFeature = feature{
	name:  "vcard",
	disco: func(r *Room) []string { return []string{NSVCard} },
	roomInfo: func(r *Room) []forms.Field {
		if r.avatarHash == "" {
			return nil
		}
		return []forms.Field{{Var: "muc#roominfo_avatarhash", Type: forms.TextMulti, Values: []string{r.avatarHash}}}
	},
}

// vcardGet returns the room's vCard (empty when none was set).
func (r *Room) vcardGet(req *request) {
	v := r.vcard
	if v == nil {
		v = stanza.New(NSVCard, "vCard")
	}
	r.send(req.from, iqResult(req.st).Add(v))
}

// vcardSet stores a new vCard from an owner and announces a changed avatar.
func (r *Room) vcardSet(req *request) {
	if r.affiliation(req.bare) != affiliations.Owner {
		r.replyError(req, errForbidden.withText("Only owners may change the room's vCard"))
		return
	}
	v := req.st.FirstChild().Clone()
	if bin := v.Child(NSVCard, "PHOTO").ChildText(NSVCard, "BINVAL"); bin != "" {
		if _, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(bin), "")); err != nil {
			r.replyError(req, errBadRequest.withText("The photo is not valid base64"))
			return
		}
	}
	hash := photoHash(v)
	r.vcard = v
	r.dirtyData = true
	r.send(req.from, iqResult(req.st))
	if hash == r.avatarHash {
		return
	}
	r.avatarHash = hash
	to := r.allSessions(nil)
	r.sendTo(to, r.avatarPresence())
	msg := stanza.New(NSClient, "message", "from", r.jid, "type", "groupchat", "id", r.svc.newID()).
		Add(userX(statusEl(statusConfigChange)))
	r.sendTo(to, msg)
}

// avatarPresence announces the room's avatar hash (empty: no avatar).
func (r *Room) avatarPresence() *stanza.Element {
	return presenceEl(r.jid, "").Add(stanza.New(NSVCardUpdate, "x").Add(stanza.New(NSVCardUpdate, "photo").AddText(r.avatarHash)))
}

// sendAvatar tells a joining session the room's avatar, if it has one.
func (r *Room) sendAvatar(to string) {
	if r.avatarHash != "" {
		r.send(to, r.avatarPresence())
	}
}

// photoHash is the hex SHA-1 of a vCard's photo, or "" without one.
func photoHash(v *stanza.Element) string {
	bin := v.Child(NSVCard, "PHOTO").ChildText(NSVCard, "BINVAL")
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(bin), ""))
	if bin == "" || err != nil {
		return ""
	}
	sum := sha1.Sum(data)
	return hex.EncodeToString(sum[:])
}
