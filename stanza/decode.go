package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bounds what Decode accepts, so a hostile peer cannot make one
// stanza exhaust memory or the stack.
type Limits struct {
	// MaxDepth is the deepest nesting allowed below the top element.
	MaxDepth int
	// MaxBytes bounds the characters of names, attribute values and text of
	// one stanza (an approximation of its size that needs no byte counting).
	MaxBytes int
	// MaxAttrs bounds the attributes of one element, namespace
	// declarations included: each costs the decoder a record, and no
	// protocol a MUC service speaks puts more than a handful on one element.
	MaxAttrs int
}

// DefaultLimits are generous for chat and small enough to refuse abuse.
var DefaultLimits = Limits{MaxDepth: 32, MaxBytes: 256 << 10, MaxAttrs: 64}

// Errors from Decode.
var (
	ErrTooDeep       = errors.New("stanza: element nested too deeply")
	ErrTooLarge      = errors.New("stanza: element too large")
	ErrTooManyAttrs  = errors.New("stanza: element has too many attributes")
	ErrRestricted    = errors.New("stanza: restricted XML (DTD, processing instruction)")
	ErrUnexpectedEOF = errors.New("stanza: unexpected end of input inside element")
)

// OverLimit reports whether err is Decode refusing an element for one of
// Limits. The element itself is well-formed so far: a caller reading a
// stream can skip the rest of it and go on with the next one.
func OverLimit(err error) bool {
	return errors.Is(err, ErrTooDeep) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooManyAttrs)
}

// Decode reads the rest of the element that start opened from r, which must
// resolve namespaces (as encoding/xml's Decoder does). When it returns an
// error for which OverLimit is true, r is positioned inside the element,
// after the token that broke the limit.
//
// ErrRestricted (a processing instruction or DTD inside the element) is
// not among those errors although encoding/xml would survive it (it never
// expands entities nor fetches anything a DTD names): RFC 6120 §11.1 makes
// restricted XML a reason to close the stream, not to refuse one stanza.
func Decode(r xml.TokenReader, start xml.StartElement, lim Limits) (*Element, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultLimits.MaxDepth
	}
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = DefaultLimits.MaxBytes
	}
	if lim.MaxAttrs <= 0 {
		lim.MaxAttrs = DefaultLimits.MaxAttrs
	}
	if len(start.Attr) > lim.MaxAttrs {
		return nil, ErrTooManyAttrs
	}
	size := startCost(start)
	if size > lim.MaxBytes {
		return nil, ErrTooLarge
	}
	root := fromStart(start)
	stack := []*Element{root}
	// Text is gathered across runs (encoding/xml splits it at entities and
	// CDATA sections) and stored once when the next tag comes, so that many
	// small runs cost linear, not quadratic, copying.
	var text []byte
	flush := func(e *Element) {
		if len(text) > 0 {
			e.Nodes = append(e.Nodes, Node{Text: string(text)})
			text = text[:0]
		}
	}
	for {
		tok, err := r.Token()
		if err != nil {
			if err == io.EOF {
				return nil, ErrUnexpectedEOF
			}
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) > lim.MaxDepth {
				return nil, ErrTooDeep
			}
			if len(t.Attr) > lim.MaxAttrs {
				return nil, ErrTooManyAttrs
			}
			// Charge before copying anything of the token.
			if size += startCost(t); size > lim.MaxBytes {
				return nil, ErrTooLarge
			}
			flush(top)
			el := fromStart(t)
			top.Nodes = append(top.Nodes, Node{Elem: el})
			stack = append(stack, el)
		case xml.EndElement:
			flush(top)
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				return root, nil
			}
		case xml.CharData:
			if size += len(t); size > lim.MaxBytes {
				return nil, ErrTooLarge
			}
			text = append(text, t...)
		case xml.Comment:
		case xml.ProcInst, xml.Directive:
			return nil, ErrRestricted
		}
	}
}

// Costs charged against Limits.MaxBytes for the structure itself, so that
// many tiny elements or attributes count for the memory they take.
const (
	elementCost = 64
	attrCost    = 32
)

// startCost is what a start tag is charged: its names and values, and a
// fixed cost for the element and each attribute (declarations included:
// they are dropped but cost memory to decode).
func startCost(s xml.StartElement) int {
	n := elementCost + len(s.Name.Local) + len(s.Name.Space)
	for _, a := range s.Attr {
		n += attrCost + len(a.Name.Space) + len(a.Name.Local) + len(a.Value)
	}
	return n
}

func fromStart(s xml.StartElement) *Element {
	e := &Element{Space: foldSpace(s.Name.Space), Local: s.Name.Local}
	for _, a := range s.Attr {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		sp := a.Name.Space
		if sp == "xml" {
			sp = NSXML
		}
		e.Attrs = append(e.Attrs, Attr{Space: sp, Local: a.Name.Local, Value: a.Value})
	}
	return e
}

func foldSpace(s string) string {
	switch s {
	case NSComponent, NSServer:
		return NSClient
	}
	return s
}

// Parse decodes one element from s; the top element and its unqualified
// descendants default to NSClient.
func Parse(s string) (*Element, error) {
	return parse(s, true)
}

// ParseLoose is Parse with encoding/xml's non-strict mode: undeclared
// prefixes are kept as the namespace name. Test scripts need it.
func ParseLoose(s string) (*Element, error) {
	return parse(s, false)
}

func parse(s string, strict bool) (*Element, error) {
	d := xml.NewDecoder(strings.NewReader("<wrap xmlns='" + NSClient + "'>" + s + "</wrap>"))
	d.Strict = strict
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("stanza: %w", err)
		}
		if st, ok := tok.(xml.StartElement); ok && st.Name.Local != "wrap" {
			return Decode(d, st, Limits{MaxDepth: 1000, MaxBytes: 1 << 30, MaxAttrs: 1 << 20})
		}
	}
}

// MustParse is Parse for literals in tests and tables; it panics on error.
func MustParse(s string) *Element {
	e, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return e
}
