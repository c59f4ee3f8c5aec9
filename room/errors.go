package room

import "chorus/stanza"

// stanzaError is a stanza error as rooms raise it: a stanza.Error whose
// by is filled in when it is sent (errorReply).
type stanzaError stanza.Error

// Error types (RFC 6120 §8.3.2).
const (
	errAuth   = stanza.Auth
	errCancel = stanza.Cancel
	errModify = stanza.Modify
	errWait   = stanza.Wait
)

func newError(typ stanza.ErrorType, condition stanza.Condition) *stanzaError {
	return &stanzaError{Type: typ, Condition: condition}
}

// withText returns a copy of e carrying a text for humans.
func (e *stanzaError) withText(text string) *stanzaError {
	c := *e
	c.Text = text
	return &c
}

func (e *stanzaError) Error() string { return stanza.Error(*e).Error() }

// Common errors.
var (
	errBadRequest         = newError(errModify, stanza.BadRequest)
	errForbidden          = newError(errAuth, stanza.Forbidden)
	errNotAllowed         = newError(errCancel, stanza.NotAllowed)
	errNotAcceptable      = newError(errCancel, stanza.NotAcceptable)
	errItemNotFound       = newError(errCancel, stanza.ItemNotFound)
	errServiceUnavailable = newError(errCancel, stanza.ServiceUnavailable)
	errJIDMalformed       = newError(errModify, stanza.JIDMalformed)
	errConflict           = newError(errCancel, stanza.Conflict)
	errFeatureNotImpl     = newError(errCancel, stanza.FeatureNotImplemented)
)

// errorReply builds the error response to st (stanza.Error.Reply). by
// names the entity that raised the error (XEP-0045 puts the room's bare
// JID there); it may be empty.
func errorReply(st *stanza.Element, e *stanzaError, by string) *stanza.Element {
	se := stanza.Error(*e)
	se.By = by
	return se.Reply(st)
}

// iqResult builds the empty result to an IQ; children may be added.
func iqResult(st *stanza.Element) *stanza.Element {
	return stanza.New(NSClient, "iq",
		"from", st.Attr("to"),
		"to", st.Attr("from"),
		"id", st.Attr("id"),
		"type", "result")
}
