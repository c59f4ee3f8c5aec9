package xmlel

import (
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for i, tc := range [...]struct{ in, out string }{
		0: {`<presence to='a@b/c'/>`, `<presence to='a@b/c'/>`},
		1: {`<message xmlns='jabber:component:accept' type="groupchat"><body>a &amp; b &lt; c</body></message>`,
			`<message type='groupchat'><body>a &amp; b &lt; c</body></message>`},
		2: {`<iq><query xmlns='q'><item a="x'y"/></query></iq>`, `<iq><query xmlns='q'><item a='x&apos;y'/></query></iq>`},
		3: {`<message xml:lang='en'><body>x<b xmlns='h'>y</b>z</body></message>`, `<message xml:lang='en'><body>x<b xmlns='h'>y</b>z</body></message>`},
		4: {`<x xmlns:p='urn:p' p:a='1'/>`, `<x xmlns:a0='urn:p' a0:a='1'/>`},
	} {
		e, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if got := e.String(); got != tc.out {
			t.Errorf("%d: got %s, want %s", i, got, tc.out)
		}
	}
}

func TestAppendWithTo(t *testing.T) {
	e := MustParse(`<message to='old' from='r@c/n'><body>hi</body></message>`)
	got := string(e.AppendWithTo(nil, "new@x/y"))
	want := `<message to='new@x/y' from='r@c/n'><body>hi</body></message>`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestLimits(t *testing.T) {
	deep := strings.Repeat("<a>", 50) + strings.Repeat("</a>", 50)
	d := xml.NewDecoder(strings.NewReader(deep))
	tok, _ := d.Token()
	if _, err := Decode(d, tok.(xml.StartElement), Limits{MaxDepth: 10}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep: got %v", err)
	}
	big := "<a>" + strings.Repeat("x", 2000) + "</a>"
	d = xml.NewDecoder(strings.NewReader(big))
	tok, _ = d.Token()
	if _, err := Decode(d, tok.(xml.StartElement), Limits{MaxBytes: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big: got %v", err)
	}
}

func TestAccessors(t *testing.T) {
	e := MustParse(`<presence><x xmlns='m'><item a='1'/><item a='2'/></x>text</presence>`)
	x := e.Child("m", "x")
	if x == nil || len(x.ChildrenNamed("m", "item")) != 2 {
		t.Fatalf("children: %v", e)
	}
	if e.Text() != "text" {
		t.Errorf("text %q", e.Text())
	}
	e.SetAttr("type", "unavailable").SetAttr("type", "")
	if _, ok := e.LookupAttr("type"); ok {
		t.Error("attr not removed")
	}
	c := e.Clone()
	c.Child("m", "x").SetAttr("z", "1")
	if x.Attr("z") != "" {
		t.Error("clone shares attrs")
	}
}

func TestAppendShared(t *testing.T) {
	e := MustParse(`<message to='old' from='r@c/n' type='groupchat'><body>a &amp; b</body></message>`)
	enc, cut := e.AppendShared(nil)
	for _, to := range []string{"x@y/z", "o'brien@y/q"} {
		got := string(append(AppendTo(append([]byte(nil), enc[:cut]...), to), enc[cut:]...))
		if want := string(e.AppendWithTo(nil, to)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
