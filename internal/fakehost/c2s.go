package fakehost

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"chorus/stanza"
)

// c2sSession is a logged-in client.
type c2sSession struct {
	*stream
	jid jid // bound full JID

	// directed holds the JIDs this client sent available presence to
	// directly and has not sent unavailable to since; guarded by Host.mu.
	directed map[string]bool
}

// serveC2S runs one client connection: login, then routing until the
// stream ends.
func (h *Host) serveC2S(c net.Conn) {
	str := newStream(c)
	defer str.close()
	s, err := h.login(str)
	if err != nil {
		h.logf("fakehost: c2s login: %v", err)
		return
	}
	h.logf("fakehost: client %s bound", s.jid)
	for {
		el, err := s.next()
		switch {
		case errors.Is(err, errEndOfStream):
			h.endSession(s)
			_ = s.write([]byte("</stream:stream>"))
			return
		case err != nil:
			if !isHangUp(err) {
				h.logf("fakehost: client %s: %v", s.jid, err)
			}
			h.endSession(s)
			return
		}
		if !isStanza(el) {
			h.endSession(s)
			s.fail("unsupported-stanza-type", "")
			return
		}
		el.SetAttr("from", s.jid.String())
		h.logf("fakehost: %s -> %s", s.jid, el)
		h.fromClient(s, el)
	}
}

// login runs stream negotiation: SASL PLAIN with any credentials, stream
// restart, resource binding. The session is registered on success.
func (h *Host) login(s *stream) (*c2sSession, error) {
	if err := h.openC2S(s); err != nil {
		return nil, err
	}
	if err := s.write(fmt.Appendf(nil, "<stream:features><mechanisms xmlns='%s'><mechanism>PLAIN</mechanism></mechanisms></stream:features>", stanza.NSSASL)); err != nil {
		return nil, err
	}
	auth, err := s.next()
	if err != nil {
		return nil, err
	}
	if !auth.Is(stanza.NSSASL, "auth") || auth.Attr("mechanism") != "PLAIN" {
		_ = s.write(fmt.Appendf(nil, "<failure xmlns='%s'><invalid-mechanism/></failure>", stanza.NSSASL))
		return nil, fmt.Errorf("expected SASL PLAIN auth, got %s", auth)
	}
	user, err := plainUser(auth.Text())
	if err != nil {
		_ = s.write(fmt.Appendf(nil, "<failure xmlns='%s'><malformed-request/></failure>", stanza.NSSASL))
		return nil, err
	}
	if err := s.write(fmt.Appendf(nil, "<success xmlns='%s'/>", stanza.NSSASL)); err != nil {
		return nil, err
	}

	s.restart()
	if err := h.openC2S(s); err != nil {
		return nil, err
	}
	if err := s.write(fmt.Appendf(nil, "<stream:features><bind xmlns='%s'/><session xmlns='%s'><optional/></session></stream:features>", stanza.NSBind, stanza.NSSession)); err != nil {
		return nil, err
	}
	iq, err := s.next()
	if err != nil {
		return nil, err
	}
	bind := iq.Child(stanza.NSBind, "bind")
	if !iq.Is(stanza.NSClient, "iq") || iq.Attr("type") != "set" || bind == nil {
		s.fail("not-authorized", "bind a resource first")
		return nil, fmt.Errorf("expected bind, got %s", iq)
	}
	sess := h.bind(s, user, strings.TrimSpace(bind.ChildText(stanza.NSBind, "resource")))
	if sess == nil {
		return nil, errors.New("host closed")
	}
	reply := stanza.New(stanza.NSClient, "iq", "type", "result", "id", iq.Attr("id")).Add(
		stanza.New(stanza.NSBind, "bind").Add(stanza.New(stanza.NSBind, "jid").AddText(sess.jid.String())))
	if err := s.writeElement(reply); err != nil {
		h.endSession(sess)
		return nil, err
	}
	return sess, nil
}

// openC2S reads a client's stream header and answers it.
func (h *Host) openC2S(s *stream) error {
	ns, attrs, err := s.readHeader()
	if err != nil {
		return err
	}
	if err := s.openStream(stanza.NSClient, h.opts.Domain, randomID()); err != nil {
		return err
	}
	switch {
	case ns != stanza.NSClient:
		s.fail("invalid-namespace", "expected "+stanza.NSClient)
		return fmt.Errorf("stream namespace %q", ns)
	case !strings.EqualFold(attrs["to"], h.opts.Domain):
		s.fail("host-unknown", "this host serves "+h.opts.Domain)
		return fmt.Errorf("stream to %q", attrs["to"])
	}
	return nil
}

// plainUser returns the authentication identity of a SASL PLAIN response
// (RFC 4616: authzid NUL authcid NUL passwd); any password is accepted.
func plainUser(b64 string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return "", fmt.Errorf("SASL PLAIN: %w", err)
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || parts[1] == "" || strings.ContainsAny(parts[1], "@/ ") {
		return "", errors.New("SASL PLAIN: malformed response")
	}
	return strings.ToLower(parts[1]), nil
}

// bind registers a session for user with the requested resource, or a
// generated one when none was requested or it is taken (RFC 6120 allows the
// server to override it). It returns nil once the host is closed.
func (h *Host) bind(s *stream, user, resource string) *c2sSession {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	j := jid{local: user, domain: strings.ToLower(h.opts.Domain), resource: resource}
	for j.resource == "" || h.sessions[j.String()] != nil {
		j.resource = resource + randomID()[:8]
	}
	sess := &c2sSession{stream: s, jid: j, directed: make(map[string]bool)}
	h.sessions[j.String()] = sess
	return sess
}

// endSession unregisters s and, as a server does when a client goes away,
// sends unavailable presence to every JID it had directed presence to.
func (h *Host) endSession(s *c2sSession) {
	h.mu.Lock()
	if h.sessions[s.jid.String()] == s {
		delete(h.sessions, s.jid.String())
	}
	targets := slices.Sorted(maps.Keys(s.directed))
	clear(s.directed)
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return
	}
	h.logf("fakehost: client %s gone", s.jid)
	for _, to := range targets {
		h.route(stanza.New(stanza.NSClient, "presence", "type", "unavailable", "from", s.jid.String(), "to", to))
	}
}
