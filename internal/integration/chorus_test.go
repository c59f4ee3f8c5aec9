package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/room"
	"chorus/store"
)

// Domains the scripts assume.
const (
	Host      = "localhost"
	Service   = "conference.localhost"
	AdminJID  = "admin@localhost"
	linkSetup = 15 * time.Second
)

// StartChorus runs Chorus in-process against a server's component port and
// waits until the link is up. It stops when the test ends.
func StartChorus(tb testing.TB, server, secret string) {
	tb.Helper()
	tb.Cleanup(RunChorus(tb, server, secret, nil))
}

// RunChorus is StartChorus with a store (nil: memory only) and an explicit
// stop, for tests that restart it. stop waits until Chorus has shut down
// and written what it holds; the store stays open.
func RunChorus(tb testing.TB, server, secret string, st store.Store) (stop func()) {
	tb.Helper()
	return RunChorusWith(tb, server, secret, st, nil)
}

// RunChorusWith is RunChorus with tune, if not nil, applied to the
// component's configuration before it starts: for tests of its limits, or
// that watch the link (wrap OnState, which signals that the link is up).
func RunChorusWith(tb testing.TB, server, secret string, st store.Store, tune func(*component.Config)) (stop func()) {
	tb.Helper()
	return runChorus(tb, server, secret, room.Options{Store: st,
		OnStoreError: func(err error) { tb.Errorf("store: %v", err) }}, tune)
}

// StartChorusWithLimits is StartChorus with the service's abuse limits
// set, as the binary sets them from the environment.
func StartChorusWithLimits(tb testing.TB, server, secret string, limits room.Limits) {
	tb.Helper()
	tb.Cleanup(runChorus(tb, server, secret, room.Options{Limits: limits}, nil))
}

// runChorus runs Chorus with the registry options o (the domain and the
// administrator are the scripts') and tune, if not nil, applied to the
// component's configuration. A *component.Blocklist as o.Blocklist is
// followed, as the binary follows CHORUS_RTBL.
func runChorus(tb testing.TB, server, secret string, o room.Options, tune func(*component.Config)) (stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{}, 1)
	cfg := component.Config{
		Domain:     Service,
		Secret:     secret,
		Server:     server,
		Logger:     zerolog.New(zerolog.NewTestWriter(tb)).Level(zerolog.WarnLevel),
		MinBackoff: 50 * time.Millisecond,
		MaxBackoff: time.Second,
		OnState: func(ok bool) {
			if ok {
				select {
				case up <- struct{}{}:
				default:
				}
			}
		},
	}
	if tune != nil {
		tune(&cfg)
	}
	o.Domain, o.Admins = Service, []string{AdminJID}
	reg := room.NewRegistry(o)
	done := make(chan error, 1)
	rt := component.NewRouter(Service, reg)
	if bl, ok := o.Blocklist.(*component.Blocklist); ok {
		rt.WithBlocklist(bl, cfg.Logger)
	}
	go func() { done <- component.Run(ctx, cfg, rt) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("chorus: %v", err)
				}
			case <-time.After(10 * time.Second):
				tb.Errorf("chorus did not stop")
			}
			reg.Close()
		})
	}
	select {
	case <-up:
	case err := <-done:
		stop()
		tb.Fatalf("chorus stopped before connecting: %v", err)
	case <-time.After(linkSetup):
		stop()
		tb.Fatalf("chorus did not connect to %s within %v", server, linkSetup)
	}
	return stop
}

// ModuleRoot finds the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("integration: go.mod not found")
		}
		dir = parent
	}
}

// SharedScripts returns the directory of Prosody's MUC scripts: the
// CHORUS_SCANSION_DIR variable, else ../shared/scansion beside the project.
func SharedScripts() (string, error) {
	if d := os.Getenv("CHORUS_SCANSION_DIR"); d != "" {
		return d, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	d := filepath.Join(root, "..", "shared", "scansion")
	if _, err := os.Stat(d); err != nil {
		return "", fmt.Errorf("Prosody's MUC scripts not found at %s (set CHORUS_SCANSION_DIR): %w", d, err)
	}
	return d, nil
}

// require skips a test whose prerequisite is missing, or fails it under
// CI=true, where a missing tool is a broken setup.
func require(tb testing.TB, err error) {
	tb.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal(err)
	}
	tb.Skip(err)
}
