package room

import (
	"strings"

	"mellium.im/xmpp/jid"
)

// Address is a normalized JID kept as one string and its split points.
// Nearly every address on the wire is already in canonical form, and
// keeping it as received spares the PRECIS and IDNA work and the
// allocations of a parse for each stanza; the parts are substrings of it.
type Address struct {
	full  string
	at    int // index of '@', or -1 without localpart
	slash int // index of '/', or len(full) without resourcepart
}

// ParseAddress normalizes s (RFC 7622), reporting whether it is a valid
// JID. Canonical ASCII addresses are taken as they are; anything else goes
// through the full preparation.
func ParseAddress(s string) (Address, bool) {
	if a, ok := canonicalASCII(s); ok {
		return a, true
	}
	if s == "" {
		return Address{}, false
	}
	j, err := jid.Parse(s)
	if err != nil {
		return Address{}, false
	}
	return splitAddress(j.String()), true
}

// splitAddress finds the parts of a normalized JID: the resourcepart
// starts at the first '/', and the localpart ends at the '@' before it.
func splitAddress(s string) Address {
	a := Address{full: s, at: -1, slash: len(s)}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		a.slash = i
	}
	if i := strings.IndexByte(s[:a.slash], '@'); i >= 0 {
		a.at = i
	}
	return a
}

// Valid reports whether a is an address: false for the zero Address that
// ParseAddress returns for a string that is none.
func (a Address) Valid() bool { return a.full != "" }

// String is the normalized full address.
func (a Address) String() string { return a.full }

// Bare is the address without its resourcepart.
func (a Address) Bare() string { return a.full[:a.slash] }

// Local is the localpart, empty when there is none.
func (a Address) Local() string {
	if a.at < 0 {
		return ""
	}
	return a.full[:a.at]
}

// Domain is the domainpart.
func (a Address) Domain() string { return a.full[a.at+1 : a.slash] }

// Resource is the resourcepart, empty when there is none.
func (a Address) Resource() string {
	if a.slash == len(a.full) {
		return ""
	}
	return a.full[a.slash+1:]
}

// maxPart is RFC 7622's limit on each part, in bytes.
const maxPart = 1023

// canonicalASCII accepts s when it is made only of ASCII that every step of
// the preparation leaves unchanged: a localpart without upper case or the
// characters RFC 7622 §3.3.1 forbids, a lower-case host name without
// "--" (punycode and its look-alikes), and a resourcepart of visible characters. Everything else
// (upper case, spaces, non-ASCII, IP literals, trailing dots) is left to
// the full parser.
func canonicalASCII(s string) (Address, bool) {
	a := Address{at: -1, slash: len(s)}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' {
			a.slash = i
			break
		}
		if c == '@' && a.at < 0 {
			a.at = i
		}
	}
	if a.at >= 0 && !canonicalLocal(s[:a.at]) {
		return Address{}, false
	}
	if !canonicalDomain(s[a.at+1 : a.slash]) {
		return Address{}, false
	}
	if a.slash < len(s) && !canonicalResource(s[a.slash+1:]) {
		return Address{}, false
	}
	a.full = s
	return a, true
}

func canonicalLocal(l string) bool {
	if l == "" || len(l) > maxPart {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c <= ' ' || c >= 0x7f || ('A' <= c && c <= 'Z') {
			return false
		}
		switch c {
		case '"', '&', '\'', '/', ':', '<', '>', '@':
			return false
		}
	}
	return true
}

func canonicalDomain(d string) bool {
	if d == "" || len(d) > maxPart || strings.Contains(d, "--") {
		return false
	}
	label := 0 // length of the current label
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c == '.':
			if label == 0 || d[i-1] == '-' {
				return false
			}
			label = 0
			continue
		case c == '-':
			if label == 0 {
				return false
			}
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	return label > 0 && d[len(d)-1] != '-'
}

func canonicalResource(r string) bool {
	if r == "" || len(r) > maxPart {
		return false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}
