package integration

import (
	"context"
	"path/filepath"
	"slices"
	"sort"
	"strings"
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
	if err := playScript(t, path, scansion.Options{C2SAddr: c2s}); err != nil {
		t.Fatal(err)
	}
}

// playScript plays the script at path with opt, adding the domain and the
// test's log.
func playScript(t *testing.T, path string, opt scansion.Options) error {
	t.Helper()
	s, err := scansion.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opt.Domain, opt.Logf = Host, t.Logf
	return scansion.Run(ctx, s, opt)
}

// runListed plays a script listed in pending-scripts.txt or
// ejabberd-exceptions.txt (list names which): it is expected to fail, and
// skips with the reason when it does. One that passes is a stale entry and
// fails the test, so that the lists only ever name what still fails.
func runListed(t *testing.T, list, reason, path string, opt scansion.Options) {
	t.Helper()
	err := playScript(t, path, opt)
	if err == nil {
		t.Fatalf("stale entry: %s passes; remove it from testdata/%s", filepath.Base(path), list)
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	t.Skipf("%s: %s (fails as listed: %s)", list, reason, first)
}

// checkListed fails for each entry of a script list that names no script.
func checkListed(t *testing.T, list string, entries map[string]string, names []string) {
	t.Helper()
	for name := range entries {
		if !slices.Contains(names, name) {
			t.Errorf("testdata/%s: %s names no script (Prosody's are listed by file name, ours as testdata/name.scs)", list, name)
		}
	}
}

// scriptNames names the scripts in all as the lists do: Prosody's (in dir)
// by file name, the project's as testdata/<file>.
func scriptNames(dir string, all []string) []string {
	names := make([]string, len(all))
	for i, path := range all {
		names[i] = filepath.Base(path)
		if filepath.Dir(path) != dir {
			names[i] = "testdata/" + names[i]
		}
	}
	return names
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
// testdata/pending-scripts.txt must fail, and skip with the reason given
// there.
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
	names := scriptNames(dir, all)
	checkListed(t, "pending-scripts.txt", pending, names)
	for i, path := range all {
		t.Run(names[i], func(t *testing.T) {
			srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			startChorusFor(t, path, srv.ComponentAddr(), srv.Secret())
			if reason, ok := pending[names[i]]; ok {
				runListed(t, "pending-scripts.txt", reason, path, scansion.Options{C2SAddr: srv.C2SAddr()})
			}
			runScript(t, path, srv.C2SAddr())
		})
	}
}
