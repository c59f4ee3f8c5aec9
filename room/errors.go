package room

import "chorus/stanza"

// stanzaError is an RFC 6120 stanza error: a type, a defined condition and
// an optional human-readable text.
type stanzaError struct {
	typ, condition, text string
	detail               string // character data of the condition element (gone, redirect)
}

// Error types (RFC 6120 §8.3.2).
const (
	errAuth   = "auth"
	errCancel = "cancel"
	errModify = "modify"
	errWait   = "wait"
)

func newError(typ, condition string) *stanzaError {
	return &stanzaError{typ: typ, condition: condition}
}

// withText returns a copy of e carrying a text for humans.
func (e *stanzaError) withText(text string) *stanzaError {
	c := *e
	c.text = text
	return &c
}

func (e *stanzaError) Error() string {
	if e.text != "" {
		return e.condition + ": " + e.text
	}
	return e.condition
}

// Common errors.
var (
	errBadRequest         = newError(errModify, "bad-request")
	errForbidden          = newError(errAuth, "forbidden")
	errNotAllowed         = newError(errCancel, "not-allowed")
	errNotAcceptable      = newError(errCancel, "not-acceptable")
	errItemNotFound       = newError(errCancel, "item-not-found")
	errServiceUnavailable = newError(errCancel, "service-unavailable")
	errJIDMalformed       = newError(errModify, "jid-malformed")
	errConflict           = newError(errCancel, "conflict")
	errFeatureNotImpl     = newError(errCancel, "feature-not-implemented")
)

// errorReply builds the error response to st: same kind and id, addresses
// swapped, type='error'. by names the entity that raised the error
// (XEP-0045 puts the room's bare JID there); it may be empty.
func errorReply(st *stanza.Element, e *stanzaError, by string) *stanza.Element {
	r := stanza.New(NSClient, st.Local,
		"from", st.Attr("to"),
		"to", st.Attr("from"),
		"id", st.Attr("id"),
		"type", "error")
	r.Add(errorElement(e, by))
	return r
}

func errorElement(e *stanzaError, by string) *stanza.Element {
	el := stanza.New(NSClient, "error", "type", e.typ, "by", by)
	el.Add(stanza.New(NSStanzas, e.condition).AddText(e.detail))
	if e.text != "" {
		el.Add(stanza.New(NSStanzas, "text").AddText(e.text))
	}
	return el
}

// iqResult builds the empty result to an IQ; children may be added.
func iqResult(st *stanza.Element) *stanza.Element {
	return stanza.New(NSClient, "iq",
		"from", st.Attr("to"),
		"to", st.Attr("from"),
		"id", st.Attr("id"),
		"type", "result")
}

// stanzaErrorOf reads the defined condition and text of an error stanza.
func stanzaErrorOf(st *stanza.Element) (condition, text string) {
	e := st.Child(NSClient, "error")
	for _, c := range e.Children() {
		if c.Space != NSStanzas {
			continue
		}
		if c.Local == "text" {
			text = c.Text()
		} else if condition == "" {
			condition = c.Local
		}
	}
	return condition, text
}
