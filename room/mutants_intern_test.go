package room

import (
	"runtime"
	"testing"
	"time"

	"chorus/stanza"
)

// TestInternedPresenceForgotten: once no occupant holds a shared
// presence, its entry leaves the table, so the table is bounded by the
// presences in use.
func TestInternedPresenceForgotten(t *testing.T) {
	p := stanza.MustParse(`<presence><status>forgotten-` + t.Name() + `</status></presence>`)
	key := string(p.Append(nil))
	internPresence(p)
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		presences.Lock()
		_, ok := presences.m[key]
		presences.Unlock()
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("entry of an unused presence still in the table")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
