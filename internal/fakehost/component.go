package fakehost

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"net"
	"strings"

	"chorus/stanza"
)

// serveComponent runs the server side of XEP-0114 on c.
func (h *Host) serveComponent(c net.Conn) {
	s := newStream(c)
	defer s.close()
	ns, attrs, err := s.readHeader()
	if err != nil {
		h.logf("fakehost: component: %v", err)
		return
	}
	id := randomID()
	if err := s.openStream(stanza.NSComponent, h.opts.ComponentDomain, id); err != nil {
		return
	}
	switch {
	case ns != stanza.NSComponent:
		s.fail("invalid-namespace", "expected "+stanza.NSComponent)
		return
	case attrs["to"] != h.opts.ComponentDomain:
		s.fail("host-unknown", "this host serves the component domain "+h.opts.ComponentDomain)
		return
	}

	hs, err := s.next()
	if err != nil {
		return
	}
	sum := sha1.Sum([]byte(id + h.opts.Secret))
	if !hs.Is(stanza.NSClient, "handshake") || strings.ToLower(strings.TrimSpace(hs.Text())) != hex.EncodeToString(sum[:]) {
		h.logf("fakehost: component: handshake refused")
		s.fail("not-authorized", "")
		return
	}

	// Attach and acknowledge under the write lock, so no routed stanza can
	// overtake the handshake reply.
	s.wmu.Lock()
	attached := h.attachComponent(s)
	if attached {
		_ = s.writeLocked([]byte("<handshake/>"))
	}
	s.wmu.Unlock()
	if !attached {
		h.logf("fakehost: component: refused, another one is connected")
		s.fail("conflict", "Component already connected")
		return
	}
	h.logf("fakehost: component %s attached", h.opts.ComponentDomain)
	defer h.detachComponent(s)

	for {
		st, err := s.next()
		switch {
		case errors.Is(err, errEndOfStream):
			_ = s.write([]byte("</stream:stream>"))
			return
		case err != nil:
			if !isHangUp(err) {
				h.logf("fakehost: component: %v", err)
			}
			return
		}
		if cond, text := h.checkFromComponent(st); cond != "" {
			h.logf("fakehost: component stream closed with %s: %s: %s", cond, text, st)
			h.detachComponent(s)
			s.fail(cond, text)
			return
		}
		h.logf("fakehost: component -> %s", st)
		h.route(st)
	}
}

// checkFromComponent returns the stream error condition that a stanza from
// the component earns, or "" if it is acceptable. Prosody fills in a missing
// 'from' and answers a missing 'to' with a stanza error; this host closes
// the stream instead, since either is a bug in the component.
func (h *Host) checkFromComponent(st *stanza.Element) (cond, text string) {
	if !isStanza(st) {
		return "unsupported-stanza-type", "<" + st.Local + "/> is not a stanza"
	}
	from := st.Attr("from")
	if j, ok := parseJID(from); !ok || j.domain != h.opts.ComponentDomain {
		return "invalid-from", "component sent a stanza from '" + from + "', which is not in " + h.opts.ComponentDomain
	}
	if st.Attr("to") == "" {
		return "improper-addressing", "Components MUST specify a 'to' address on stanzas"
	}
	return "", ""
}

func (h *Host) attachComponent(s *stream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.comp != nil || h.closed {
		return false
	}
	h.setComponentLocked(s)
	return true
}

func (h *Host) detachComponent(s *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.comp == s {
		h.setComponentLocked(nil)
	}
}

// setComponentLocked changes the attached component and wakes waiters;
// h.mu must be held.
func (h *Host) setComponentLocked(s *stream) {
	h.comp = s
	close(h.compSig)
	h.compSig = make(chan struct{})
}

func isStanza(e *stanza.Element) bool {
	if e.Space != stanza.NSClient {
		return false
	}
	switch e.Local {
	case "message", "presence", "iq":
		return true
	}
	return false
}
