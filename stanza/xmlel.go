package stanza

import (
	"strings"
)

// Attr is one attribute. Space is the attribute's namespace, empty for the
// usual unqualified attributes.
type Attr struct {
	Space, Local, Value string
}

// Node is one child of an element: an element or a run of text.
type Node struct {
	Elem *Element
	Text string
}

// Element is an XML element with its attributes and children in order.
type Element struct {
	Space, Local string
	Attrs        []Attr
	Nodes        []Node
}

// New returns an element; attrs are local-name/value pairs, and pairs whose
// value is empty are left out, which keeps optional attributes terse.
func New(space, local string, attrs ...string) *Element {
	e := &Element{Space: space, Local: local}
	if len(attrs) > 0 {
		// One allocation instead of a growing slice: elements are built
		// per recipient class on every broadcast.
		e.Attrs = make([]Attr, 0, len(attrs)/2)
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i+1] != "" {
			e.Attrs = append(e.Attrs, Attr{Local: attrs[i], Value: attrs[i+1]})
		}
	}
	return e
}

// Is reports whether e has the given namespace and local name.
func (e *Element) Is(space, local string) bool {
	return e != nil && e.Space == space && e.Local == local
}

// Attr returns the value of the unqualified attribute local, or "".
func (e *Element) Attr(local string) string {
	v, _ := e.LookupAttr(local)
	return v
}

// LookupAttr returns the value of the unqualified attribute local and
// whether it is present.
func (e *Element) LookupAttr(local string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, a := range e.Attrs {
		if a.Space == "" && a.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// SetAttr sets (or with an empty value, removes) an unqualified attribute.
// It returns e so calls can be chained.
func (e *Element) SetAttr(local, value string) *Element {
	for i, a := range e.Attrs {
		if a.Space == "" && a.Local == local {
			if value == "" {
				e.Attrs = append(e.Attrs[:i:i], e.Attrs[i+1:]...)
			} else {
				e.Attrs[i].Value = value
			}
			return e
		}
	}
	if value != "" {
		e.Attrs = append(e.Attrs, Attr{Local: local, Value: value})
	}
	return e
}

// Lang returns the xml:lang attribute.
func (e *Element) Lang() string {
	for _, a := range e.Attrs {
		if a.Space == NSXML && a.Local == "lang" {
			return a.Value
		}
	}
	return ""
}

// Add appends child elements (nil ones are skipped) and returns e.
func (e *Element) Add(children ...*Element) *Element {
	for _, c := range children {
		if c != nil {
			e.Nodes = append(e.Nodes, Node{Elem: c})
		}
	}
	return e
}

// AddText appends character data (nothing when s is empty) and returns e.
func (e *Element) AddText(s string) *Element {
	if s != "" {
		e.Nodes = append(e.Nodes, Node{Text: s})
	}
	return e
}

// Children returns the child elements in order.
func (e *Element) Children() []*Element {
	if e == nil {
		return nil
	}
	out := make([]*Element, 0, len(e.Nodes))
	for _, n := range e.Nodes {
		if n.Elem != nil {
			out = append(out, n.Elem)
		}
	}
	return out
}

// FirstChild returns the first child element or nil.
func (e *Element) FirstChild() *Element {
	if e == nil {
		return nil
	}
	for _, n := range e.Nodes {
		if n.Elem != nil {
			return n.Elem
		}
	}
	return nil
}

// Child returns the first child element with the given name, or nil.
func (e *Element) Child(space, local string) *Element {
	if e == nil {
		return nil
	}
	for _, n := range e.Nodes {
		if n.Elem != nil && n.Elem.Space == space && n.Elem.Local == local {
			return n.Elem
		}
	}
	return nil
}

// ChildrenNamed returns every child element with the given name.
func (e *Element) ChildrenNamed(space, local string) []*Element {
	var out []*Element
	if e == nil {
		return nil
	}
	for _, n := range e.Nodes {
		if n.Elem != nil && n.Elem.Space == space && n.Elem.Local == local {
			out = append(out, n.Elem)
		}
	}
	return out
}

// ChildText returns the text of the first child with the given name.
func (e *Element) ChildText(space, local string) string {
	return e.Child(space, local).Text()
}

// RemoveChildren drops every child element for which drop returns true.
func (e *Element) RemoveChildren(drop func(*Element) bool) {
	kept := e.Nodes[:0]
	for _, n := range e.Nodes {
		if n.Elem != nil && drop(n.Elem) {
			continue
		}
		kept = append(kept, n)
	}
	for i := len(kept); i < len(e.Nodes); i++ {
		e.Nodes[i] = Node{}
	}
	e.Nodes = kept
}

// Text returns the concatenated character data directly inside e.
func (e *Element) Text() string {
	if e == nil {
		return ""
	}
	switch {
	case len(e.Nodes) == 0:
		return ""
	case len(e.Nodes) == 1:
		return e.Nodes[0].Text
	}
	var b strings.Builder
	for _, n := range e.Nodes {
		if n.Elem == nil {
			b.WriteString(n.Text)
		}
	}
	return b.String()
}

// Clone returns a deep copy of e.
func (e *Element) Clone() *Element {
	if e == nil {
		return nil
	}
	c := &Element{Space: e.Space, Local: e.Local}
	if len(e.Attrs) > 0 {
		c.Attrs = append([]Attr(nil), e.Attrs...)
	}
	if len(e.Nodes) > 0 {
		c.Nodes = make([]Node, len(e.Nodes))
		for i, n := range e.Nodes {
			if n.Elem != nil {
				c.Nodes[i] = Node{Elem: n.Elem.Clone()}
			} else {
				c.Nodes[i] = n
			}
		}
	}
	return c
}

// ShallowCopy returns a copy of e whose attribute slice may be changed
// without touching e; the children are shared. Rooms use it to readdress a
// stanza without copying its payload.
func (e *Element) ShallowCopy() *Element {
	c := *e
	c.Attrs = append([]Attr(nil), e.Attrs...)
	c.Nodes = append([]Node(nil), e.Nodes...)
	return &c
}

// String returns the XML encoding of e as a top-level stanza.
func (e *Element) String() string {
	return string(e.Append(nil))
}

// Size estimates the memory e holds in bytes: its texts and attribute
// values, and a fixed cost per element, attribute and child, which
// dominates for stanzas of many small parts. Names are not counted: they
// are mostly shared constants. It walks e once and allocates nothing.
func (e *Element) Size() int {
	if e == nil {
		return 0
	}
	const elemCost, attrCost, nodeCost = 64, 48, 32
	n := elemCost + len(e.Attrs)*attrCost + len(e.Nodes)*nodeCost
	for _, a := range e.Attrs {
		n += len(a.Value)
	}
	for _, c := range e.Nodes {
		if c.Elem != nil {
			n += c.Elem.Size()
		} else {
			n += len(c.Text)
		}
	}
	return n
}
