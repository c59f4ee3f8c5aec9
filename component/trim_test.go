package component

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestIdleTrim runs on synctest's clock: time passes only when every
// goroutine of the test is blocked, so the steps below are exact.
func TestIdleTrim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const quiet = 30 * time.Millisecond
		var tr idleTrim
		var frees atomic.Int32
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go tr.run(ctx, quiet, func() { frees.Add(1) })

		time.Sleep(10 * quiet)
		synctest.Wait()
		if n := frees.Load(); n != 0 {
			t.Fatalf("%d trims without traffic", n)
		}
		// Traffic for a while, never quiet for as long as quiet: no trim
		// while it lasts, one after it stops.
		for range 10 {
			tr.touch(time.Now())
			time.Sleep(quiet / 2)
		}
		synctest.Wait()
		if n := frees.Load(); n != 0 {
			t.Fatalf("%d trims during traffic", n)
		}
		time.Sleep(quiet)
		synctest.Wait()
		if n := frees.Load(); n != 1 {
			t.Fatalf("%d trims after one quiet spell, want 1", n)
		}
		time.Sleep(10 * quiet)
		synctest.Wait()
		if n := frees.Load(); n != 1 {
			t.Fatalf("%d trims after one burst, want 1", n)
		}
	})
}
