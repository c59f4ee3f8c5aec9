package bench

import (
	"testing"
)

func TestAttr(t *testing.T) {
	el := []byte(`<presence  from="r@c/n'k" xmlns:to='no' to = 'u@l/b' type='error'><to>x</to></presence>`)
	for _, tc := range []struct {
		name, want string
		ok         bool
	}{
		{"from", "r@c/n'k", true},
		{"to", "u@l/b", true},
		{"type", "error", true},
		{"id", "", false},
		{"xmlns:to", "no", true},
	} {
		v, ok := Attr(el, tc.name)
		if string(v) != tc.want || ok != tc.ok {
			t.Errorf("Attr(%s) = %q, %v; want %q, %v", tc.name, v, ok, tc.want, tc.ok)
		}
	}
	if string(Name(el)) != "presence" {
		t.Errorf("Name = %q", Name(el))
	}
	if v, ok := Attr([]byte("<a/>"), "x"); ok || v != nil {
		t.Errorf("Attr on <a/> = %q, %v", v, ok)
	}
}

func TestChildAndText(t *testing.T) {
	st := []byte(`<message type='groupchat'><bodyx>no</bodyx><x xmlns='u'><item a='>'/><status code='100'/><status code="110"/></x><body>1 2 3 pad</body></message>`)
	b, ok := Child(st, "body")
	if !ok || string(b) != "<body>1 2 3 pad</body>" || string(Text(b)) != "1 2 3 pad" {
		t.Errorf("Child(body) = %q, %v; Text %q", b, ok, Text(b))
	}
	if !HasStatus(st, "110") || !HasStatus(st, "100") || HasStatus(st, "201") {
		t.Error("HasStatus is wrong")
	}
	x, ok := Child(st, "x")
	if !ok || string(Name(x)) != "x" || len(Text(x)) == 0 {
		t.Errorf("Child(x) = %q", x)
	}
	if _, ok := Child(st, "subject"); ok {
		t.Error("found a subject")
	}
	if Text([]byte("<a/>")) != nil {
		t.Error("text of an empty element")
	}
}

func TestBody(t *testing.T) {
	b := appendBody(nil, 3, 42, 1712345678901234567, 60)
	if len(b) != 60 {
		t.Errorf("body %q has %d bytes", b, len(b))
	}
	k, seq, ts, ok := parseBody(b)
	if !ok || k != 3 || seq != 42 || ts != 1712345678901234567 {
		t.Errorf("parseBody(%q) = %d %d %d %v", b, k, seq, ts, ok)
	}
	for _, bad := range []string{"", "hello", "1 2", "1 2 3", "1 x 3 ", "-1 2 3 ", "1 2 99999999999999999999 "} {
		if _, _, _, ok := parseBody([]byte(bad)); ok {
			t.Errorf("parseBody(%q) accepted it", bad)
		}
	}
}

func TestAppendQuoted(t *testing.T) {
	for in, want := range map[string]string{"a@b/c": "'a@b/c'", "it's": `"it's"`, `say "x"`: `'say "x"'`} {
		if got := string(appendQuoted(nil, []byte(in))); got != want {
			t.Errorf("appendQuoted(%q) = %s, want %s", in, got, want)
		}
	}
}

// Reading a delivery allocates nothing.
func TestDeliveryAllocs(t *testing.T) {
	st := []byte("<message from='bench0@conference.localhost/u1' to='u7@localhost/bench' type='groupchat' id='x'><body>0 123 1712345678901234567 xxxx</body></message>")
	allocs := testing.AllocsPerRun(100, func() {
		if typ, _ := Attr(st, "type"); string(typ) != "groupchat" {
			t.Fatal("type")
		}
		body, _ := Child(st, "body")
		if _, _, _, ok := parseBody(Text(body)); !ok {
			t.Fatal("body")
		}
		var h Histogram
		h.Record(5)
	})
	if allocs > 0 {
		t.Errorf("%v allocations per delivery", allocs)
	}
}
