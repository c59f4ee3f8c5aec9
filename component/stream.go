package component

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"

	"mellium.im/xmpp/stream"

	"chorus/stanza"
)

// errWrongPort is a server that answered a component stream as a client
// (or server-to-server) listener does.
type errWrongPort struct{ ns string }

func (e errWrongPort) Error() string {
	return "the server answered with a " + e.ns + " stream, not jabber:component:accept"
}

// errRestrictedXML is restricted XML on the stream (RFC 6120 §11.1).
var errRestrictedXML = errors.New("component: restricted XML (comment, processing instruction or DTD)")

// openStream performs the XEP-0114 handshake on nc: our stream header, the
// server's (its id), then <handshake/> with the digest of id and secret
// (XEP-0114 §3). It returns the decoder positioned after the server's
// <handshake/>, the way the link reads the stream from then on.
//
// We do this ourselves rather than through mellium's session because its
// reader takes any element in the stream namespace as a stream-level
// element, at any depth: a stanza carrying <error
// xmlns='http://etherx.jabber.org/streams'/> as payload, which servers
// forward as it is, would then end the link.
func openStream(nc net.Conn, domain, secret string) (*xml.Decoder, error) {
	if _, err := fmt.Fprintf(nc, `<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' to='%s'>`, stanza.NSComponent, stanza.NSStream, domain); err != nil {
		return nil, err
	}
	d := xml.NewDecoder(nc)
	start, err := nextStart(d)
	if err != nil {
		return nil, err
	}
	if start.Name.Space != stanza.NSStream || start.Name.Local != "stream" {
		if se, ok := asStreamError(d, start); ok {
			return nil, handshakeError{se}
		}
		return nil, fmt.Errorf("the server sent <%s xmlns='%s'>, not a stream header", start.Name.Local, start.Name.Space)
	}
	id, ns := "", ""
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "id":
			id = a.Value
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			ns = a.Value
		}
	}
	if ns == stanza.NSClient || ns == stanza.NSServer {
		// A client or server-to-server listener: whatever it says next
		// (host-unknown, invalid-namespace), the address is wrong.
		return nil, errWrongPort{ns}
	}
	if id == "" {
		// Servers refuse a domain they do not serve with a header without
		// id and then the stream error that says why.
		if next, err := nextStart(d); err == nil {
			if se, ok := asStreamError(d, next); ok {
				return nil, handshakeError{se}
			}
		}
		return nil, errors.New("the server's stream header has no id")
	}
	sum := sha1.Sum([]byte(id + secret))
	if _, err := fmt.Fprintf(nc, `<handshake>%s</handshake>`, hex.EncodeToString(sum[:])); err != nil {
		return nil, err
	}
	start, err = nextStart(d)
	if err != nil {
		return nil, err
	}
	if se, ok := asStreamError(d, start); ok {
		return nil, handshakeError{se}
	}
	if start.Name.Local != "handshake" || start.Name.Space != stanza.NSComponent {
		return nil, fmt.Errorf("the server answered the handshake with <%s xmlns='%s'>", start.Name.Local, start.Name.Space)
	}
	if err := d.Skip(); err != nil {
		return nil, err
	}
	return d, nil
}

// nextStart returns the next start element, skipping the XML declaration
// and whitespace.
func nextStart(d *xml.Decoder) (xml.StartElement, error) {
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return xml.StartElement{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.ProcInst:
			if t.Target != "xml" {
				return xml.StartElement{}, errRestrictedXML
			}
		case xml.Comment, xml.Directive:
			return xml.StartElement{}, errRestrictedXML
		}
	}
}

// asStreamError decodes start as a stream error, if it is one.
func asStreamError(d *xml.Decoder, start xml.StartElement) (stream.Error, bool) {
	if start.Name.Space != stanza.NSStream || start.Name.Local != "error" {
		return stream.Error{}, false
	}
	var se stream.Error
	if err := d.DecodeElement(&se, &start); err != nil {
		return stream.Error{}, false
	}
	return se, true
}

// streamReader reads the established stream: stanzas are passed on whole,
// whatever their payload; only what stands between stanzas is the stream's
// business. It ends with io.EOF at </stream:stream> and with a streamError
// at a stream error.
type streamReader struct {
	d     *xml.Decoder
	depth int // open elements below <stream:stream>
}

func (r *streamReader) Token() (xml.Token, error) {
	tok, err := r.d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		if r.depth == 0 && t.Name.Space == stanza.NSStream {
			if se, ok := asStreamError(r.d, t); ok {
				return nil, streamError{se}
			}
			return nil, fmt.Errorf("unexpected <%s/> in the stream namespace between stanzas", t.Name.Local)
		}
		r.depth++
	case xml.EndElement:
		if r.depth == 0 {
			return nil, io.EOF // </stream:stream>
		}
		r.depth--
	case xml.CharData:
		if r.depth == 0 && len(bytes.TrimLeft(t, " \t\r\n")) != 0 {
			return nil, errors.New("text between stanzas")
		}
	case xml.ProcInst, xml.Comment, xml.Directive:
		// RFC 6120 §11.1: a server never forwards these (Prosody ends a
		// client's stream over them), so the link itself is broken.
		return nil, errRestrictedXML
	}
	return tok, nil
}
