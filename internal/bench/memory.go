package bench

import (
	"context"
	"fmt"
	"time"
)

// MemoryConfig configures the memory scenario: how much the measured
// processes grow when idle occupants join.
type MemoryConfig struct {
	Common
	Occupants int           // total, across the rooms; default 1000
	Settle    time.Duration // idle time before the second measurement; default 5 s
}

// MemoryResult is the JSON line of the memory scenario.
type MemoryResult struct {
	Scenario         string             `json:"scenario"`
	Label            string             `json:"label"`
	Occupants        int                `json:"occupants"`
	Rooms            int                `json:"rooms"`
	RSSBeforeKiB     map[string]int64   `json:"rss_before_kib"`
	RSSAfterKiB      map[string]int64   `json:"rss_after_kib"`
	BytesPerOccupant map[string]float64 `json:"bytes_per_occupant"`
}

// Memory runs the memory scenario. The first measurement is taken after all
// users logged in, so that the server's cost of a client session is not
// counted against the MUC.
func Memory(ctx context.Context, cfg MemoryConfig) (*MemoryResult, error) {
	cfg.setDefaults()
	if cfg.Occupants <= 0 {
		cfg.Occupants = 1000
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 5 * time.Second
	}
	ms := make([]*member, cfg.Occupants)
	for i := range ms {
		ms[i] = newMember(cfg.user(i), cfg.room(i%cfg.Rooms))
	}
	cfg.logf("memory: %d occupants in %d rooms, at %s", cfg.Occupants, cfg.Rooms, cfg.Server)
	// Thousands of idle connections: small buffers, grown when needed.
	if err := cfg.login(ctx, "memory", ms, 2<<10, func(i int) Handler { return ms[i].handle }); err != nil {
		return nil, err
	}
	defer closeAll(ms)
	if err := sleepUntil(ctx, time.Now().Add(cfg.Settle)); err != nil {
		return nil, err
	}
	before, err := sampleRSS(cfg.Procs)
	if err != nil {
		return nil, err
	}
	if err := joinAll(ctx, &cfg.Common, "memory", ms); err != nil {
		return nil, err
	}
	cfg.logf("memory: all joined; settling for %v", cfg.Settle)
	if err := sleepUntil(ctx, time.Now().Add(cfg.Settle)); err != nil {
		return nil, err
	}
	after, err := sampleRSS(cfg.Procs)
	if err != nil {
		return nil, err
	}
	if err := firstDead(ms); err != nil {
		return nil, fmt.Errorf("a client was disconnected during the run: %w", err)
	}
	res := &MemoryResult{
		Scenario: "memory", Label: cfg.Label, Occupants: cfg.Occupants, Rooms: cfg.Rooms,
		RSSBeforeKiB: before, RSSAfterKiB: after, BytesPerOccupant: map[string]float64{},
	}
	for k, a := range after {
		res.BytesPerOccupant[k] = round(float64(a-before[k])*1024/float64(cfg.Occupants), 1)
	}
	return res, nil
}
