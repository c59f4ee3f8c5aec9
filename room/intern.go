package room

import (
	"runtime"
	"sync"
	"weak"

	"chorus/stanza"
)

// presences holds one copy of each distinct stored presence. Most
// occupants' presences are alike (the same client and server add the same
// language, avatar hash and capabilities), and as element trees they were
// most of an idle occupant's memory. Entries go when no occupant holds
// them any more.
var presences = struct {
	sync.Mutex
	m map[string]weak.Pointer[stanza.Element]
}{m: map[string]weak.Pointer[stanza.Element]{}}

// internPresence returns the shared element equal to p, making p the
// shared one if there is none. The result must not be modified: users copy
// it (ShallowCopy) before adding to it.
func internPresence(p *stanza.Element) *stanza.Element {
	key := string(p.Append(nil))
	presences.Lock()
	defer presences.Unlock()
	if wp, ok := presences.m[key]; ok {
		if q := wp.Value(); q != nil {
			return q
		}
	}
	wp := weak.Make(p)
	presences.m[key] = wp
	runtime.AddCleanup(p, func(key string) {
		presences.Lock()
		defer presences.Unlock()
		// A later presence may have taken the key meanwhile.
		if presences.m[key] == wp {
			delete(presences.m, key)
		}
	}, key)
	return p
}
