package room

import (
	"context"
	"errors"
	"strconv"
	"time"

	"chorus/affiliations"
	"chorus/forms"
	"chorus/internal/xmlel"
	"chorus/store"
)

// Namespaces of the archive protocol.
const (
	NSMAM     = "urn:xmpp:mam:2"
	NSRSM     = "http://jabber.org/protocol/rsm"
	NSForward = "urn:xmpp:forward:0"
)

var mamFeature = feature{
	name: "mam",
	disco: func(r *Room) []string {
		if r.archives() {
			return []string{NSMAM}
		}
		return nil
	},
}

func (g *Registry) isMAMQuery(req *request) bool {
	return req.st.Local == "iq" && req.nick == "" && (req.typ == "get" || req.typ == "set") &&
		req.st.FirstChild().Is(NSMAM, "query") && len(req.st.Children()) == 1
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
	if req.typ == "get" {
		// XEP-0313 §6.1: the fields a query form may use.
		f := (&forms.Form{Type: forms.TypeForm}).Add(forms.HiddenFormType(NSMAM),
			forms.Field{Var: "with", Type: forms.JIDSingle}, forms.Field{Var: "start", Type: forms.TextSingle},
			forms.Field{Var: "end", Type: forms.TextSingle}, forms.Field{Var: "before-id", Type: forms.TextSingle},
			forms.Field{Var: "after-id", Type: forms.TextSingle})
		return []Out{To1(req.from, iqResult(req.st).Add(xmlel.New(NSMAM, "query").Add(f.Element())))}
	}
	sq, err := parseMAMQuery(q)
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
		if g.svc.onStoreError != nil {
			g.svc.onStoreError(qerr)
		}
		return reply(newError(errWait, "internal-server-error").withText("The archive could not be read"))
	}
	outs := make([]Out, 0, len(page.Messages)+1)
	queryID := q.Attr("queryid")
	for _, m := range page.Messages {
		orig, err := xmlel.Parse(string(m.Stanza))
		if err != nil {
			continue
		}
		fwd := xmlel.New(NSForward, "forwarded").Add(delayEl(r.jid, m.At)).Add(orig)
		res := xmlel.New(NSMAM, "result", "queryid", queryID, "id", m.ID).Add(fwd)
		outs = append(outs, To1(req.from, xmlel.New(NSClient, "message", "from", r.jid, "id", r.svc.newID()).Add(res)))
	}
	set := xmlel.New(NSRSM, "set")
	if n := len(page.Messages); n > 0 {
		set.Add(xmlel.New(NSRSM, "first").AddText(page.Messages[0].ID), xmlel.New(NSRSM, "last").AddText(page.Messages[n-1].ID))
	}
	fin := xmlel.New(NSMAM, "fin", "queryid", queryID).Add(set)
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
func parseMAMQuery(q *xmlel.Element) (store.Query, *stanzaError) {
	var sq store.Query
	if x := q.Child(forms.NS, "x"); x != nil {
		f, err := forms.Parse(x)
		if err != nil || (f.FormType() != "" && f.FormType() != NSMAM) {
			return sq, errBadRequest.withText("Unknown query form")
		}
		for _, fd := range f.Fields {
			v := fd.Value()
			var perr error
			switch fd.Var {
			case "FORM_TYPE":
			case "with":
				j, ok := parseJID(v)
				if !ok {
					return sq, errJIDMalformed.withText("Bad 'with'")
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
			default:
				return sq, errBadRequest.withText("Unsupported field " + fd.Var)
			}
			if perr != nil {
				return sq, errBadRequest.withText("Bad date in " + fd.Var)
			}
		}
	}
	if set := q.Child(NSRSM, "set"); set != nil {
		if m := set.Child(NSRSM, "max"); m != nil {
			n, err := strconv.Atoi(m.Text())
			if err != nil || n < 0 {
				return sq, errBadRequest.withText("Bad RSM max")
			}
			sq.Max = n
			if n == 0 {
				sq.Max = 1 // a count-only request still needs a valid page
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
		return sq, errBadRequest.withText("Page either after or before an item")
	}
	return sq, nil
}
