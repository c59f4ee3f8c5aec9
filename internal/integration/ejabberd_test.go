package integration

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"chorus/internal/ejabberd"
)

// TestEjabberdScripts runs the same scripts as TestProsodyScripts against a
// fresh disposable ejabberd per script with Chorus attached as
// conference.localhost. Scripts in testdata/pending-scripts.txt are skipped
// as there; scripts in testdata/ejabberd-exceptions.txt are skipped because
// they expect Prosody's client-side behaviour, which ejabberd does not
// share.
func TestEjabberdScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with ejabberd skipped in -short mode")
	}
	require(t, ejabberd.Available())
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
	exceptions, err := Pending(filepath.Join(root, "testdata", "ejabberd-exceptions.txt"))
	if errors.Is(err, os.ErrNotExist) {
		exceptions = nil
	} else if err != nil {
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
			if reason, ok := exceptions[name]; ok {
				t.Skip("ejabberd: " + reason)
			}
			srv, err := ejabberd.Start(t, ejabberd.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			startChorusFor(t, path, srv.ComponentAddr(), srv.Secret())
			runScript(t, path, srv.C2SAddr())
		})
	}
}
