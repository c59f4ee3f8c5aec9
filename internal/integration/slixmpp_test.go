package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"chorus/internal/prosody"
)

// systemPython is Debian's interpreter, the one python3-slixmpp installs
// for (a python3 earlier on PATH may be another installation).
const systemPython = "/usr/bin/python3"

// slixmppAvailable reports why the slixmpp client cannot run here, or nil.
func slixmppAvailable() error {
	out, err := exec.Command(systemPython, "-c", "import slixmpp; print(slixmpp.__version__)").CombinedOutput()
	if err != nil {
		return fmt.Errorf("slixmpp is not importable from %s (apt-get install python3-slixmpp): %v: %s", systemPython, err, bytes.TrimSpace(out))
	}
	return nil
}

// TestSlixmppClients: a real client library drives a room through
// Prosody: creation of an instant room, a second client joining,
// groupchat both ways, a nick change seen by the other (303) and a kick
// (307) received by the kicked client.
func TestSlixmppClients(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	require(t, slixmppAvailable())
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "internal", "integration", "testdata_slixmpp", "muc_session.py")
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
	if err != nil {
		t.Fatal(err)
	}
	StartChorus(t, srv.ComponentAddr(), srv.Secret())
	host, port, err := net.SplitHostPort(srv.C2SAddr())
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, systemPython, script, host, port,
		"owner@"+Host+"/slix", "guest@"+Host+"/slix", "slix@"+Service)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	if stderr.Len() > 0 {
		t.Logf("client log:\n%s", stderr.String())
	}
	var res struct {
		OK          bool     `json:"ok"`
		Error       string   `json:"error"`
		Version     string   `json:"slixmpp"`
		Created     bool     `json:"created"`
		Joined      bool     `json:"joined"`
		Seen        []string `json:"occupants_seen_by_guest"`
		GuestRole   string   `json:"guest_role"`
		Messages    bool     `json:"messages"`
		NickChanged bool     `json:"nick_changed"`
		Kicked      bool     `json:"kicked"`
		KickReason  string   `json:"kick_reason"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		t.Fatalf("client output %q (%v): %v", stdout.String(), runErr, err)
	}
	t.Logf("slixmpp %s: %s", res.Version, bytes.TrimSpace(stdout.Bytes()))
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("client did not finish: %v", ctx.Err())
	case runErr != nil && !errors.As(runErr, &exitErr):
		t.Fatalf("client: %v", runErr)
	case !res.OK || runErr != nil:
		t.Fatalf("client failed: %s (%v)", res.Error, runErr)
	}
	if !res.Created || !res.Joined || !res.Messages || !res.NickChanged || !res.Kicked {
		t.Errorf("incomplete run: %+v", res)
	}
	// The guest's occupant list holds the owner and, once its own
	// presence came, itself.
	if fmt.Sprint(res.Seen) != "[Guest Owner]" || res.GuestRole != "participant" || res.KickReason != "enough" {
		t.Errorf("room as the guest saw it: %+v", res)
	}
}
