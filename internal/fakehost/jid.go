package fakehost

import "strings"

// jid is an address split into its parts. The localpart and domain are
// lowercased, which is all the normalisation the tests need.
type jid struct {
	local, domain, resource string
}

// parseJID splits s; ok is false when s has no domain.
func parseJID(s string) (j jid, ok bool) {
	bare := s
	if i := strings.IndexByte(s, '/'); i >= 0 {
		bare, j.resource = s[:i], s[i+1:]
		if j.resource == "" {
			return jid{}, false
		}
	}
	if i := strings.IndexByte(bare, '@'); i >= 0 {
		j.local, bare = strings.ToLower(bare[:i]), bare[i+1:]
		if j.local == "" {
			return jid{}, false
		}
	}
	j.domain = strings.ToLower(bare)
	return j, j.domain != ""
}

func (j jid) bare() string {
	if j.local == "" {
		return j.domain
	}
	return j.local + "@" + j.domain
}

func (j jid) String() string {
	if j.resource == "" {
		return j.bare()
	}
	return j.bare() + "/" + j.resource
}
