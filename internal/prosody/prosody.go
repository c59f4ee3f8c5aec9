// Package prosody runs a disposable Prosody for integration tests and load
// tests. The server itself is the sandbox's, chorus/internal/serverproc/prosody;
// this package adds what tests need: skipping without Prosody, and a
// server stopped when the test ends, with its log printed if it failed.
package prosody

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"chorus/internal/serverproc/prosody"
	"chorus/internal/serverproc/servertest"
)

type (
	// Options configure the server; see the launcher's.
	Options = prosody.Options
	// Server is one Prosody process and the files it owns.
	Server = prosody.Server
)

var (
	// Available reports why Prosody cannot be used here, or nil.
	Available = prosody.Available
	// ArchiveAvailable reports why Options.Archive cannot work here, or nil.
	ArchiveAvailable = prosody.ArchiveAvailable
	// Launch starts Prosody for a program, which ends it with Close.
	Launch = prosody.Launch
	// SelfSigned writes a self-signed certificate for Options.TLSCert.
	SelfSigned = prosody.SelfSigned
)

// Require skips the test when Prosody is not installed, or fails it when
// the environment variable CI is "true", where a missing Prosody means a
// broken CI setup rather than a developer's machine without it.
func Require(tb testing.TB) {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("prosody not installed: %v", err)
		}
		tb.Skipf("prosody not installed: %v", err)
	}
}

// Start writes a config into a fresh temporary directory, starts Prosody and
// waits until its client and component ports accept connections. The server
// is stopped when tb's test ends, and its log tail is printed if the test
// failed.
func Start(tb testing.TB, opts Options) (*Server, error) {
	tb.Helper()
	if err := Available(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.Logf == nil {
		opts.Logf = tb.Logf
	}
	s, err := prosody.Prepare(opts)
	if err != nil {
		return nil, err
	}
	servertest.StopAtCleanup(tb, "prosody", s.LogPath(), s.Stop)
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// MulticastModule is the path of contrib/prosody/mod_chorus_multicast.lua
// in this source tree, for Options.MulticastModule.
func MulticastModule() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "contrib", "prosody", "mod_chorus_multicast.lua")
}
