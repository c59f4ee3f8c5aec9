package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Errors of Scanner.
var (
	// ErrStreamEnd reports that the peer closed its stream (</stream:stream>).
	ErrStreamEnd = errors.New("the peer closed its stream")
	// ErrTooLarge reports an element larger than the scanner's limit.
	ErrTooLarge = errors.New("element larger than the scanner's limit")
)

// Scanner splits an XML stream into its top-level elements (the stanzas),
// without decoding them. It tracks element depth, skips the text between
// stanzas, the XML declaration, comments and processing instructions, and
// keeps quoted attribute values containing '>' or '/' whole. It does not
// check well-formedness beyond what splitting needs: the servers under test
// are trusted.
//
// Elements are returned as slices of an internal buffer, valid until the
// next call, so a long run allocates nothing per stanza.
type Scanner struct {
	r     io.Reader
	buf   []byte
	pos   int // next byte to scan; always outside any tag
	end   int // end of the data in buf
	start int // where the element being scanned begins, or -1
	depth int // elements open inside the current top-level element
	max   int

	// BeforeRead, if set, runs before each read of the underlying reader,
	// that is whenever everything received so far has been scanned. The
	// null component flushes its output there: one write per batch of
	// input instead of one per stanza.
	BeforeRead func() error
}

// NewScanner reads from r with an initial buffer of size bytes that grows
// up to max bytes for a large element.
func NewScanner(r io.Reader, size, max int) *Scanner {
	if size < 16 {
		size = 16
	}
	if max < size {
		max = size
	}
	return &Scanner{r: r, buf: make([]byte, size), start: -1, max: max}
}

// Header returns the next start tag at the top level, which at the
// beginning of a stream (and after a restart) is the stream header
// <stream:stream ...>. The XML declaration before it is skipped.
func (s *Scanner) Header() ([]byte, error) { return s.next(true) }

// Next returns the next complete top-level element, or ErrStreamEnd when
// the peer closes its stream.
func (s *Scanner) Next() ([]byte, error) { return s.next(false) }

// Buffered is the number of received bytes not yet returned.
func (s *Scanner) Buffered() int { return s.end - s.pos }

func (s *Scanner) next(header bool) ([]byte, error) {
	for {
		for s.pos < s.end {
			i := bytes.IndexByte(s.buf[s.pos:s.end], '<')
			if i < 0 {
				// Text: inside an element it is part of it, between
				// stanzas it is whitespace to drop.
				s.pos = s.end
				break
			}
			s.pos += i
			n, kind, err := scanTag(s.buf[s.pos:s.end])
			if err != nil {
				return nil, err
			}
			if n == 0 {
				break // the tag continues beyond what was received
			}
			tag := s.pos
			s.pos += n
			switch kind {
			case tagStart:
				if s.depth == 0 {
					if header {
						return s.buf[tag:s.pos], nil
					}
					s.start = tag
				}
				s.depth++
			case tagEmpty:
				if s.depth == 0 {
					if header {
						return nil, fmt.Errorf("expected a stream header, got %s", clip(s.buf[tag:s.pos]))
					}
					return s.buf[tag:s.pos], nil
				}
			case tagEnd:
				if s.depth == 0 {
					return nil, ErrStreamEnd
				}
				s.depth--
				if s.depth == 0 {
					el := s.buf[s.start:s.pos]
					s.start = -1
					return el, nil
				}
			}
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// fill moves the unfinished element (or tag) to the front of the buffer,
// grows the buffer if that element fills it, and reads more.
func (s *Scanner) fill() error {
	keep := s.pos
	if s.start >= 0 {
		keep = s.start
	}
	if keep > 0 {
		copy(s.buf, s.buf[keep:s.end])
		s.end -= keep
		s.pos -= keep
		if s.start >= 0 {
			s.start -= keep
		}
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= s.max {
			return ErrTooLarge
		}
		nb := make([]byte, min(2*len(s.buf), s.max))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	if s.BeforeRead != nil {
		if err := s.BeforeRead(); err != nil {
			return err
		}
	}
	for {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if n > 0 {
			return nil
		}
		if err == io.EOF && (s.start >= 0 || s.pos < s.end) {
			return io.ErrUnexpectedEOF
		}
		if err != nil {
			return err
		}
	}
}

// Kinds of tag.
const (
	tagStart = iota // <a ...>
	tagEmpty        // <a .../>
	tagEnd          // </a>
	tagOther        // <?...?>, <!--...-->, <![CDATA[...]]>
)

// scanTag measures the tag at the start of b (b[0] is '<'). It returns
// n == 0 when b ends before the tag does.
func scanTag(b []byte) (n, kind int, err error) {
	if len(b) < 2 {
		return 0, 0, nil
	}
	switch b[1] {
	case '/':
		if i := bytes.IndexByte(b, '>'); i >= 0 {
			return i + 1, tagEnd, nil
		}
		return 0, 0, nil
	case '?':
		if i := bytes.Index(b[2:], []byte("?>")); i >= 0 {
			return i + 4, tagOther, nil
		}
		return 0, 0, nil
	case '!':
		for _, m := range [...]struct{ open, close string }{{"<!--", "-->"}, {"<![CDATA[", "]]>"}} {
			if bytes.HasPrefix(b, []byte(m.open)) {
				if i := bytes.Index(b[len(m.open):], []byte(m.close)); i >= 0 {
					return len(m.open) + i + len(m.close), tagOther, nil
				}
				return 0, 0, nil
			}
			if len(b) < len(m.open) && bytes.HasPrefix([]byte(m.open), b) {
				return 0, 0, nil // too short to tell yet
			}
		}
		return 0, 0, fmt.Errorf("unsupported markup %s", clip(b))
	}
	var quote byte
	for i := 1; i < len(b); i++ {
		c := b[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'':
			quote = c
		case '>':
			if b[i-1] == '/' {
				return i + 1, tagEmpty, nil
			}
			return i + 1, tagStart, nil
		}
	}
	return 0, 0, nil
}

// clip shortens b for an error message.
func clip(b []byte) string {
	const n = 300
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
