package forms

import (
	"errors"
	"fmt"
	"strings"

	"chorus/stanza"
)

// NS is the data forms namespace (XEP-0004).
const NS = "jabber:x:data"

// Form types (the type attribute of <x/>).
const (
	TypeForm   = "form"
	TypeSubmit = "submit"
	TypeCancel = "cancel"
	TypeResult = "result"
)

// Field types.
const (
	Boolean     = "boolean"
	Fixed       = "fixed"
	Hidden      = "hidden"
	JIDMulti    = "jid-multi"
	JIDSingle   = "jid-single"
	ListMulti   = "list-multi"
	ListSingle  = "list-single"
	TextMulti   = "text-multi"
	TextPrivate = "text-private"
	TextSingle  = "text-single"
)

// Option is one choice of a list field.
type Option struct {
	Label, Value string
}

// Field is one form field.
type Field struct {
	Var      string
	Type     string
	Label    string
	Desc     string
	Required bool
	Values   []string
	Options  []Option
}

// Value returns the field's first value, or "".
func (f *Field) Value() string {
	if f == nil || len(f.Values) == 0 {
		return ""
	}
	return f.Values[0]
}

// Form is a data form.
type Form struct {
	Type         string
	Title        string
	Instructions string
	Fields       []Field
	// Reported and Items make a table (XEP-0004 §3.4): Reported names the
	// columns, each item is a row of fields with the same vars.
	Reported []Field
	Items    [][]Field
}

// FormType returns the value of the hidden FORM_TYPE field, or "".
func (f *Form) FormType() string {
	return f.Field("FORM_TYPE").Value()
}

// Field returns the field named v, or nil.
func (f *Form) Field(v string) *Field {
	for i := range f.Fields {
		if f.Fields[i].Var == v {
			return &f.Fields[i]
		}
	}
	return nil
}

// Add appends fields and returns f.
func (f *Form) Add(fields ...Field) *Form {
	f.Fields = append(f.Fields, fields...)
	return f
}

// ErrNotForm is returned by Parse for an element that is not a data form.
var ErrNotForm = errors.New("forms: not a jabber:x:data form")

// Parse reads a form from its <x xmlns='jabber:x:data'/> element.
func Parse(x *stanza.Element) (*Form, error) {
	if !x.Is(NS, "x") {
		return nil, ErrNotForm
	}
	f := &Form{
		Type:         x.Attr("type"),
		Title:        x.ChildText(NS, "title"),
		Instructions: x.ChildText(NS, "instructions"),
	}
	switch f.Type {
	case TypeForm, TypeSubmit, TypeCancel, TypeResult, "":
		// An absent type is left for the caller to judge: some clients
		// leave it off a submission.
	default:
		return nil, fmt.Errorf("forms: unknown form type %q", f.Type)
	}
	for _, fe := range x.ChildrenNamed(NS, "field") {
		fd := Field{
			Var:      fe.Attr("var"),
			Type:     fe.Attr("type"),
			Label:    fe.Attr("label"),
			Desc:     fe.ChildText(NS, "desc"),
			Required: fe.Child(NS, "required") != nil,
		}
		for _, v := range fe.ChildrenNamed(NS, "value") {
			fd.Values = append(fd.Values, v.Text())
		}
		for _, o := range fe.ChildrenNamed(NS, "option") {
			fd.Options = append(fd.Options, Option{Label: o.Attr("label"), Value: o.ChildText(NS, "value")})
		}
		if fd.Var == "" && fd.Type != Fixed {
			return nil, errors.New("forms: field without var")
		}
		f.Fields = append(f.Fields, fd)
	}
	return f, nil
}

// Element encodes the form as <x xmlns='jabber:x:data'/>.
func (f *Form) Element() *stanza.Element {
	x := stanza.New(NS, "x", "type", f.Type)
	if f.Title != "" {
		x.Add(stanza.New(NS, "title").AddText(f.Title))
	}
	if f.Instructions != "" {
		x.Add(stanza.New(NS, "instructions").AddText(f.Instructions))
	}
	addFields(x, f.Fields)
	if len(f.Reported) > 0 {
		x.Add(addFields(stanza.New(NS, "reported"), f.Reported))
		for _, it := range f.Items {
			x.Add(addFields(stanza.New(NS, "item"), it))
		}
	}
	return x
}

func addFields(parent *stanza.Element, fields []Field) *stanza.Element {
	for _, fd := range fields {
		fe := stanza.New(NS, "field", "var", fd.Var, "type", fd.Type, "label", fd.Label)
		if fd.Desc != "" {
			fe.Add(stanza.New(NS, "desc").AddText(fd.Desc))
		}
		if fd.Required {
			fe.Add(stanza.New(NS, "required"))
		}
		for _, v := range fd.Values {
			fe.Add(stanza.New(NS, "value").AddText(v))
		}
		for _, o := range fd.Options {
			fe.Add(stanza.New(NS, "option", "label", o.Label).Add(stanza.New(NS, "value").AddText(o.Value)))
		}
		parent.Add(fe)
	}
	return parent
}

// ParseBool reads an XEP-0004 boolean ("1"/"true", "0"/"false").
func ParseBool(s string) (bool, error) {
	switch strings.TrimSpace(s) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, fmt.Errorf("forms: %q is not a boolean", s)
}

// Bool renders a boolean field value.
func Bool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
