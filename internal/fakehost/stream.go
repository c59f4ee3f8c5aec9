package fakehost

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"chorus/stanza"
)

// stanzaLimits are a real server's: large enough for the member list of a
// big room, which servers pass to clients whole.
var stanzaLimits = stanza.Limits{MaxDepth: 64, MaxBytes: 16 << 20}

// writeTimeout bounds a write to one peer, so a peer that stops reading
// cannot stall routing for everybody else; it is disconnected instead.
const writeTimeout = 5 * time.Second

// errEndOfStream reports that the peer closed its stream with
// </stream:stream>.
var errEndOfStream = errors.New("end of stream")

// stream is one XML stream over a connection: an incremental reader and a
// writer that may be used from several goroutines.
type stream struct {
	conn net.Conn
	r    *bufio.Reader
	dec  *xml.Decoder

	wmu       sync.Mutex
	closeOnce sync.Once
}

func newStream(c net.Conn) *stream {
	s := &stream{conn: c, r: bufio.NewReader(c)}
	s.restart()
	return s
}

// restart begins a new XML document after SASL. The decoder reads the
// shared bufio.Reader directly (it is an io.ByteReader), so no bytes are
// lost in a discarded decoder's buffer.
func (s *stream) restart() {
	s.dec = xml.NewDecoder(s.r)
}

// readHeader reads up to and including the peer's stream header and returns
// its default namespace and attributes.
func (s *stream) readHeader() (ns string, attrs map[string]string, err error) {
	for {
		tok, err := s.dec.Token()
		if err != nil {
			return "", nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != stanza.NSStream || t.Name.Local != "stream" {
				return "", nil, fmt.Errorf("expected stream header, got <%s>", t.Name.Local)
			}
			attrs = make(map[string]string)
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					ns = a.Value
				case a.Name.Space == "":
					attrs[a.Name.Local] = a.Value
				}
			}
			return ns, attrs, nil
		case xml.ProcInst, xml.Comment:
		case xml.CharData:
			if len(strings.TrimSpace(string(t))) != 0 {
				return "", nil, errors.New("text before stream header")
			}
		default:
			return "", nil, fmt.Errorf("unexpected %T before stream header", tok)
		}
	}
}

// next reads the next top-level element of the stream. It returns
// errEndOfStream when the peer closes its stream.
func (s *stream) next() (*stanza.Element, error) {
	for {
		tok, err := s.dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return stanza.Decode(s.dec, t, stanzaLimits)
		case xml.EndElement:
			return nil, errEndOfStream
		case xml.CharData:
			// Whitespace keepalives and pretty-printing between stanzas.
		case xml.Comment:
		default:
			return nil, stanza.ErrRestricted
		}
	}
}

// openStream writes our stream header.
func (s *stream) openStream(ns, from, id string) error {
	return s.write(fmt.Appendf(nil, "<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' from='%s' id='%s' version='1.0'>",
		ns, stanza.NSStream, from, id))
}

func (s *stream) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeLocked(b)
}

// writeLocked writes with s.wmu already held. A failed write closes the
// connection so that the reading side notices and cleans up.
func (s *stream) writeLocked(b []byte) error {
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := s.conn.Write(b); err != nil {
		s.close()
		return err
	}
	return nil
}

func (s *stream) writeElement(e *stanza.Element) error {
	return s.write(e.Append(nil))
}

// fail sends a stream error with the given condition, closes our stream and
// the connection.
func (s *stream) fail(cond, text string) {
	e := stanza.New(stanza.NSStream, "error").Add(stanza.New(stanza.NSStreamErrors, cond))
	if text != "" {
		e.Add(stanza.New(stanza.NSStreamErrors, "text").AddText(text))
	}
	_ = s.write(append(e.Append(nil), "</stream:stream>"...))
	s.close()
}

func (s *stream) close() {
	s.closeOnce.Do(func() { _ = s.conn.Close() })
}

// isHangUp reports whether err from reading a stream just means the peer
// (or Close) cut the connection, which needs no log line.
func isHangUp(err error) bool {
	var se *xml.SyntaxError
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || (errors.As(err, &se) && se.Msg == "unexpected EOF")
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
