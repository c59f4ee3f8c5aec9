package forms

import (
	"testing"

	"chorus/internal/xmlel"
)

func TestParseSubmit(t *testing.T) {
	x := xmlel.MustParse(`<x xmlns='jabber:x:data' type='submit'>
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
		if _, err := Parse(xmlel.MustParse(s)); err == nil {
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
