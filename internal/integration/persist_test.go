package integration

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"chorus/internal/prosody"
	"chorus/store"
)

// TestRestartKeepsRooms: a persistent room, its configuration,
// affiliations, reserved nick, subject, history and archive survive a
// restart of Chorus and of Prosody, on each store backend.
func TestRestartKeepsRooms(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "testdata", "persist")
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			storeURL := b.URL(t)
			srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			open := func() store.Store {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				st, err := store.Open(ctx, storeURL)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}
			st := open()
			stop := RunChorus(t, srv.ComponentAddr(), srv.Secret(), st)
			runScript(t, filepath.Join(dir, "before_restart.scs"), srv.C2SAddr())
			stop()
			st.Close()

			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			st = open()
			defer st.Close()
			stop = RunChorus(t, srv.ComponentAddr(), srv.Secret(), st)
			defer stop()
			runScript(t, filepath.Join(dir, "after_restart.scs"), srv.C2SAddr())
		})
	}
}
