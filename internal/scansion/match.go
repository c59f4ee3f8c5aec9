package scansion

import (
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"

	"chorus/stanza"
)

// NSScansion is the namespace of the scansion: directives. Scripts use the
// prefix without declaring it; Parse binds it to this name, and an element
// from stanza.ParseLoose, where the prefix itself stands for the namespace,
// works as well.
const NSScansion = "https://matthewwild.co.uk/projects/scansion"

// anyValue as an expected attribute value accepts any value.
const anyValue = "{scansion:any}"

// Match reports whether the received stanza got satisfies the expected one,
// and if not, where and why they differ.
//
// Names and namespaces must be equal. Elements in the stanza namespace
// (jabber:client) are compared loosely: every expected attribute must be
// present with its value, and every expected child must match a distinct
// received child, in any order; extra received attributes and children are
// fine. An element whose namespace differs from its parent's, and
// everything inside it, is compared strictly: the attribute sets must be
// equal and the children must match one to one, in order. A
// scansion:strict attribute on an expected element overrides this for the
// element and what it contains. Text is compared, trimmed, only where the
// expected element has some; scansion: attributes and namespace
// declarations are never compared.
func Match(expected, got *stanza.Element) error {
	return matchRelaxed(expected, got, nil)
}

// matchRelaxed is Match where an expected element named in absent may be
// missing from the received stanza (see Options.MayBeAbsent).
func matchRelaxed(expected, got *stanza.Element, absent []xml.Name) error {
	if expected == nil || got == nil {
		return errors.New("nil stanza")
	}
	m := matcher{absent: absent}
	return m.match(expected, got, expected.Space != stanza.NSClient, stanza.NSClient, "")
}

// matcher carries what one comparison allows beyond Match's rules.
type matcher struct {
	absent []xml.Name
}

// expectedChildren is exp's children without those that may be absent
// and are: a child named in m.absent when got has no child of that name.
func (m matcher) expectedChildren(exp, got *stanza.Element) []*stanza.Element {
	ec := exp.Children()
	if len(m.absent) == 0 {
		return ec
	}
	return slices.DeleteFunc(slices.Clone(ec), func(e *stanza.Element) bool {
		n := xml.Name{Space: e.Space, Local: e.Local}
		return slices.Contains(m.absent, n) && got.Child(e.Space, e.Local) == nil
	})
}

// match compares one element; strict is what the context implies before
// any scansion:strict override, and parent (the namespace in scope) and
// path (the parent's path) are for messages.
func (m matcher) match(exp, got *stanza.Element, strict bool, parent, path string) error {
	path += "/" + exp.Local
	if exp.Local != got.Local || exp.Space != got.Space {
		return fmt.Errorf("%s: expected %s, got %s", path, startTag(exp, parent), startTag(got, parent))
	}
	if v, ok := directive(exp, "strict"); ok {
		strict = v == "true"
	}
	if err := matchAttrs(exp, got, strict); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if want := strings.TrimSpace(exp.Text()); want != "" {
		if have := strings.TrimSpace(got.Text()); have != want {
			return fmt.Errorf("%s: text: expected %q, got %q", path, want, have)
		}
	}
	if strict {
		return m.matchChildrenInOrder(exp, got, path)
	}
	return m.matchChildrenAnyOrder(exp, got, path)
}

// childStrict is whether child is compared strictly by default inside a
// parent compared with strict.
func childStrict(parent, child *stanza.Element, strict bool) bool {
	return strict || child.Space != parent.Space
}

func matchAttrs(exp, got *stanza.Element, strict bool) error {
	for _, a := range exp.Attrs {
		if isDirective(a) {
			continue
		}
		v, ok := lookupAttr(got, a.Space, a.Local)
		switch {
		case !ok:
			return fmt.Errorf("missing attribute %s (expected %q)", attrName(a), a.Value)
		case a.Value != anyValue && v != a.Value:
			return fmt.Errorf("attribute %s: expected %q, got %q", attrName(a), a.Value, v)
		}
	}
	if strict {
		for _, a := range got.Attrs {
			if _, ok := lookupAttr(exp, a.Space, a.Local); !ok && !isDirective(a) {
				return fmt.Errorf("unexpected attribute %s=%q (strict element)", attrName(a), a.Value)
			}
		}
	}
	return nil
}

func (m matcher) matchChildrenInOrder(exp, got *stanza.Element, path string) error {
	ec, gc := m.expectedChildren(exp, got), got.Children()
	for i := range min(len(ec), len(gc)) {
		if err := m.match(ec[i], gc[i], true, exp.Space, path); err != nil {
			return fmt.Errorf("%w (child %d of strict <%s>)", err, i+1, exp.Local)
		}
	}
	switch {
	case len(ec) > len(gc):
		return fmt.Errorf("%s: missing child %s (strict: expected %d children, got %d)", path, startTag(ec[len(gc)], exp.Space), len(ec), len(gc))
	case len(gc) > len(ec):
		return fmt.Errorf("%s: unexpected child %s (strict: expected %d children, got %d)", path, startTag(gc[len(ec)], exp.Space), len(ec), len(gc))
	}
	return nil
}

func (m matcher) matchChildrenAnyOrder(exp, got *stanza.Element, path string) error {
	ec, gc := m.expectedChildren(exp, got), got.Children()
	if len(ec) == 0 {
		return nil
	}
	// fits[i] lists the received children that expected child i matches.
	fits := make([][]int, len(ec))
	for i, e := range ec {
		for j, g := range gc {
			if m.match(e, g, childStrict(exp, e, false), exp.Space, path) == nil {
				fits[i] = append(fits[i], j)
			}
		}
		if len(fits[i]) == 0 {
			return m.missingChild(exp, e, gc, path)
		}
	}
	if i := assign(fits, len(gc)); i >= 0 {
		return fmt.Errorf("%s: no distinct received child left for %s (the ones it matches are needed by other expected children)", path, startTag(ec[i], exp.Space))
	}
	return nil
}

// missingChild explains why no received child matched e, using the most
// similar received child when there is one with the same name.
func (m matcher) missingChild(parent, e *stanza.Element, gc []*stanza.Element, path string) error {
	best, bestScore := -1, 0
	for j, g := range gc {
		if s := similarity(e, g); s > bestScore {
			best, bestScore = j, s
		}
	}
	if best < 0 {
		return fmt.Errorf("%s: missing child %s", path, startTag(e, parent.Space))
	}
	err := m.match(e, gc[best], childStrict(parent, e, false), parent.Space, path)
	return fmt.Errorf("%s: no received child matches %s; closest: %w", path, startTag(e, parent.Space), err)
}

// assign finds a matching in which every expected child gets its own
// received child (Kuhn's augmenting paths; stanzas are small). It returns
// -1 on success, or an expected child left without a partner.
func assign(fits [][]int, n int) int {
	owner := make([]int, n) // received child -> expected child, or -1
	for j := range owner {
		owner[j] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for _, j := range fits[i] {
			if seen[j] {
				continue
			}
			seen[j] = true
			if owner[j] < 0 || try(owner[j], seen) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	for i := range fits {
		if !try(i, make([]bool, n)) {
			return i
		}
	}
	return -1
}

// similarity scores how much of exp's shape got shares: 0 for a different
// name, more for each agreeing attribute, text and child. It picks the
// closest miss to show when nothing matches.
func similarity(exp, got *stanza.Element) int {
	if exp.Local != got.Local || exp.Space != got.Space {
		return 0
	}
	score := 1
	for _, a := range exp.Attrs {
		if isDirective(a) {
			continue
		}
		if v, ok := lookupAttr(got, a.Space, a.Local); ok {
			score++
			if v == a.Value || a.Value == anyValue {
				score++
			}
		}
	}
	if want := strings.TrimSpace(exp.Text()); want != "" && want == strings.TrimSpace(got.Text()) {
		score++
	}
	gc := got.Children()
	for _, e := range exp.Children() {
		best := 0
		for _, g := range gc {
			best = max(best, similarity(e, g))
		}
		score += best
	}
	return score
}

func isDirective(a stanza.Attr) bool {
	return a.Space == NSScansion || a.Space == "scansion"
}

func directive(e *stanza.Element, local string) (string, bool) {
	for _, a := range e.Attrs {
		if isDirective(a) && a.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func lookupAttr(e *stanza.Element, space, local string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Space == space && a.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func attrName(a stanza.Attr) string {
	switch a.Space {
	case "":
		return a.Local
	case stanza.NSXML:
		return "xml:" + a.Local
	}
	return "{" + a.Space + "}" + a.Local
}

// startTag renders e's start tag for messages; xmlns is shown where it
// differs from parent, the namespace in scope.
func startTag(e *stanza.Element, parent string) string {
	var b strings.Builder
	b.WriteString("<" + e.Local)
	if e.Space != parent {
		fmt.Fprintf(&b, " xmlns='%s'", e.Space)
	}
	for _, a := range e.Attrs {
		if !isDirective(a) {
			fmt.Fprintf(&b, " %s='%s'", attrName(a), a.Value)
		}
	}
	if len(e.Nodes) > 0 {
		b.WriteString(">")
	} else {
		b.WriteString("/>")
	}
	return b.String()
}
