package room

import (
	"strings"
	"testing"

	"mellium.im/xmpp/jid"
)

// TestAddressFastPathBoundaries holds the fast path of ParseAddress to
// its promise at every edge of what it takes: canonical ASCII addresses
// are taken as they are (fast), everything else goes to the full RFC 7622
// preparation, and either way the result is what jid.Parse gives.
func TestAddressFastPathBoundaries(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	domain1023 := strings.Repeat(label63+".", 15) + strings.Repeat("b", 63) // 16*63 + 15 = 1023 bytes
	for i, tc := range [...]struct {
		in   string
		fast bool
	}{
		0:  {"juliet@capulet.lit/balcony", true},
		1:  {"capulet.lit", true},
		2:  {"capulet.lit/balcony", true},
		3:  {"a.b", true},
		4:  {"!~@capulet.lit", true},            // 0x21 and 0x7e: the ends of visible ASCII
		5:  {"a b@capulet.lit", false},          // space: refused in a localpart
		6:  {"a\x7f@capulet.lit", false},        // DEL
		7:  {"Z@capulet.lit", false},            // upper case, the last letter
		8:  {"A@capulet.lit", false},            // upper case, the first letter
		9:  {"[`@capulet.lit", true},            // just after Z, just before a
		10: {"?@capulet.lit", true},             // just before @ and A
		11: {"@a@capulet.lit", false},           // empty localpart
		12: {"juliet@capulet.lit/b c", false},   // a space in a resource: prepared
		13: {"juliet@capulet.lit/!~", true},     // visible ASCII in a resource
		14: {"juliet@capulet.lit/b\x7f", false}, // DEL in a resource
		15: {strings.Repeat("l", maxPart) + "@capulet.lit", true},
		16: {strings.Repeat("l", maxPart+1) + "@capulet.lit", false},
		17: {"juliet@" + domain1023, true},
		18: {"juliet@a" + domain1023, false},
		19: {"juliet@" + label63 + ".lit", true},
		20: {"juliet@a" + label63 + ".lit", false}, // a label of 64
		21: {"juliet@capulet.lit/" + strings.Repeat("r", maxPart), true},
		22: {"juliet@capulet.lit/" + strings.Repeat("r", maxPart+1), false},
		23: {"juliet@a-b.lit", true},
		24: {"juliet@-ab.lit", false},
		25: {"juliet@ab-.lit", false},
		26: {"juliet@ab.lit-", false},
		27: {"juliet@a--b.lit", false},
		28: {"juliet@.lit", false},
		29: {"juliet@ab..lit", false},
		30: {"juliet@ab_c.lit", false},
		31: {"juliet@0z.lit", true},
		32: {"juliet@ab/", false},
		33: {"juliet@", false},
		34: {"/res", false},
		35: {"juliet@a9.lit", true}, // the last digit
		36: {"juliet@az.lit", true}, // the last letter
	} {
		_, fast := canonicalASCII(tc.in)
		if fast != tc.fast {
			t.Errorf("%d: fast path %v, want %v", i, fast, tc.fast)
		}
		a, ok := ParseAddress(tc.in)
		j, err := jid.Parse(tc.in)
		if ok != (err == nil) {
			t.Errorf("%d: ParseAddress ok %v, jid.Parse error %v", i, ok, err)
			continue
		}
		if !ok {
			continue
		}
		if a.String() != j.String() || a.Local() != j.Localpart() || a.Domain() != j.Domainpart() || a.Resource() != j.Resourcepart() {
			t.Errorf("%d: ParseAddress = %q (%q, %q, %q), jid.Parse = %q", i, a, a.Local(), a.Domain(), a.Resource(), j)
		}
	}
}

// TestAddressSlowPathParts: addresses that need preparation are split
// into their parts after it, with or without a localpart or resource.
func TestAddressSlowPathParts(t *testing.T) {
	for i, tc := range [...]struct {
		in, local, domain, res string
	}{
		0: {"Capulet.LIT", "", "capulet.lit", ""},
		1: {"Capulet.LIT/Balcony", "", "capulet.lit", "Balcony"},
		2: {"J@Capulet.LIT", "j", "capulet.lit", ""},
		3: {"J@Capulet.LIT/a@b", "j", "capulet.lit", "a@b"},
	} {
		a, ok := ParseAddress(tc.in)
		if !ok || a.Local() != tc.local || a.Domain() != tc.domain || a.Resource() != tc.res {
			t.Errorf("%d: %v %q: (%q, %q, %q)", i, ok, a, a.Local(), a.Domain(), a.Resource())
		}
	}
}

// TestCanonicalAddressAllocatesNothing: the reason for the fast path is
// that the addresses on the wire, already canonical, cost no allocation.
func TestCanonicalAddressAllocatesNothing(t *testing.T) {
	for i, s := range [...]string{0: "juliet@capulet.lit/balcony", 1: "room@conference.localhost", 2: "conference.localhost"} {
		if n := testing.AllocsPerRun(10, func() { ParseAddress(s) }); n != 0 {
			t.Errorf("%d: %v allocations", i, n)
		}
	}
}
