package room

import "chorus/stanza"

// route maps a class of stanza to the method that handles it.
type route struct {
	toOccupant bool   // addressed to room/nick rather than the room
	kind       string // iq, message or presence
	iqType     string // for IQ routes: get or set
	ns, local  string // for IQ routes: the payload's name
	handle     func(*Room, *request)
}

// routes is the one dispatch table of a room.
var routes = [...]route{
	{kind: "presence", handle: (*Room).presenceToRoom},
	{kind: "presence", toOccupant: true, handle: (*Room).presenceToOccupant},
	{kind: "message", handle: (*Room).messageToRoom},
	{kind: "message", toOccupant: true, handle: (*Room).messageToOccupant},
	{kind: "iq", toOccupant: true, handle: (*Room).iqToOccupant},
	{kind: "iq", iqType: "get", ns: NSDiscoInfo, local: "query", handle: (*Room).discoInfo},
	{kind: "iq", iqType: "get", ns: NSDiscoItems, local: "query", handle: (*Room).discoItems},
	{kind: "iq", iqType: "get", ns: NSMUCAdmin, local: "query", handle: (*Room).adminGet},
	{kind: "iq", iqType: "set", ns: NSMUCAdmin, local: "query", handle: (*Room).adminSet},
	{kind: "iq", iqType: "get", ns: NSMUCOwner, local: "query", handle: (*Room).ownerGet},
	{kind: "iq", iqType: "set", ns: NSMUCOwner, local: "query", handle: (*Room).ownerSet},
	{kind: "iq", iqType: "get", ns: NSRegister, local: "query", handle: (*Room).register},
	{kind: "iq", iqType: "set", ns: NSRegister, local: "query", handle: (*Room).register},
	{kind: "iq", iqType: "set", ns: NSModerate, local: "moderate", handle: (*Room).moderate},
	{kind: "iq", iqType: "set", ns: NSFasten, local: "apply-to", handle: (*Room).moderate},
	{kind: "iq", iqType: "get", ns: NSVCard, local: "vCard", handle: (*Room).vcardGet},
	{kind: "iq", iqType: "set", ns: NSVCard, local: "vCard", handle: (*Room).vcardSet},
}

// dispatch sends one stanza to its handler.
func (r *Room) dispatch(req *request) {
	toOccupant := req.nick != ""
	if !r.created && !(req.st.Local == "presence" && toOccupant && req.typ == "" && req.st.Child(NSMUC, "x") != nil) {
		// Only a join creates a room (XEP-0045 §10.1.1).
		r.replyError(req, errItemNotFound.withText("No such room"))
		return
	}
	if toOccupant && r.refuseUnusableNick(req) {
		return
	}
	var payload *stanza.Element
	if req.st.Local == "iq" {
		switch req.typ {
		case "get", "set":
			if children := req.st.Children(); len(children) != 1 {
				// RFC 6120 §8.2.3: exactly one payload.
				r.replyError(req, errBadRequest.withText("An IQ request carries exactly one payload"))
				return
			} else {
				payload = children[0]
			}
		case "result", "error":
			if !toOccupant {
				r.sessionCheckAnswer(req)
				return
			}
		default:
			r.replyError(req, errBadRequest.withText("Unknown IQ type"))
			return
		}
	}
	for i := range routes {
		rt := &routes[i]
		if rt.kind != req.st.Local || rt.toOccupant != toOccupant {
			continue
		}
		if rt.iqType != "" && (rt.iqType != req.typ || !payload.Is(rt.ns, rt.local)) {
			continue
		}
		rt.handle(r, req)
		return
	}
	// RFC 6120 §8.4: an IQ nobody handles is service-unavailable.
	r.replyError(req, errServiceUnavailable)
}

// iqToOccupant handles IQs to room/nick: XEP-0410 self-pings are answered
// by the room; other requests and their answers are relayed.
func (r *Room) iqToOccupant(req *request) {
	if req.typ == "result" || req.typ == "error" {
		r.iqReturn(req)
		return
	}
	from := r.occupantBySession(req.from)
	if from == nil {
		r.replyError(req, errNotAcceptable.withText("You are not currently connected to this chat"))
		return
	}
	target := r.occupantByNick(req.nick)
	if target == nil {
		r.replyError(req, errItemNotFound.withText("Recipient not in room"))
		return
	}
	if target == from && req.typ == "get" && req.st.FirstChild().Is(NSPing, "ping") {
		r.send(req.from, iqResult(req.st))
		return
	}
	r.iqForward(req, from, target)
}
