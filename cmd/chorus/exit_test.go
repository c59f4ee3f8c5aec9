package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBuiltBinaryExitStatus: README's exit statuses are the built
// binary's, as service managers and scripts see them; `go run` turns any
// non-zero status into its own 1, which README says too.
func TestBuiltBinaryExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "chorus")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env := func(kv ...string) []string {
		// Nothing of the test's own CHORUS_ environment leaks in.
		var e []string
		for _, v := range os.Environ() {
			if len(v) < 7 || v[:7] != "CHORUS_" {
				e = append(e, v)
			}
		}
		return append(e, kv...)
	}
	status := func(cmd *exec.Cmd) int {
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		}
		t.Fatalf("%v: %v", cmd.Args, err)
		return -1
	}
	for i, tc := range [...]struct {
		args []string
		env  []string
		want int
	}{
		0: {[]string{"-h"}, env(), 0},
		1: {nil, env(), 2},
		2: {nil, env("CHORUS_DOMAIN=c.example", "CHORUS_SECRET=s", "CHORUS_ARCHIVE_EXPIRY=213600d"), 2},
		3: {nil, env("CHORUS_DOMAIN=c.example", "CHORUS_SECRET=s", "CHORUS_LOG_LEVEL=error",
			"CHORUS_STORE=postgres://chorus@127.0.0.1:1/none?connect_timeout=2"), 2},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = tc.env
		if got := status(cmd); got != tc.want {
			t.Errorf("%d: chorus %v exited %d, want %d", i, tc.args, got, tc.want)
		}
	}
	run := exec.Command("go", "run", ".")
	run.Env = env()
	if got := status(run); got != 1 {
		t.Errorf("go run with a configuration error exited %d; README says go run reports 1", got)
	}
}
