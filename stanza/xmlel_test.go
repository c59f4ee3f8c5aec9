package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
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

// TestMaxAttrs: the attribute limit holds on the top element and on every
// element below it, namespace declarations included, and not one below it.
func TestMaxAttrs(t *testing.T) {
	attrs := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, " a%d='x'", i)
		}
		return b.String()
	}
	for i, tc := range [...]struct {
		in   string
		want error
	}{
		0: {"<a" + attrs(8) + "/>", nil},
		1: {"<a" + attrs(9) + "/>", ErrTooManyAttrs},
		2: {"<a><b><c" + attrs(8) + "/></b></a>", nil},
		3: {"<a><b><c" + attrs(9) + "/></b></a>", ErrTooManyAttrs},
		4: {"<a><b xmlns='u' xmlns:p='v'" + attrs(7) + "/></a>", ErrTooManyAttrs},
		5: {"<a><b xmlns='u'" + attrs(7) + "/></a>", nil},
	} {
		d := xml.NewDecoder(strings.NewReader(tc.in))
		tok, _ := d.Token()
		_, err := Decode(d, tok.(xml.StartElement), Limits{MaxAttrs: 8})
		if !errors.Is(err, tc.want) {
			t.Errorf("%d: got %v, want %v", i, err, tc.want)
		}
		if OverLimit(err) != (tc.want != nil) {
			t.Errorf("%d: OverLimit(%v) = %v", i, err, OverLimit(err))
		}
	}
	for _, err := range []error{ErrTooDeep, ErrTooLarge, ErrTooManyAttrs} {
		if !OverLimit(fmt.Errorf("wrapped: %w", err)) {
			t.Errorf("OverLimit(%v) is false", err)
		}
	}
	for _, err := range []error{ErrRestricted, ErrUnexpectedEOF, &xml.SyntaxError{Msg: "x"}} {
		if OverLimit(err) {
			t.Errorf("OverLimit(%v) is true", err)
		}
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
