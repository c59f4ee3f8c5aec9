package component

import (
	"strconv"
	"strings"
	"time"

	"chorus/room"
	"chorus/stanza"
)

// Router routes stanzas by address class: the service's own domain is
// answered here (discovery, service commands); rooms and occupants go to
// the room registry.
type Router struct {
	domain string
	rooms  *room.Registry
	rtbl   *rtbl // nil without block lists (rtbl.go)
}

// NewRouter returns a Router for the service at domain.
func NewRouter(domain string, rooms *room.Registry) *Router {
	return &Router{domain: domain, rooms: rooms}
}

// HandleStanza is HandleAt for a stanza whose 'to' has not been parsed yet.
func (rt *Router) HandleStanza(st *stanza.Element) []room.Out {
	to, _ := room.ParseAddress(st.Attr("to"))
	return rt.HandleAt(to, st)
}

// HandleAt implements Handler.
func (rt *Router) HandleAt(to room.Address, st *stanza.Element) []room.Out {
	ok := to.Valid()
	if ok {
		// Answers go out from the canonical form of the address.
		st.SetAttr("to", to.String())
	}
	switch {
	case !ok:
		return rt.rooms.HandleAt(to, st) // answers jid-malformed from the service
	case to.Domain() != rt.domain:
		// The host routes only our domain here; answer from the service,
		// since replying from a foreign address would break the stream.
		return rt.errorFrom(st, rt.domain, stanza.Cancel, stanza.ItemNotFound)
	case to.Local() != "":
		return rt.rooms.HandleAt(to, st)
	case to.Resource() != "":
		// The service has no resources: answer from the service itself,
		// never from an address that names nobody.
		return rt.errorFrom(st, rt.domain, stanza.Cancel, stanza.ServiceUnavailable)
	}
	return rt.service(st)
}

// ReadOnly implements Reader: a stanza to a room or occupant that cannot
// change the room's stored state. Stanzas to the service keep their order.
func (rt *Router) ReadOnly(to room.Address, st *stanza.Element) bool {
	return to.Valid() && to.Local() != "" && rt.rooms.ReadOnly(to, st)
}

// Reconnected implements Resyncer: sessions that ended while the link was
// down are found and removed (room.Registry.CheckSessions).
func (rt *Router) Reconnected() []room.Out {
	return rt.rooms.CheckSessions()
}

// ResyncFirst implements FirstResyncer: occupants in memory before the
// first link came up were restored from the live state, and each of their
// sessions is checked as after a reconnect.
func (rt *Router) ResyncFirst() bool { return rt.rooms.Stats().Sessions > 0 }

// Due implements Timed: rooms with deferred presence updates, and the
// service itself when the block lists are to be reloaded.
func (rt *Router) Due(now time.Time) []string {
	due := rt.rooms.Due(now)
	if rt.rtblDue(now) {
		due = append(due, rt.domain)
	}
	return due
}

// Fire implements Timed.
func (rt *Router) Fire(addr string) []room.Out {
	if addr == rt.domain {
		return rt.rtblRequests(time.Now())
	}
	return rt.rooms.Fire(addr)
}

// Shutdown implements Handler.
func (rt *Router) Shutdown() []room.Out {
	return rt.rooms.Shutdown()
}

// service handles stanzas to the service domain.
func (rt *Router) service(st *stanza.Element) []room.Out {
	if outs, ok := rt.rtblStanza(st); ok {
		return outs
	}
	typ := st.Attr("type")
	if st.Local != "iq" {
		// Presence and messages to the service itself mean nothing here;
		// a message gets an error so its sender is not left guessing.
		if st.Local == "message" && typ != "error" {
			return rt.errorReply(st, stanza.Cancel, stanza.ServiceUnavailable)
		}
		return nil
	}
	if typ != "get" && typ != "set" {
		if typ != "result" && typ != "error" {
			return rt.errorReply(st, stanza.Modify, stanza.BadRequest)
		}
		return nil
	}
	children := st.Children()
	if len(children) != 1 {
		return rt.errorReply(st, stanza.Modify, stanza.BadRequest)
	}
	q := children[0]
	switch {
	case typ == "get" && q.Is(stanza.NSDiscoInfo, "query") && q.Attr("node") == "":
		return rt.discoInfo(st)
	case typ == "get" && q.Is(stanza.NSDiscoItems, "query") && q.Attr("node") == "":
		return rt.discoItems(st)
	case typ == "get" && q.Is(stanza.NSDiscoItems, "query") && q.Attr("node") == nsCommands:
		return rt.commandList(st)
	case typ == "get" && q.Is(stanza.NSDiscoInfo, "query") && rt.isCommandNode(st, q.Attr("node")):
		return rt.commandInfo(st, q.Attr("node"))
	case typ == "set" && q.Is(nsCommands, "command"):
		return rt.command(st, q)
	}
	return rt.errorReply(st, stanza.Cancel, stanza.ServiceUnavailable)
}

// discoInfo: XEP-0045 §6.1, the service is a text conference service.
func (rt *Router) discoInfo(st *stanza.Element) []room.Out {
	q := stanza.New(stanza.NSDiscoInfo, "query")
	q.Add(stanza.New(stanza.NSDiscoInfo, "identity", "category", "conference", "type", "text", "name", "Chorus"))
	// The room list pages with result set management (XEP-0059,
	// Determining Support).
	for _, f := range []string{stanza.NSMUC, stanza.NSDiscoInfo, stanza.NSDiscoItems, nsCommands, stanza.NSRSM} {
		q.Add(stanza.New(stanza.NSDiscoInfo, "feature", "var", f))
	}
	return rt.result(st, q)
}

// defaultRoomPage is how many rooms a disco#items answer without a
// requested page size holds; longer lists end with an XEP-0059 set saying
// so, and clients that page get the rest. (ejabberd's max_rooms_discoitems
// defaults to the same; Prosody lists every room in one answer, which can
// outgrow the stanza size limits of servers and clients.)
const defaultRoomPage = 100

// discoItems: XEP-0045 §6.3, the public rooms, paged with XEP-0059 result
// set management: in JID order, which stays stable as rooms come and go.
func (rt *Router) discoItems(st *stanza.Element) []room.Out {
	q := room.RoomQuery{Max: defaultRoomPage}
	set := st.FirstChild().Child(stanza.NSRSM, "set")
	if set != nil {
		if set.Child(stanza.NSRSM, "index") != nil {
			// XEP-0059 §2.6: paging out of order is optional.
			return rt.errorReply(st, stanza.Cancel, stanza.FeatureNotImplemented)
		}
		if m := set.Child(stanza.NSRSM, "max"); m != nil {
			n, err := strconv.Atoi(strings.TrimSpace(m.Text()))
			if err != nil || n < 0 {
				return rt.errorReply(st, stanza.Modify, stanza.BadRequest)
			}
			q.Max = min(n, room.MaxRoomPage)
		}
		after, before := set.Child(stanza.NSRSM, "after"), set.Child(stanza.NSRSM, "before")
		if after != nil && before != nil {
			return rt.errorReply(st, stanza.Modify, stanza.BadRequest)
		}
		// The JIDs are the ids and their order is the list's, so an id whose
		// room is gone still says where the page starts: no item-not-found
		// (XEP-0059 §2.4 asks for it only when the id cannot).
		if after != nil {
			q.After = strings.TrimSpace(after.Text())
		}
		if before != nil {
			// An empty <before/> asks for the last page (XEP-0059 §2.5).
			q.Before = strings.TrimSpace(before.Text())
			q.Last = q.Before == ""
		}
	}
	page, err := rt.rooms.PublicRooms(q)
	if err != nil {
		return rt.errorReply(st, stanza.Wait, stanza.InternalServerError)
	}
	res := stanza.New(stanza.NSDiscoItems, "query")
	for _, it := range page.Items {
		res.Add(stanza.New(stanza.NSDiscoItems, "item", "jid", it.JID, "name", it.Name))
	}
	// Without a request, the set appears only when the list was cut.
	if set != nil || len(page.Items) < page.Count {
		rs := stanza.New(stanza.NSRSM, "set")
		if len(page.Items) > 0 {
			rs.Add(stanza.New(stanza.NSRSM, "first", "index", strconv.Itoa(page.Index)).AddText(page.Items[0].JID),
				stanza.New(stanza.NSRSM, "last").AddText(page.Items[len(page.Items)-1].JID))
		}
		res.Add(rs.Add(stanza.New(stanza.NSRSM, "count").AddText(strconv.Itoa(page.Count))))
	}
	return rt.result(st, res)
}

func (rt *Router) result(st, payload *stanza.Element) []room.Out {
	res := stanza.New(stanza.NSClient, "iq", "type", "result", "id", st.Attr("id"), "from", rt.domain)
	return []room.Out{room.To1(st.Attr("from"), res.Add(payload))}
}

func (rt *Router) errorReply(st *stanza.Element, typ stanza.ErrorType, cond stanza.Condition) []room.Out {
	return rt.errorWith(st, stanza.Error{Type: typ, Condition: cond})
}

// errorFrom answers st with an error sent from the given address.
func (rt *Router) errorFrom(st *stanza.Element, from string, typ stanza.ErrorType, cond stanza.Condition) []room.Out {
	return rt.errorWithFrom(st, from, stanza.Error{Type: typ, Condition: cond})
}

// errorText is errorReply with a text saying what was wrong.
func (rt *Router) errorText(st *stanza.Element, typ stanza.ErrorType, cond stanza.Condition, text string) []room.Out {
	return rt.errorWith(st, stanza.Error{Type: typ, Condition: cond, Text: text})
}

// errorWith is errorReply of a whole error, text included.
func (rt *Router) errorWith(st *stanza.Element, e stanza.Error) []room.Out {
	from := st.Attr("to")
	if from == "" {
		from = rt.domain
	}
	return rt.errorWithFrom(st, from, e)
}

// errorWithFrom answers st with e sent from the given address, unless st
// is itself an error or result (RFC 6120 §8.3.1).
func (rt *Router) errorWithFrom(st *stanza.Element, from string, e stanza.Error) []room.Out {
	if st.Attr("from") == "" || st.Attr("type") == "error" || (st.Local == "iq" && st.Attr("type") == "result") {
		return nil
	}
	return []room.Out{room.To1(st.Attr("from"), e.ReplyFrom(st, from))}
}
