package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
)

// JoinConfig configures the join storm: all users log in first, the rooms
// are created, then the users join as fast as the service lets them.
type JoinConfig struct {
	Common
	Joins       int // total; default 100
	Concurrency int // joins in flight; default 50
	// History, when positive, is how many messages each room's owner
	// posts before the storm; the joiners then ask for the room's default
	// history, as clients do, and a join lasts until its subject message,
	// which follows the history (XEP-0045 §7.2.15).
	History int
}

// JoinResult is the JSON line of the join scenario.
type JoinResult struct {
	Scenario     string             `json:"scenario"`
	Label        string             `json:"label"`
	Joins        int                `json:"joins"`
	Rooms        int                `json:"rooms"`
	Seconds      float64            `json:"seconds"`
	JoinsPerSec  float64            `json:"joins_per_sec"`
	LatencyMS    Latency            `json:"latency_ms"`
	CPUSeconds   map[string]float64 `json:"cpu_seconds"`
	CPUMsPerJoin map[string]float64 `json:"cpu_ms_per_join"`
	// History is JoinConfig.History; HistoryPerJoin the messages each
	// joiner received before the subject, on average.
	History        int     `json:"history,omitempty"`
	HistoryPerJoin float64 `json:"history_per_join,omitempty"`
}

// Join runs the join storm. Each room is created beforehand by an extra
// user, <prefix>owner<r>, so that every measured join is an ordinary join
// into an existing room.
func Join(ctx context.Context, cfg JoinConfig) (*JoinResult, error) {
	cfg.setDefaults()
	if cfg.Joins <= 0 {
		cfg.Joins = 100
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 50
	}
	owners := make([]*member, cfg.Rooms)
	for r := range owners {
		owners[r] = newMember(cfg.Prefix+"owner"+strconv.Itoa(r), cfg.room(r))
	}
	joiners := make([]*member, cfg.Joins)
	for i := range joiners {
		joiners[i] = newMember(cfg.user(i), cfg.room(i%cfg.Rooms))
		joiners[i].history = cfg.History > 0
	}
	all := append(append([]*member(nil), owners...), joiners...)

	cfg.logf("join: %d joins into %d rooms, %d at a time, at %s", cfg.Joins, cfg.Rooms, cfg.Concurrency, cfg.Server)
	// Joiners receive every later join's presence: buffers start small.
	if err := cfg.login(ctx, "join", all, 4<<10, func(i int) Handler { return all[i].handle }); err != nil {
		return nil, err
	}
	defer closeAll(all)
	if err := joinAll(ctx, &cfg.Common, "join", owners); err != nil {
		return nil, err
	}
	if cfg.History > 0 {
		err := parallel(ctx, &cfg.Common, "join: rooms filled", len(owners), cfg.LoginConcurrency, func(ctx context.Context, r int) error {
			return owners[r].post(ctx, cfg.History)
		})
		if err != nil {
			return nil, err
		}
	}

	var (
		mu   sync.Mutex
		hist Histogram
	)
	cpu0, err := sampleCPU(cfg.Procs)
	if err != nil {
		return nil, err
	}
	err = parallel(ctx, &cfg.Common, "join: storm, joined", cfg.Joins, cfg.Concurrency, func(ctx context.Context, i int) error {
		d, err := joiners[i].join(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		hist.Record(d)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	cpu1, err := sampleCPU(cfg.Procs)
	if err != nil {
		return nil, err
	}
	if err := firstDead(all); err != nil {
		return nil, fmt.Errorf("a client was disconnected during the run: %w", err)
	}

	wall := cpu1.at.Sub(cpu0.at).Seconds()
	res := &JoinResult{
		Scenario: "join", Label: cfg.Label, Joins: cfg.Joins, Rooms: cfg.Rooms,
		Seconds: round(wall, 3), JoinsPerSec: round(float64(cfg.Joins)/wall, 1),
		LatencyMS: hist.Latency(), CPUSeconds: map[string]float64{}, CPUMsPerJoin: map[string]float64{},
	}
	if cfg.History > 0 {
		res.History = cfg.History
		got := 0
		for _, j := range joiners {
			got += j.histGot // each joiner's subject arrived: its count is final
		}
		res.HistoryPerJoin = round(float64(got)/float64(len(joiners)), 1)
	}
	for k, v := range cpuSeconds(cpu0, cpu1) {
		res.CPUSeconds[k] = round(v, 3)
		res.CPUMsPerJoin[k] = round(v*1000/float64(cfg.Joins), 3)
	}
	return res, nil
}
