package integration

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"chorus/internal/fakehost"
	"chorus/internal/prosody"
	"chorus/internal/scansion"
	"chorus/room"
)

func scripts(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.scs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scripts in %s", dir)
	}
	sort.Strings(files)
	return files
}

func ourScenarios(t *testing.T) []string {
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return scripts(t, filepath.Join(root, "testdata"))
}

// scenarioOptions are the service options a scenario needs besides the
// defaults, by file name: what the binary would read from its environment.
var scenarioOptions = map[string]room.Options{
	"registered_nick.scs": {EnforceRegisteredNick: true},
}

// startChorusFor is StartChorus with the options the script at path needs.
func startChorusFor(t *testing.T, path, server, secret string) {
	t.Helper()
	t.Cleanup(runChorus(t, server, secret, scenarioOptions[filepath.Base(path)], nil))
}

func runScript(t *testing.T, path, c2s string) {
	t.Helper()
	s, err := scansion.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := scansion.Run(ctx, s, scansion.Options{C2SAddr: c2s, Domain: Host, Logf: t.Logf}); err != nil {
		t.Fatal(err)
	}
}

// TestScenarios runs the project's own scenarios against the fake host: a
// fresh host and Chorus per script.
func TestScenarios(t *testing.T) {
	for _, path := range ourScenarios(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			h, err := fakehost.Start(fakehost.Options{Domain: Host, ComponentDomain: Service, Secret: "secret"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { h.Close() })
			startChorusFor(t, path, h.ComponentAddr(), "secret")
			runScript(t, path, h.C2SAddr())
		})
	}
}

// TestProsodyScripts runs Prosody's own MUC scripts, then the project's
// scenarios, against a fresh disposable Prosody per script with Chorus
// attached as conference.localhost. Scripts listed in
// testdata/pending-scripts.txt are skipped with the reason given there.
func TestProsodyScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	dir, err := SharedScripts()
	require(t, err)
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	pending, err := Pending(filepath.Join(root, "testdata", "pending-scripts.txt"))
	if err != nil {
		t.Fatal(err)
	}
	all := append(scripts(t, dir), ourScenarios(t)...)
	for _, path := range all {
		name := filepath.Base(path)
		if filepath.Dir(path) != dir {
			name = "testdata/" + name
		}
		t.Run(name, func(t *testing.T) {
			if reason, ok := pending[name]; ok {
				t.Skip("pending: " + reason)
			}
			srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			startChorusFor(t, path, srv.ComponentAddr(), srv.Secret())
			runScript(t, path, srv.C2SAddr())
		})
	}
}
