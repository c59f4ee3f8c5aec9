package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/room"
	"chorus/store"
)

// waitingLeaser is a store shared with an active instance that never goes:
// Acquire waits until its context ends, or fails with err.
type waitingLeaser struct {
	err     error
	waiting chan struct{}
}

func (l waitingLeaser) Acquire(ctx context.Context, _ string) (*store.Lease, error) {
	if l.err != nil {
		return nil, l.err
	}
	close(l.waiting)
	<-ctx.Done()
	return nil, ctx.Err()
}

func (waitingLeaser) Fence(string, int64) {}

// TestStandby: with a shared store Chorus waits as a standby, shows it,
// never connects, and a stop while waiting ends it with status 0; a store
// that cannot give the lease ends it with status 1.
func TestStandby(t *testing.T) {
	cfg := config{Domain: "conference.example.com", Secret: "s", Server: "127.0.0.1:1"}
	reg := room.NewRegistry(room.Options{Domain: cfg.Domain})
	defer reg.Close()
	h := component.NewRouter(cfg.Domain, reg)
	var logs bytes.Buffer
	log := zerolog.New(&logs)

	m := component.NewMetrics()
	l := waitingLeaser{waiting: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- serve(ctx, cfg, l, h, reg, m, log) }()
	select {
	case <-l.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("no wait for the lease")
	}
	if !m.Standby() || m.Ready() {
		t.Errorf("waiting for the lease: standby %v, ready %v", m.Standby(), m.Ready())
	}
	cancel()
	select {
	case status := <-done:
		if status != 0 {
			t.Errorf("stopped in standby: status %d, want 0", status)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stop in standby did not end it")
	}
	if !strings.Contains(logs.String(), `"message":"standby for the domain"`) || !strings.Contains(logs.String(), `"domain":"conference.example.com"`) {
		t.Errorf("log: %s", logs.String())
	}
	if strings.Contains(logs.String(), "component") {
		t.Errorf("a standby went on to the component link: %s", logs.String())
	}

	failing := waitingLeaser{err: errors.New("database gone")}
	if status := serve(context.Background(), cfg, failing, h, reg, component.NewMetrics(), log); status != 1 {
		t.Errorf("lease refused: status %d, want 1", status)
	}
}
