package forms

import (
	"reflect"
	"strings"
	"testing"

	"chorus/stanza"
)

func TestParseSubmit(t *testing.T) {
	x := stanza.MustParse(`<x xmlns='jabber:x:data' type='submit'>
		<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>
		<field var='muc#roomconfig_roomsecret'><value>cauldronburn</value></field>
		<field var='muc#roomconfig_presencebroadcast'><value>moderator</value><value>participant</value></field>
		<field var='empty'></field>
	</x>`)
	f, err := Parse(x)
	if err != nil {
		t.Fatal(err)
	}
	if f.FormType() != RoomConfig {
		t.Errorf("form type %q", f.FormType())
	}
	if got := f.Field(ConfigRoomSecret).Value(); got != "cauldronburn" {
		t.Errorf("secret %q", got)
	}
	if got := f.Field(ConfigPresenceBroadcast).Values; len(got) != 2 {
		t.Errorf("multi values %q", got)
	}
	if fd := f.Field("empty"); fd == nil || len(fd.Values) != 0 {
		t.Errorf("empty field %+v", fd)
	}
	if f.Field("missing") != nil {
		t.Error("found a missing field")
	}
}

func TestParseRejects(t *testing.T) {
	for i, s := range [...]string{
		0: `<x xmlns='jabber:x:data' type='bogus'/>`,
		1: `<x xmlns='other' type='submit'/>`,
		2: `<x xmlns='jabber:x:data' type='submit'><field><value>1</value></field></x>`,
	} {
		if _, err := Parse(stanza.MustParse(s)); err == nil {
			t.Errorf("%d: parsed %s", i, s)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	f := &Form{Type: TypeForm, Title: "Configuration", Instructions: "Fill in"}
	f.Add(HiddenFormType(RoomConfig),
		Field{Var: ConfigWhois, Type: ListSingle, Label: "Who", Values: []string{"moderators"},
			Options: []Option{{"Moderators only", "moderators"}, {"Anyone", "anyone"}}},
		Field{Var: ConfigMembersOnly, Type: Boolean, Values: []string{Bool(true)}, Required: true})
	g, err := Parse(f.Element())
	if err != nil {
		t.Fatal(err)
	}
	if g.Title != f.Title || g.Instructions != f.Instructions || len(g.Fields) != 3 {
		t.Fatalf("round trip lost data: %+v", g)
	}
	w := g.Field(ConfigWhois)
	if len(w.Options) != 2 || w.Options[1].Value != "anyone" || w.Label != "Who" {
		t.Errorf("options %+v", w)
	}
	if !g.Field(ConfigMembersOnly).Required {
		t.Error("required lost")
	}
}

func TestParseBool(t *testing.T) {
	for i, tc := range [...]struct {
		in      string
		want    bool
		wantErr bool
	}{
		0: {"1", true, false}, 1: {"true", true, false}, 2: {"0", false, false},
		3: {"false", false, false}, 4: {"yes", false, true}, 5: {"", false, true},
	} {
		got, err := ParseBool(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("%d: ParseBool(%q) = %v, %v", i, tc.in, got, err)
		}
	}
}

// TestOptionalElements: XEP-0004 §3.1 and §3.2: <title/>, <instructions/>,
// a field's <desc/> and <required/> are optional; each is sent when it
// says something and left out when it would be empty, and a parsed form
// gives back what was sent. A fixed field may have no var (§3.2).
func TestOptionalElements(t *testing.T) {
	for i, tc := range [...]struct {
		form Form
		want []string // names of the optional elements present
	}{
		0: {Form{Type: TypeForm, Fields: []Field{{Var: "a", Type: TextSingle}}}, nil},
		1: {Form{Type: TypeForm, Title: "T", Fields: []Field{{Var: "a", Type: TextSingle}}}, []string{"title"}},
		2: {Form{Type: TypeForm, Instructions: "I"}, []string{"instructions"}},
		3: {Form{Type: TypeForm, Fields: []Field{{Var: "a", Type: TextSingle, Desc: "Help"}}}, []string{"desc"}},
		4: {Form{Type: TypeForm, Fields: []Field{{Var: "a", Type: TextSingle, Required: true}}}, []string{"required"}},
		5: {Form{Type: TypeResult, Fields: []Field{{Type: Fixed, Values: []string{"Section"}}}}, nil},
	} {
		x := tc.form.Element()
		var got []string
		for _, name := range []string{"title", "instructions"} {
			if x.Child(NS, name) != nil {
				got = append(got, name)
			}
		}
		for _, fe := range x.ChildrenNamed(NS, "field") {
			for _, name := range []string{"desc", "required"} {
				if fe.Child(NS, name) != nil {
					got = append(got, name)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%d: optional elements %q, want %q", i, got, tc.want)
		}
		g, err := Parse(x)
		if err != nil {
			t.Errorf("%d: %v", i, err)
			continue
		}
		if !reflect.DeepEqual(*g, tc.form) {
			t.Errorf("%d: parsed %+v, want %+v", i, *g, tc.form)
		}
	}
}

// TestTable: a result form's table has its columns first, then one item
// per row (XEP-0004 §3.4); a form without columns has no table.
func TestTable(t *testing.T) {
	f := &Form{Type: TypeResult, Reported: []Field{{Var: "jid", Type: JIDSingle, Label: "Address"}},
		Items: [][]Field{{{Var: "jid", Values: []string{"a@x"}}}, {{Var: "jid", Values: []string{"b@x"}}}}}
	got := f.Element().String()
	want := "<reported><field var='jid' type='jid-single' label='Address'/></reported>" +
		"<item><field var='jid'><value>a@x</value></field></item><item><field var='jid'><value>b@x</value></field></item></x>"
	if !strings.HasSuffix(got, want) {
		t.Errorf("got %s", got)
	}
	f.Reported = nil
	if got := f.Element().String(); strings.Contains(got, "item") {
		t.Errorf("items without columns: %s", got)
	}
}
