package scansion

import (
	"fmt"
	"strings"

	"chorus/stanza"
)

// expand returns a copy of tmpl with ${...} variables replaced in attribute
// values and text.
func (r *runner) expand(tmpl *stanza.Element) (*stanza.Element, error) {
	e := tmpl.Clone()
	var err error
	replace := func(s string) string {
		if !strings.Contains(s, "${") {
			return s
		}
		return variableRE.ReplaceAllStringFunc(s, func(v string) string {
			val, verr := r.variable(v[2 : len(v)-1])
			if verr != nil && err == nil {
				err = verr
			}
			return val
		})
	}
	var walk func(*stanza.Element)
	walk = func(e *stanza.Element) {
		for i := range e.Attrs {
			e.Attrs[i].Value = replace(e.Attrs[i].Value)
		}
		for i, n := range e.Nodes {
			if n.Elem != nil {
				walk(n.Elem)
			} else {
				e.Nodes[i].Text = replace(n.Text)
			}
		}
	}
	walk(e)
	return e, err
}

// variable resolves "Name's full JID" (the bound JID, known once Name has
// connected) and "Name's JID" (its bare JID, known from the script even
// before).
func (r *runner) variable(v string) (string, error) {
	m := varNameRE.FindStringSubmatch(v)
	if m == nil {
		return "", fmt.Errorf("unknown variable ${%s}", v)
	}
	name, full := m[1], m[2] == "full JID"
	cl := r.s.Client(name)
	if cl == nil {
		return "", fmt.Errorf("variable ${%s}: no client %q", v, name)
	}
	bound, ok := r.jids[name]
	if full {
		if !ok {
			return "", fmt.Errorf("variable ${%s}: %s has not connected yet", v, name)
		}
		return bound, nil
	}
	if ok {
		bare, _, _ := strings.Cut(bound, "/")
		return bare, nil
	}
	bare, _, _ := strings.Cut(cl.JID, "/")
	if !strings.Contains(bare, "@") {
		bare += "@" + r.opt.Domain
	}
	return bare, nil
}

// tidy prepares an expanded stanza for sending: scansion: attributes are
// for matching, not for the server, and whitespace-only text is the
// script's indentation, not content.
func tidy(e *stanza.Element) {
	kept := e.Attrs[:0]
	for _, a := range e.Attrs {
		if !isDirective(a) {
			kept = append(kept, a)
		}
	}
	e.Attrs = kept
	nodes := e.Nodes[:0]
	for _, n := range e.Nodes {
		if n.Elem == nil && strings.TrimSpace(n.Text) == "" {
			continue
		}
		if n.Elem != nil {
			tidy(n.Elem)
		}
		nodes = append(nodes, n)
	}
	e.Nodes = nodes
}
