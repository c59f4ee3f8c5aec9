package room

import (
	"strings"
	"testing"

	"mellium.im/xmpp/jid"
)

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in, full, local, domain, res string
		ok                           bool
	}{
		{"juliet@capulet.lit/balcony", "juliet@capulet.lit/balcony", "juliet", "capulet.lit", "balcony", true},
		{"room@conference.localhost", "room@conference.localhost", "room", "conference.localhost", "", true},
		{"conference.localhost", "conference.localhost", "", "conference.localhost", "", true},
		{"localhost/res@with/slash", "localhost/res@with/slash", "", "localhost", "res@with/slash", true},
		{"Juliet@Capulet.LIT/Balcony", "juliet@capulet.lit/Balcony", "juliet", "capulet.lit", "Balcony", true},
		{"room@conference.localhost/nick with space", "room@conference.localhost/nick with space", "room", "conference.localhost", "nick with space", true},
		{"ĴULIET@capulet.lit", "ĵuliet@capulet.lit", "ĵuliet", "capulet.lit", "", true},
		{"juliet@capulet.lit.", "juliet@capulet.lit", "juliet", "capulet.lit", "", true},
		{"juliet@xn--caf-dma.lit", "juliet@café.lit", "juliet", "café.lit", "", true},
		{"", "", "", "", "", false},
		{"@capulet.lit", "", "", "", "", false},
		{"juliet@capulet.lit/", "", "", "", "", false},
		{"jul<iet@capulet.lit", "", "", "", "", false},
		{"juliet@@capulet.lit", "", "", "", "", false},
		{strings.Repeat("a", 1024) + "@capulet.lit", "", "", "", "", false},
	} {
		a, ok := ParseAddress(tc.in)
		if ok != tc.ok {
			t.Errorf("ParseAddress(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if a.String() != tc.full || a.Local() != tc.local || a.Domain() != tc.domain || a.Resource() != tc.res {
			t.Errorf("ParseAddress(%q) = %q (%q, %q, %q), want %q (%q, %q, %q)", tc.in,
				a.String(), a.Local(), a.Domain(), a.Resource(), tc.full, tc.local, tc.domain, tc.res)
		}
		if want := strings.SplitN(tc.full, "/", 2)[0]; a.Bare() != want {
			t.Errorf("ParseAddress(%q).Bare() = %q, want %q", tc.in, a.Bare(), want)
		}
	}
}

// FuzzParseAddress holds the fast path to the full parser: whatever it
// accepts, jid.Parse accepts with the same result.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{"juliet@capulet.lit/balcony", "a@b", "x.y-z", "a@-b.c", "a@b-.c", "a@b..c",
		"a@1.2.3.4", "a@[::1]", "a@b/ c", "a%b@c/d", "A@b", "a@B", "a@b.c.", "a@xn--x.c", "a@b/\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := canonicalASCII(s)
		if !ok {
			return
		}
		j, err := jid.Parse(s)
		if err != nil {
			t.Fatalf("fast path accepted %q, jid.Parse refuses it: %v", s, err)
		}
		if j.String() != a.String() || j.Localpart() != a.Local() || j.Domainpart() != a.Domain() ||
			j.Resourcepart() != a.Resource() || j.Bare().String() != a.Bare() {
			t.Fatalf("fast path %q gives %q, jid.Parse %q", s, a.String(), j.String())
		}
	})
}
