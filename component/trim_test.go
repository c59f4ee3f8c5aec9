package component

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestIdleTrim(t *testing.T) {
	var tr idleTrim
	var frees atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tr.run(ctx, 30*time.Millisecond, func() { frees.Add(1) })

	time.Sleep(100 * time.Millisecond)
	if n := frees.Load(); n != 0 {
		t.Fatalf("%d trims without traffic", n)
	}
	// Traffic for a while: no trim while it lasts, one after it stops.
	for range 10 {
		tr.touch(time.Now())
		time.Sleep(10 * time.Millisecond)
	}
	if n := frees.Load(); n != 0 {
		t.Fatalf("%d trims during traffic", n)
	}
	deadline := time.Now().Add(2 * time.Second)
	for frees.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if n := frees.Load(); n != 1 {
		t.Fatalf("%d trims after one burst, want 1", n)
	}
}
