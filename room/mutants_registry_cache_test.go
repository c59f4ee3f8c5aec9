package room

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAbsentCacheBounded: the negative cache never holds more than
// absentMax rooms. When full it first forgets what has expired and keeps
// what has not; only when everything is still fresh does it start over.
func TestAbsentCacheBounded(t *testing.T) {
	h := newHarness(t)
	g := h.g
	g.mu.Lock()
	defer g.mu.Unlock()
	fill := func(prefix string, n int) {
		for i := range n {
			g.rememberAbsent(fmt.Sprintf("%s%d@conference.localhost", prefix, i))
		}
	}

	// Half expired, half fresh: the expired half goes, the fresh stays.
	fill("old", absentMax/2)
	h.advance(absentTTL + time.Second)
	fill("new", absentMax-absentMax/2)
	if len(g.absent) != absentMax {
		t.Fatalf("%d remembered before the cache is full, want %d", len(g.absent), absentMax)
	}
	g.rememberAbsent("one-more@conference.localhost")
	if _, ok := g.absent["new0@conference.localhost"]; !ok {
		t.Error("a fresh entry was forgotten while expired ones could go")
	}
	if _, ok := g.absent["old0@conference.localhost"]; ok {
		t.Error("an expired entry outlived the sweep")
	}
	if len(g.absent) != absentMax-absentMax/2+1 {
		t.Errorf("%d remembered after the sweep, want %d", len(g.absent), absentMax-absentMax/2+1)
	}

	// All fresh and full: start over rather than grow.
	clear(g.absent)
	fill("fresh", absentMax)
	g.rememberAbsent("last@conference.localhost")
	if len(g.absent) > absentMax {
		t.Errorf("cache grew to %d, over %d", len(g.absent), absentMax)
	}
	if _, ok := g.absent["last@conference.localhost"]; !ok {
		t.Error("the newest entry is not remembered")
	}
}

// TestLiveIntervalDefault: live state without an interval is written at
// the default pace; a chosen interval is kept.
func TestLiveIntervalDefault(t *testing.T) {
	p := newLiveProbe(t)
	for _, tc := range []struct{ set, want time.Duration }{{0, defaultLiveInterval}, {time.Hour, time.Hour}} {
		g := NewRegistry(Options{Domain: "conference.localhost", Store: p, Live: p, LiveInterval: tc.set})
		if got := g.svc.live.interval; got != tc.want {
			t.Errorf("LiveInterval %v: writes every %v, want %v", tc.set, got, tc.want)
		}
		g.Close()
	}
}

// TestShutdownReportsLiveStateFailure: when the service stops emptying
// its rooms and the live state cannot be cleared, the operator hears of
// it; when it can, of nothing.
func TestShutdownReportsLiveStateFailure(t *testing.T) {
	for _, fail := range []bool{false, true} {
		p := newLiveProbe(t)
		var errs []error
		h := newLiveHarness(t, p, OnStopKick, &errs)
		h.createRoom()
		p.setFail(fail)
		if out := h.g.Shutdown(); len(out) == 0 {
			t.Fatalf("fail %v: nobody told of the stop", fail)
		}
		reported := false
		for _, err := range errs {
			reported = reported || strings.Contains(err.Error(), "live state")
		}
		if reported != fail {
			t.Errorf("store failing %v: reported %v (%v)", fail, reported, errs)
		}
	}
}
