package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"chorus/cmd/chorus/adminapi"
	"chorus/component"
	"chorus/room"
	"chorus/store"
)

// fakeLink stands for the component link: up or down, and what was sent.
type fakeLink struct {
	mu   sync.Mutex
	down bool
	sent []room.Out
}

func (l *fakeLink) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down
}

func (l *fakeLink) Send(outs []room.Out) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return component.ErrLinkDown
	}
	l.sent = append(l.sent, outs...)
	return nil
}

// shortDir is a temporary directory with a path short enough for a Unix
// socket's name.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "chorus")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startAdmin serves the admin socket of a registry over an SQLite store in
// memory, and points CHORUS_ADMIN_SOCKET at it.
func startAdmin(t *testing.T) (string, *fakeLink, *room.Registry) {
	st, err := store.Open(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := room.NewRegistry(room.Options{Domain: "conference.example.com", Admins: []string{"boss@example.com"},
		Store: st, Bans: st.(store.BanStore), Purger: st.(store.Purger)})
	t.Cleanup(reg.Close)
	path := filepath.Join(shortDir(t), "admin.sock")
	link := &fakeLink{}
	stop, err := serveAdmin(context.Background(), path, reg, link, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	setEnv(t, map[string]string{"CHORUS_ADMIN_SOCKET": path})
	return path, link, reg
}

func runAdmin(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	status := run(append([]string{"admin"}, args...), &stdout, &stderr)
	return status, stdout.String(), stderr.String()
}

// TestAdminCommands runs each command of chorus admin against a served
// socket, in order: each step sees what the earlier ones did.
func TestAdminCommands(t *testing.T) {
	path, link, reg := startAdmin(t)
	const r = "lobby@conference.example.com"
	for i, tc := range []struct {
		args   []string
		status int
		out    string // in stdout (status 0) or stderr
	}{
		{[]string{"-h"}, 0, "unused --days N"},
		{nil, 2, "Usage: chorus admin"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"rooms", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"room"}, 2, "missing ROOM"},
		{[]string{"create", r}, 2, "--owner JID is required"},
		{[]string{"create", r, "--owner"}, 2, "--owner needs a value"},
		{[]string{"create", r, "--colour", "red"}, 2, "unknown flag --colour"},
		{[]string{"create", r, "--owner", "romeo@example.com"}, 1, "create it persistent"},
		{[]string{"create", r, "--owner", "romeo@example.com", "--name", "The Lobby", "--persistent", "--public"}, 0, "created"},
		{[]string{"create", r, "--owner=romeo@example.com", "--persistent"}, 1, "exists already"},
		{[]string{"rooms"}, 0, "The Lobby"},
		{[]string{"room", r}, 0, "romeo@example.com"},
		{[]string{"room", "nowhere@conference.example.com"}, 1, "no such room"},
		{[]string{"room", "lobby@elsewhere.example"}, 1, "not the address of a room"},
		{[]string{"affiliation", r, "juliet@example.com", "king"}, 2, `"king" is not owner`},
		{[]string{"affiliation", r, "juliet@example.com", "member", "--reason", "friend"}, 0, "done"},
		{[]string{"affiliation", r, "romeo@example.com", "none"}, 1, "at least one owner"},
		{[]string{"kick", r, "Nobody"}, 1, "no occupant"},
		{[]string{"ban", "spam.example", "--reason", "spam wave"}, 0, "done"},
		{[]string{"bans"}, 0, "spam wave"},
		{[]string{"ban", "boss@example.com"}, 1, "cannot be banned"},
		{[]string{"unban", "spam.example"}, 0, "unbanned"},
		{[]string{"unban", "spam.example"}, 1, "not banned"},
		{[]string{"say", r, "maintenance", "at", "noon"}, 0, "done"},
		{[]string{"say", "--all"}, 2, "missing TEXT"},
		{[]string{"say", "--all", "back", "soon"}, 0, "done"},
		{[]string{"purge", r, "--before", "yesterday"}, 2, "neither a date"},
		{[]string{"purge", r, "--before", "2020-01-01"}, 0, "0 archived messages deleted"},
		{[]string{"unused"}, 2, "--days N is required"},
		{[]string{"unused", "--days", "30"}, 0, "0 rooms unused"}, // spoken in just now
		{[]string{"destroy", r, "--reason", "moved", "--alt", "hall@conference.example.com"}, 0, "done"},
		{[]string{"destroy", r}, 1, "no such room"},
		{[]string{"rooms", "--json"}, 0, "[]"},
	} {
		status, stdout, stderr := runAdmin(tc.args...)
		got := stdout
		if tc.status != 0 {
			got = stderr
		}
		if status != tc.status || !strings.Contains(got, tc.out) {
			t.Errorf("%d: chorus admin %q = %d, stdout %q, stderr %q; want %d and %q", i, tc.args, status, stdout, stderr, tc.status, tc.out)
		}
	}
	if bans, _ := reg.Bans(); len(bans) != 0 {
		t.Errorf("bans left: %v", bans)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	// --json gives the result as the socket answers it.
	status, stdout, _ := runAdmin("create", "hall@conference.example.com", "--owner", "romeo@example.com", "--persistent", "--json")
	var v map[string]any
	if status != 0 || json.Unmarshal([]byte(stdout), &v) != nil || v["room"] != "hall@conference.example.com" {
		t.Errorf("create --json = %d %q", status, stdout)
	}

	// While the link is down, nothing that would tell occupants is done.
	link.mu.Lock()
	link.down = true
	link.mu.Unlock()
	status, _, stderr := runAdmin("destroy", "hall@conference.example.com")
	if status != 1 || !strings.Contains(stderr, "link to the XMPP server is down") {
		t.Errorf("destroy with the link down = %d %q", status, stderr)
	}
	if status, _, _ := runAdmin("room", "hall@conference.example.com"); status != 0 {
		t.Errorf("the room went although the link was down, or room failed: %d", status)
	}
}

func TestAdminUnreachable(t *testing.T) {
	setEnv(t, map[string]string{"CHORUS_ADMIN_SOCKET": filepath.Join(shortDir(t), "none.sock")})
	if status, _, stderr := runAdmin("rooms"); status != 1 || !strings.Contains(stderr, "cannot reach") {
		t.Errorf("no socket: %d %q", status, stderr)
	}
	setEnv(t, map[string]string{"CHORUS_ADMIN_SOCKET": " "})
	if status, _, stderr := runAdmin("rooms"); status != 2 || !strings.Contains(stderr, "CHORUS_ADMIN_SOCKET is empty") {
		t.Errorf("empty variable: %d %q", status, stderr)
	}
}

// TestAdminMalformed: the socket answers a request it cannot use with a
// clear error, not silence.
func TestAdminMalformed(t *testing.T) {
	path, _, _ := startAdmin(t)
	for i, tc := range []struct{ req, want string }{
		{"not json\n", "malformed request"},
		{`{"cmd":"rooms","extra":1}`, "malformed request"},
		{`{"cmd":"shutdown"}`, `unknown command "shutdown"`},
		{`{"cmd":"rooms","args":{"room":"x"}}`, `rooms takes no argument "room"`},
		{`{"cmd":"room","args":{"room":7}}`, "malformed args"},
		{`{"cmd":"room","args":[1]}`, "malformed args"},
		{`{"cmd":"affiliation","args":{"room":"a@conference.example.com","jid":"x@y","affiliation":"king"}}`, "unknown affiliation"},
	} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(tc.req))
		c.(*net.UnixConn).CloseWrite()
		var resp adminapi.Response
		err = json.NewDecoder(c).Decode(&resp)
		c.Close()
		if err != nil || resp.OK || !strings.Contains(resp.Error, tc.want) {
			t.Errorf("%d: %s: %+v, %v; want an error with %q", i, tc.req, resp, err, tc.want)
		}
	}
}

// TestAdminListen: a socket file nobody listens on is replaced; one that
// answers, or a file that is no socket, is left alone and refused.
func TestAdminListen(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, "a.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminapi.Listen(path); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("Listen on a live socket: %v", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // stale now
	ln2, err := adminapi.Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln2.Close()
	if fi, err := os.Stat(path); err == nil {
		t.Errorf("socket file left after close: %v", fi.Mode())
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, []byte("keep me"), 0o644)
	if _, err := adminapi.Listen(plain); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Listen on a plain file: %v", err)
	}
	if b, _ := os.ReadFile(plain); string(b) != "keep me" {
		t.Error("plain file touched")
	}
}

// TestAdminBeforeKept: purge --before reaches the socket as precise as it
// was given, so a fraction of a second still separates two messages.
func TestAdminBeforeKept(t *testing.T) {
	for _, before := range []string{"2026-01-02T03:04:05.123456789Z", "2026-01-02T03:04:05+02:00", "2026-01-02"} {
		a, err := adminRequest("purge", []string{"r@conference.example.com"}, map[string]string{"before": before})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := adminapi.ParseTime(before)
		if got, err := adminapi.ParseTime(a.Before); err != nil || !got.Equal(want) {
			t.Errorf("--before %s reaches the socket as %s", before, a.Before)
		}
	}
}
