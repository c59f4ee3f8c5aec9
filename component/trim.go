package component

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// DefaultTrimAfter is how long the link must be quiet after traffic before
// the process returns its free memory to the operating system.
const DefaultTrimAfter = 3 * time.Second

// idleTrim returns memory to the operating system once traffic stops after
// a burst. Left alone, a Go heap keeps the garbage of a burst (a join
// storm, a busy hour) until the runtime's periodic collection, every two
// minutes, and then gives it back gradually: memory the host cannot use
// while the service sits idle.
type idleTrim struct {
	busy atomic.Bool  // stanzas arrived since the last trim
	last atomic.Int64 // when the last one arrived, Unix nanoseconds
}

// touch records a stanza.
func (t *idleTrim) touch(now time.Time) {
	t.last.Store(now.UnixNano())
	if !t.busy.Load() {
		t.busy.Store(true)
	}
}

// run calls free once after each quiet spell of at least quiet that follows
// traffic, until ctx ends.
func (t *idleTrim) run(ctx context.Context, quiet time.Duration, free func()) {
	tick := time.NewTicker(quiet / 3)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if t.busy.Load() && now.Sub(time.Unix(0, t.last.Load())) >= quiet {
				t.busy.Store(false)
				free()
			}
		}
	}
}

// freeOSMemory collects garbage and hands all free pages back.
var freeOSMemory = debug.FreeOSMemory
