package stanza

// ErrorType is the type of a stanza error (RFC 6120 §8.3.2): what the
// sender may do about it.
type ErrorType string

// Error types (RFC 6120 §8.3.2).
const (
	Auth     ErrorType = "auth"     // retry after providing credentials
	Cancel   ErrorType = "cancel"   // do not retry: the error cannot be remedied
	Continue ErrorType = "continue" // proceed: the condition was only a warning
	Modify   ErrorType = "modify"   // retry after changing the data sent
	Wait     ErrorType = "wait"     // retry after waiting: the error is temporary
)

// Condition is a defined stanza error condition (RFC 6120 §8.3.3): the
// local name of an element in NSStanzas.
type Condition string

// The defined conditions the service sends or reads (RFC 6120 §8.3.3).
const (
	BadRequest            Condition = "bad-request"
	Conflict              Condition = "conflict"
	FeatureNotImplemented Condition = "feature-not-implemented"
	Forbidden             Condition = "forbidden"
	Gone                  Condition = "gone"
	InternalServerError   Condition = "internal-server-error"
	ItemNotFound          Condition = "item-not-found"
	JIDMalformed          Condition = "jid-malformed"
	NotAcceptable         Condition = "not-acceptable"
	NotAllowed            Condition = "not-allowed"
	NotAuthorized         Condition = "not-authorized"
	PolicyViolation       Condition = "policy-violation"
	RecipientUnavailable  Condition = "recipient-unavailable"
	Redirect              Condition = "redirect"
	RegistrationRequired  Condition = "registration-required"
	RemoteServerNotFound  Condition = "remote-server-not-found"
	RemoteServerTimeout   Condition = "remote-server-timeout"
	ResourceConstraint    Condition = "resource-constraint"
	ServiceUnavailable    Condition = "service-unavailable"
	SubscriptionRequired  Condition = "subscription-required"
	UndefinedCondition    Condition = "undefined-condition"
	UnexpectedRequest     Condition = "unexpected-request"
)

// Error is a stanza error (RFC 6120 §8.3): what the <error/> child of an
// error stanza says.
type Error struct {
	Type      ErrorType
	Condition Condition
	// Text is a description for humans; optional.
	Text string
	// By names the entity that raised the error (XEP-0045 puts the room's
	// bare address there); optional.
	By string
	// Detail is the character data of the condition element: the new
	// address for gone and redirect (RFC 6120 §8.3.3.5, §8.3.3.14).
	Detail string
}

// Error returns the condition, and the text when there is one.
func (e Error) Error() string {
	if e.Text != "" {
		return string(e.Condition) + ": " + e.Text
	}
	return string(e.Condition)
}

// Element builds the <error/> element for e.
func (e Error) Element() *Element {
	el := New(NSClient, "error", "type", string(e.Type), "by", e.By)
	el.Add(New(NSStanzas, string(e.Condition)).AddText(e.Detail))
	if e.Text != "" {
		el.Add(New(NSStanzas, "text").AddText(e.Text))
	}
	return el
}

// Reply builds the error reply to st (RFC 6120 §8.3.1): the same kind of
// stanza with its id, from its recipient back to its sender, of type
// 'error', carrying e. Whether st may be answered at all is the caller's
// to decide.
func (e Error) Reply(st *Element) *Element {
	return e.ReplyFrom(st, st.Attr("to"))
}

// ReplyFrom is Reply sent from the given address instead of st's
// recipient, for a recipient that cannot send it (not a valid address, or
// not one of ours).
func (e Error) ReplyFrom(st *Element, from string) *Element {
	r := New(NSClient, st.Local,
		"from", from,
		"to", st.Attr("from"),
		"id", st.Attr("id"),
		"type", "error")
	return r.Add(e.Element())
}

// ErrorOf reads the <error/> child of an error stanza; the zero Error when
// there is none. The condition is the first child in NSStanzas other than
// <text/>.
func ErrorOf(st *Element) Error {
	el := st.Child(NSClient, "error")
	if el == nil {
		return Error{}
	}
	e := Error{Type: ErrorType(el.Attr("type")), By: el.Attr("by")}
	for _, c := range el.Children() {
		if c.Space != NSStanzas {
			continue
		}
		if c.Local == "text" {
			e.Text = c.Text()
		} else if e.Condition == "" {
			e.Condition = Condition(c.Local)
			e.Detail = c.Text()
		}
	}
	return e
}
