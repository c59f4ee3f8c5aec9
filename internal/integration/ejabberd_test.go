package integration

import (
	"encoding/xml"
	"path/filepath"
	"testing"

	"chorus/internal/ejabberd"
	"chorus/internal/scansion"
)

// ejabberdRelaxed is what the scripts may miss on ejabberd, a rule of our
// runner rather than an exception list entry: ejabberd's mod_vcard_xupdate
// sends <x xmlns='vcard-temp:x:update'/> without <photo/> for a user with
// no stored vCard, where Prosody (mod_vcard_legacy) adds an empty <photo/>
// that muc_create_destroy.scs expects in the presence Chorus reflects.
var ejabberdRelaxed = []xml.Name{{Space: "vcard-temp:x:update", Local: "photo"}}

// TestEjabberdScripts runs the same scripts as TestProsodyScripts against a
// fresh disposable ejabberd per script with Chorus attached as
// conference.localhost, with ejabberdRelaxed. Scripts in
// testdata/pending-scripts.txt and testdata/ejabberd-exceptions.txt must
// fail, and skip with the reason given there.
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
	if err != nil {
		t.Fatal(err)
	}
	all := append(scripts(t, dir), ourScenarios(t)...)
	names := scriptNames(dir, all)
	checkListed(t, "ejabberd-exceptions.txt", exceptions, names)
	for i, path := range all {
		t.Run(names[i], func(t *testing.T) {
			srv, err := ejabberd.Start(t, ejabberd.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			startChorusFor(t, path, srv.ComponentAddr(), srv.Secret())
			opt := scansion.Options{C2SAddr: srv.C2SAddr(), MayBeAbsent: ejabberdRelaxed}
			if reason, ok := pending[names[i]]; ok {
				runListed(t, "pending-scripts.txt", reason, path, opt)
			}
			if reason, ok := exceptions[names[i]]; ok {
				runListed(t, "ejabberd-exceptions.txt", reason, path, opt)
			}
			if err := playScript(t, path, opt); err != nil {
				t.Fatal(err)
			}
		})
	}
}
