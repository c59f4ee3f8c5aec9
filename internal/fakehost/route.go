package fakehost

import (
	"strings"

	"chorus/stanza"
)

// fromClient handles a stanza a client sent, its 'from' already stamped.
func (h *Host) fromClient(s *c2sSession, st *stanza.Element) {
	to := st.Attr("to")
	if st.Local == "presence" {
		h.trackPresence(s, st)
	}
	if isSessionRequest(st) && (to == "" || strings.EqualFold(to, h.opts.Domain)) {
		// RFC 3921 session establishment, still sent by some clients.
		h.deliver(s.stream, stanza.New(stanza.NSClient, "iq", "type", "result", "id", st.Attr("id"), "from", to))
		return
	}
	if to != "" {
		h.route(st)
		return
	}
	// No 'to': the stanza is for the user's own account.
	switch st.Local {
	case "presence":
		// Broadcast presence reaches the user's own sessions (there is no
		// roster here). Prosody echoes it back to the sender too.
		for _, peer := range h.sessionsOf(s.jid.bare()) {
			h.deliver(peer.stream, st)
		}
	case "iq":
		h.bounce(st, "service-unavailable")
	}
}

// trackPresence keeps s.directed in step with the presence s sends: a
// directed available presence remembers the recipient, a directed
// unavailable one forgets it, and a broadcast unavailable presence is also
// sent to every remembered recipient (RFC 6121 §4.6.3).
func (h *Host) trackPresence(s *c2sSession, st *stanza.Element) {
	to, typ := st.Attr("to"), st.Attr("type")
	h.mu.Lock()
	var targets []string
	switch {
	case to != "" && typ == "":
		s.directed[to] = true
	case to != "" && typ == "unavailable":
		delete(s.directed, to)
	case to == "" && typ == "unavailable":
		for t := range s.directed {
			targets = append(targets, t)
		}
		clear(s.directed)
	}
	h.mu.Unlock()
	for _, t := range targets {
		c := st.ShallowCopy()
		c.SetAttr("to", t)
		h.route(c)
	}
}

// route delivers st according to its 'to' like a server with one local
// domain and one component, and no server-to-server links.
func (h *Host) route(st *stanza.Element) {
	if h.opts.OnRoute != nil {
		h.opts.OnRoute(st)
	}
	to, ok := parseJID(st.Attr("to"))
	switch {
	case !ok:
		h.bounce(st, "jid-malformed")
	case to.local == "" && to.resource == "" && to.domain == h.multicastJID():
		h.toMulticast(st)
	case to.domain == strings.ToLower(h.opts.ComponentDomain):
		h.mu.Lock()
		comp := h.comp
		h.mu.Unlock()
		if comp == nil {
			h.bounce(st, "service-unavailable")
			return
		}
		h.deliver(comp, st)
	case to.domain != strings.ToLower(h.opts.Domain):
		h.bounce(st, "remote-server-not-found")
	case to.local == "" && h.domainDisco(st):
	case to.local == "":
		// The host itself offers no other services.
		if isRequest(st) {
			h.bounce(st, "service-unavailable")
		}
	case to.resource != "":
		h.mu.Lock()
		sess := h.sessions[to.String()]
		h.mu.Unlock()
		if sess != nil {
			h.deliver(sess.stream, st)
		} else if st.Local != "presence" {
			h.bounce(st, "service-unavailable")
		}
	default:
		h.toBare(to, st)
	}
}

// toBare handles a stanza to a user's bare JID: messages and presence go to
// every session of the user; an IQ would be for the account, which offers
// nothing here.
func (h *Host) toBare(to jid, st *stanza.Element) {
	switch st.Local {
	case "iq":
		h.bounce(st, "service-unavailable")
		return
	}
	peers := h.sessionsOf(to.bare())
	if len(peers) == 0 && st.Local == "message" {
		h.bounce(st, "service-unavailable")
		return
	}
	for _, p := range peers {
		h.deliver(p.stream, st)
	}
}

func (h *Host) sessionsOf(bare string) []*c2sSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*c2sSession
	for _, s := range h.sessions {
		if s.jid.bare() == bare {
			out = append(out, s)
		}
	}
	return out
}

func (h *Host) deliver(s *stream, st *stanza.Element) {
	if err := s.writeElement(st); err != nil {
		h.logf("fakehost: delivery to %s failed: %v", st.Attr("to"), err)
	}
}

// bounce answers st with an error of the given condition, as a server
// does for a recipient it cannot reach. Errors and results are never
// answered, which also prevents bounce loops. Like Prosody's error_reply,
// the original payload is not echoed.
func (h *Host) bounce(st *stanza.Element, cond string) {
	switch st.Attr("type") {
	case "error", "result":
		return
	}
	reply := stanza.New(stanza.NSClient, st.Local,
		"id", st.Attr("id"), "type", "error", "from", st.Attr("to"), "to", st.Attr("from"))
	reply.Add(stanza.New(stanza.NSClient, "error", "type", "cancel").Add(stanza.New(stanza.NSStanzas, cond)))
	h.logf("fakehost: bounce %s: %s", cond, st)
	h.route(reply)
}

func isSessionRequest(st *stanza.Element) bool {
	return st.Local == "iq" && st.Attr("type") == "set" && st.Child(stanza.NSSession, "session") != nil
}

func isRequest(st *stanza.Element) bool {
	if st.Local != "iq" {
		return false
	}
	t := st.Attr("type")
	return t == "get" || t == "set"
}
