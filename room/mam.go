package room

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"chorus/affiliations"
	"chorus/forms"
	"chorus/stanza"
	"chorus/store"
)

// Namespaces of the archive protocol.
const (
	NSMAM     = "urn:xmpp:mam:2"
	NSRSM     = stanza.NSRSM
	NSForward = "urn:xmpp:forward:0"
	// NSXDataValidate is XEP-0122's namespace.
	NSXDataValidate = "http://jabber.org/protocol/xdata-validate"
)

// NSMAMExtended advertises what XEP-0313 adds to the basic protocol: the
// before-id, after-id and ids fields (§4.1: a server that supports them
// MUST advertise it), <flip-page/> (§4.3.4) and archive metadata (§5).
const NSMAMExtended = NSMAM + "#extended"

// maxQueryIDs bounds the ids field: a page holds at most 1000 messages
// anyway (store.Query), and each id is a bound parameter.
const maxQueryIDs = 1000

var mamFeature = feature{
	name: "mam",
	disco: func(r *Room) []string {
		if r.archives() {
			return []string{NSMAM, NSMAMExtended}
		}
		return nil
	},
}

func (g *Registry) isMAMQuery(req *request) bool {
	if req.st.Local != "iq" || req.nick != "" || len(req.st.Children()) != 1 {
		return false
	}
	p := req.st.FirstChild()
	return (p.Is(NSMAM, "query") && (req.typ == "get" || req.typ == "set")) ||
		(p.Is(NSMAM, "metadata") && req.typ == "get")
}

// mam answers an archive query to a room (XEP-0313 §4-5). The store is
// read outside the room lock; the room only decides who may read.
func (g *Registry) mam(r *Room, req *request) []Out {
	r.mu.Lock()
	e := r.mayReadArchive(req)
	archives := r.archives()
	r.mu.Unlock()
	reply := func(e *stanzaError) []Out { return []Out{To1(req.from, errorReply(req.st, e, r.jid))} }
	switch {
	case e != nil:
		return reply(e)
	case !archives:
		return reply(errServiceUnavailable.withText("This room keeps no archive"))
	}
	q := req.st.FirstChild()
	storeErr := func(err error) []Out {
		if g.svc.onStoreError != nil {
			g.svc.onStoreError(err)
		}
		return reply(newError(errWait, "internal-server-error").withText("The archive could not be read"))
	}
	if q.Local == "metadata" {
		return g.mamMetadata(r, req, storeErr)
	}
	if req.typ == "get" {
		// XEP-0313 §4.1.5: the fields a query form may use.
		f := (&forms.Form{Type: forms.TypeForm}).Add(forms.HiddenFormType(NSMAM),
			forms.Field{Var: "with", Type: forms.JIDSingle}, forms.Field{Var: "start", Type: forms.TextSingle},
			forms.Field{Var: "end", Type: forms.TextSingle}, forms.Field{Var: "before-id", Type: forms.TextSingle},
			forms.Field{Var: "after-id", Type: forms.TextSingle}, forms.Field{Var: "ids", Type: forms.ListMulti})
		x := f.Element()
		for _, fd := range x.ChildrenNamed(forms.NS, "field") {
			if fd.Attr("var") == "ids" {
				// XEP-0313 §4.1.5: 'ids' lists no options and MUST say,
				// with an XEP-0122 <validate/>, that any value is open.
				fd.Add(stanza.New(NSXDataValidate, "validate", "datatype", "xs:string").Add(stanza.New(NSXDataValidate, "open")))
			}
		}
		return []Out{To1(req.from, iqResult(req.st).Add(stanza.New(NSMAM, "query").Add(x)))}
	}
	sq, countOnly, err := parseMAMQuery(q)
	if err != nil {
		return reply(err)
	}
	sq.Room = r.jid
	g.archive.sync() // what was just said is part of the answer
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	page, qerr := g.svc.store.Query(ctx, sq)
	switch {
	case errors.Is(qerr, store.ErrNotFound):
		return reply(errItemNotFound.withText("No such archive id"))
	case qerr != nil:
		return storeErr(qerr)
	}
	queryID := q.Attr("queryid")
	if countOnly {
		// XEP-0059 §2.6: max 0 asks whether (and how much) there is, so
		// no item is sent; complete says whether the archive holds none.
		fin := stanza.New(NSMAM, "fin", "queryid", queryID).Add(stanza.New(NSRSM, "set"))
		if len(page.Messages) == 0 {
			fin.SetAttr("complete", "true")
		}
		return []Out{To1(req.from, iqResult(req.st).Add(fin))}
	}
	outs := make([]Out, 0, len(page.Messages)+1)
	for _, m := range page.Messages {
		orig, err := stanza.Parse(string(m.Stanza))
		if err != nil {
			continue
		}
		fwd := stanza.New(NSForward, "forwarded").Add(delayEl(r.jid, m.At)).Add(orig)
		res := stanza.New(NSMAM, "result", "queryid", queryID, "id", m.ID).Add(fwd)
		outs = append(outs, To1(req.from, stanza.New(NSClient, "message", "from", r.jid, "id", r.svc.newID()).Add(res)))
	}
	// XEP-0313 §4.3.4: a flipped page holds the same results, sent newest
	// first. As in Prosody, <first/> and <last/> still name the page's ends
	// in archive order, so paging on from them works as without the flip.
	if q.Child(NSMAM, "flip-page") != nil {
		slices.Reverse(outs)
	}
	set := stanza.New(NSRSM, "set")
	if n := len(page.Messages); n > 0 {
		set.Add(stanza.New(NSRSM, "first").AddText(page.Messages[0].ID), stanza.New(NSRSM, "last").AddText(page.Messages[n-1].ID))
	}
	fin := stanza.New(NSMAM, "fin", "queryid", queryID).Add(set)
	if page.Complete {
		fin.SetAttr("complete", "true")
	}
	return append(outs, To1(req.from, iqResult(req.st).Add(fin)))
}

// mayReadArchive: the archive is as open as the room (Prosody's rule):
// outcasts never, members-only rooms to members, password-protected rooms
// to those inside.
func (r *Room) mayReadArchive(req *request) *stanzaError {
	aff := r.affiliation(req.bare)
	switch {
	case aff == affiliations.Outcast:
		return errForbidden
	case r.cfg.MembersOnly && aff < affiliations.Member:
		return errForbidden.withText("The archive of a members-only room is for members")
	case r.cfg.Password != "" && aff < affiliations.Member && r.occupantBySession(req.from) == nil:
		return errForbidden.withText("Enter the room to read its archive")
	}
	return nil
}

// parseMAMQuery reads the query form and the RSM set (XEP-0313 §4.1,
// XEP-0059).
func parseMAMQuery(q *stanza.Element) (sq store.Query, countOnly bool, e *stanzaError) {
	if x := q.Child(forms.NS, "x"); x != nil {
		f, err := forms.Parse(x)
		if err != nil || (f.FormType() != "" && f.FormType() != NSMAM) {
			return sq, false, errBadRequest.withText("Unknown query form")
		}
		for _, fd := range f.Fields {
			v := fd.Value()
			var perr error
			switch fd.Var {
			case "FORM_TYPE":
			case "with":
				j, ok := parseJID(v)
				if !ok {
					return sq, false, errJIDMalformed.withText("Bad 'with'")
				}
				sq.With = j.String()
			case "start":
				sq.Start, perr = time.Parse(time.RFC3339, v)
			case "end":
				sq.End, perr = time.Parse(time.RFC3339, v)
			case "after-id":
				sq.After = v
			case "before-id":
				sq.Before = v
			case "ids":
				// XEP-0313 §4.1.3: only these messages, in archive order;
				// an id not in the archive is item-not-found (the store's
				// ErrNotFound).
				if len(fd.Values) > maxQueryIDs {
					return sq, false, newError(errModify, "policy-violation").withText("At most " + strconv.Itoa(maxQueryIDs) + " ids")
				}
				for _, id := range fd.Values {
					if id != "" {
						sq.IDs = append(sq.IDs, id)
					}
				}
				if len(sq.IDs) == 0 {
					return sq, false, errBadRequest.withText("Empty 'ids'")
				}
			default:
				// XEP-0313 §4.1.5: an unknown field MUST be refused so.
				return sq, false, errFeatureNotImpl.withText("Unsupported field " + fd.Var)
			}
			if perr != nil {
				return sq, false, errBadRequest.withText("Bad date in " + fd.Var)
			}
		}
	}
	if set := q.Child(NSRSM, "set"); set != nil {
		if m := set.Child(NSRSM, "max"); m != nil {
			n, err := strconv.Atoi(m.Text())
			if err != nil || n < 0 {
				return sq, false, errBadRequest.withText("Bad RSM max")
			}
			sq.Max = n
			if n == 0 {
				// A count-only request: one item tells whether there
				// is any, and none is sent.
				sq.Max, countOnly = 1, true
			}
		}
		if a := set.Child(NSRSM, "after"); a != nil {
			sq.After = a.Text()
		}
		if b := set.Child(NSRSM, "before"); b != nil {
			if b.Text() == "" {
				sq.Last = true
			} else {
				sq.Before = b.Text()
			}
		}
	}
	if sq.After != "" && (sq.Before != "" || sq.Last) {
		return sq, false, errBadRequest.withText("Page either after or before an item")
	}
	return sq, countOnly, nil
}

// mamMetadata answers an archive metadata request (XEP-0313 §5): the id
// and time of the first and last message, or an empty <metadata/> when the
// archive is empty (there is nothing for <start/> and <end/> to name).
func (g *Registry) mamMetadata(r *Room, req *request, storeErr func(error) []Out) []Out {
	g.archive.sync()
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	first, last, err := g.svc.store.Bounds(ctx, r.jid)
	if err != nil {
		return storeErr(err)
	}
	md := stanza.New(NSMAM, "metadata")
	if first != nil && last != nil {
		stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
		md.Add(stanza.New(NSMAM, "start", "id", first.ID, "timestamp", stamp(first.At)),
			stanza.New(NSMAM, "end", "id", last.ID, "timestamp", stamp(last.At)))
	}
	return []Out{To1(req.from, iqResult(req.st).Add(md))}
}
