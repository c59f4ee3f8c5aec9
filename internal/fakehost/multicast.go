package fakehost

import (
	"strconv"
	"strings"

	"chorus/stanza"
)

// XEP-0033 namespaces, and that of Chorus's bcc list.
const (
	nsAddress = "http://jabber.org/protocol/address"
	nsData    = "jabber:x:data"
	nsBccList = "urn:chorus:multicast:bcc"
)

// MulticastOptions give the host a XEP-0033 multicast service, listed in
// the disco#items of its domain, as ejabberd's mod_multicast is.
type MulticastOptions struct {
	// JID is the service's address; default "multicast." + Domain.
	JID string
	// Limit, when positive, is advertised as the service's limit for both
	// messages and presence (XEP-0033 §2.3) and enforced: a stanza with
	// more addresses gets not-acceptable (§8).
	Limit int
	// Refuse makes the service answer every stanza with forbidden, as a
	// service whose access policy excludes the sender.
	Refuse bool
	// Hold makes the service keep the copies it makes, in order, until
	// ReleaseMulticast, while everything else is routed at once: the
	// worst case of a service that is a hop of its own, as ejabberd's
	// mod_multicast (a process apart) is.
	Hold bool
	// InOrder advertises urn:chorus:multicast#in-order, as Chorus's
	// module for Prosody does: the service delivers each stanza before
	// the next one is read.
	InOrder bool
	// BccList advertises urn:chorus:multicast:bcc, as Chorus's module
	// for Prosody does, and takes the recipients as one <bcc/> element
	// listing their JIDs separated by tabs, besides XEP-0033 addresses.
	BccList bool
}

// multicastJID is the service's address, or "" without one.
func (h *Host) multicastJID() string {
	if h.opts.Multicast == nil {
		return ""
	}
	if h.opts.Multicast.JID != "" {
		return strings.ToLower(h.opts.Multicast.JID)
	}
	return "multicast." + strings.ToLower(h.opts.Domain)
}

// SetMulticastRefuse changes whether the multicast service refuses every
// stanza.
func (h *Host) SetMulticastRefuse(refuse bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.mcRefuse = refuse
}

// ReleaseMulticast stops holding the multicast service's copies (see
// MulticastOptions.Hold) and routes those held so far, in the order they
// were made. It reports how many it routed.
func (h *Host) ReleaseMulticast() int {
	n := 0
	for {
		h.mu.Lock()
		held := h.mcHeld
		h.mcHeld = nil
		if len(held) == 0 {
			// Only now, so that no copy made meanwhile overtakes the
			// held ones.
			h.mcReleased = true
			h.mu.Unlock()
			return n
		}
		h.mu.Unlock()
		for _, c := range held {
			h.route(c)
		}
		n += len(held)
	}
}

// domainDisco answers a disco request to the host's own domain; it
// reports false for anything else.
func (h *Host) domainDisco(st *stanza.Element) bool {
	if st.Local != "iq" || st.Attr("type") != "get" {
		return false
	}
	reply := func(q *stanza.Element) {
		h.route(stanza.New(stanza.NSClient, "iq", "type", "result", "id", st.Attr("id"),
			"from", st.Attr("to"), "to", st.Attr("from")).Add(q))
	}
	switch {
	case st.Child(stanza.NSDiscoItems, "query") != nil:
		q := stanza.New(stanza.NSDiscoItems, "query")
		q.Add(stanza.New(stanza.NSDiscoItems, "item", "jid", h.opts.ComponentDomain))
		if j := h.multicastJID(); j != "" {
			q.Add(stanza.New(stanza.NSDiscoItems, "item", "jid", j))
		}
		reply(q)
	case st.Child(stanza.NSDiscoInfo, "query") != nil:
		reply(stanza.New(stanza.NSDiscoInfo, "query").
			Add(stanza.New(stanza.NSDiscoInfo, "identity", "category", "server", "type", "im")).
			Add(stanza.New(stanza.NSDiscoInfo, "feature", "var", stanza.NSDiscoInfo)))
	default:
		return false
	}
	return true
}

// toMulticast handles a stanza to the multicast service.
func (h *Host) toMulticast(st *stanza.Element) {
	opts := h.opts.Multicast
	if st.Local == "iq" {
		if st.Attr("type") == "get" && st.Child(stanza.NSDiscoInfo, "query") != nil {
			q := stanza.New(stanza.NSDiscoInfo, "query").
				Add(stanza.New(stanza.NSDiscoInfo, "identity", "category", "service", "type", "multicast")).
				Add(stanza.New(stanza.NSDiscoInfo, "feature", "var", nsAddress))
			if opts.InOrder {
				q.Add(stanza.New(stanza.NSDiscoInfo, "feature", "var", "urn:chorus:multicast#in-order"))
			}
			if opts.BccList {
				q.Add(stanza.New(stanza.NSDiscoInfo, "feature", "var", nsBccList))
			}
			if opts.Limit > 0 {
				n := strconv.Itoa(opts.Limit)
				q.Add(stanza.New(nsData, "x", "type", "result").
					Add(stanza.New(nsData, "field", "var", "FORM_TYPE", "type", "hidden").Add(stanza.New(nsData, "value").AddText(nsAddress))).
					Add(stanza.New(nsData, "field", "var", "message").Add(stanza.New(nsData, "value").AddText(n))).
					Add(stanza.New(nsData, "field", "var", "presence").Add(stanza.New(nsData, "value").AddText(n))))
			}
			h.route(stanza.New(stanza.NSClient, "iq", "type", "result", "id", st.Attr("id"),
				"from", st.Attr("to"), "to", st.Attr("from")).Add(q))
			return
		}
		h.bounce(st, "service-unavailable")
		return
	}
	if st.Attr("type") == "error" {
		return
	}
	h.mu.Lock()
	refuse := h.mcRefuse || opts.Refuse
	h.mu.Unlock()
	addrs := st.Child(nsAddress, "addresses")
	var to []string
	if addrs != nil {
		for _, a := range addrs.ChildrenNamed(nsAddress, "address") {
			to = append(to, a.Attr("jid"))
		}
	}
	list := st.Child(nsBccList, "bcc")
	if list != nil && opts.BccList && addrs == nil {
		to = strings.Split(list.Text(), "\t")
	}
	switch {
	case refuse:
		h.bounceKeep(st, "forbidden")
	case len(to) == 0:
		h.bounceKeep(st, "bad-request")
	case opts.Limit > 0 && len(to) > opts.Limit:
		h.bounceKeep(st, "not-acceptable")
	default:
		copies := make([]*stanza.Element, 0, len(to))
		for _, t := range to {
			c := st.ShallowCopy()
			c.RemoveChildren(func(e *stanza.Element) bool { return e.Is(nsAddress, "addresses") || e.Is(nsBccList, "bcc") })
			c.SetAttr("to", t)
			copies = append(copies, c)
		}
		h.mu.Lock()
		if opts.Hold && !h.mcReleased {
			h.mcHeld = append(h.mcHeld, copies...)
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		for _, c := range copies {
			h.route(c)
		}
	}
}

// bounceKeep answers st with an error that keeps st's payload, as
// ejabberd's mod_multicast does (xmpp:make_error).
func (h *Host) bounceKeep(st *stanza.Element, cond string) {
	reply := st.ShallowCopy()
	reply.SetAttr("type", "error")
	reply.SetAttr("from", st.Attr("to"))
	reply.SetAttr("to", st.Attr("from"))
	reply.Add(stanza.New(stanza.NSClient, "error", "type", "auth").Add(stanza.New(stanza.NSStanzas, cond)))
	h.logf("fakehost: multicast refused (%s): %s", cond, st)
	h.route(reply)
}
