package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"chorus/internal/prosody"
	"chorus/internal/scansion"
	"chorus/stanza"
)

// syncBuffer is written by the sandbox and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const nsMUCUser = "http://jabber.org/protocol/muc#user"

// statusCodes are the MUC status codes of a presence.
func statusCodes(p *stanza.Element) []string {
	var codes []string
	for _, s := range p.Child(nsMUCUser, "x").ChildrenNamed(nsMUCUser, "status") {
		codes = append(codes, s.Attr("code"))
	}
	return codes
}

// awaitPresence reads c's stanzas until a presence from `from` that
// carries status code, and returns it.
func awaitPresence(t *testing.T, c *scansion.Conn, from, code string) *stanza.Element {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st, err := c.Next(context.Background(), time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for presence from %s with status %s: %v", from, code, err)
		}
		if st.Local == "presence" && st.Attr("from") == from && strings.Contains(" "+strings.Join(statusCodes(st), " ")+" ", " "+code+" ") {
			return st
		}
	}
	t.Fatalf("no presence from %s with status %s", from, code)
	return nil
}

func TestSandbox(t *testing.T) {
	prosody.Require(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	infos := make(chan sandboxInfo, 1)
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- runSandbox(ctx, sandboxOptions{ready: func(i sandboxInfo) { infos <- i }}, &stdout, &stderr)
	}()
	var info sandboxInfo
	select {
	case info = <-infos:
	case c := <-code:
		t.Fatalf("sandbox ended with %d before it was ready; stderr:\n%s", c, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("sandbox not ready after 60 s; stderr:\n%s", stderr.String())
	}

	// Use what a person would read.
	out := stdout.String()
	m := regexp.MustCompile(`(?m)^\s*Server\s+(\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no server address in the output:\n%s", out)
	}
	addr := m[1]
	if addr != info.C2S {
		t.Errorf("printed %s, runs on %s", addr, info.C2S)
	}
	var passwords []string
	for _, a := range []string{"alice@localhost", "bob@localhost"} {
		pm := regexp.MustCompile(regexp.QuoteMeta(a) + `\s+password (\S+)`).FindStringSubmatch(out)
		if pm == nil {
			t.Fatalf("no password for %s in the output:\n%s", a, out)
		}
		passwords = append(passwords, pm[1])
	}
	for _, want := range []string{sandboxService, sandboxRoom, info.Dir, info.Fingerprint, "ONLY"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, a := range info.Accounts {
		if _, err := os.Stat(poezioConfig(info, a)); err != nil {
			t.Errorf("poezio config for %s: %v", a.JID, err)
		}
	}

	// The accounts need their passwords.
	if c, err := scansion.Dial(ctx, addr, "alice@localhost/wrong", "not-"+passwords[0]); err == nil {
		c.Close()
		t.Error("alice logged in with a wrong password")
	}
	alice, err := scansion.Dial(ctx, addr, "alice@localhost/test", passwords[0])
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	bob, err := scansion.Dial(ctx, addr, "bob@localhost/test", passwords[1])
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()

	join := func(c *scansion.Conn, nick string) *stanza.Element {
		t.Helper()
		err := c.Send(stanza.New(stanza.NSClient, "presence", "to", sandboxRoom+"/"+nick).
			Add(stanza.New("http://jabber.org/protocol/muc", "x")))
		if err != nil {
			t.Fatal(err)
		}
		return awaitPresence(t, c, sandboxRoom+"/"+nick, "110")
	}
	self := join(alice, "alice")
	// The room was made beforehand: joining does not create it (201),
	// and alice owns it.
	if codes := statusCodes(self); strings.Contains(strings.Join(codes, " "), "201") {
		t.Errorf("joining created the room: %s", self)
	}
	if aff := self.Child(nsMUCUser, "x").Child(nsMUCUser, "item").Attr("affiliation"); aff != "owner" {
		t.Errorf("alice's affiliation %q, want owner: %s", aff, self)
	}
	join(bob, "bob")

	// The sandbox's Prosody carries the multicast module and Chorus uses
	// it: the room's messages reach the occupants through it, without
	// the addresses.
	if !strings.Contains(out, info.Multicast) || info.Multicast == "" {
		t.Errorf("output lacks the multicast service %q:\n%s", info.Multicast, out)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "multicast: sending stanzas for several recipients once"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Chorus did not take up the multicast service; stderr:\n%s", stderr.String())
		}
	}
	err = bob.Send(stanza.New(stanza.NSClient, "message", "to", sandboxRoom, "type", "groupchat", "id", "mc1").
		Add(stanza.New(stanza.NSClient, "body").AddText("through the server")))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		st, err := alice.Next(ctx, time.Until(deadline))
		if err != nil {
			t.Fatalf("waiting for bob's message: %v", err)
		}
		if st.Local == "message" && st.Attr("id") == "mc1" {
			if st.Attr("from") != sandboxRoom+"/bob" || strings.Contains(st.String(), "http://jabber.org/protocol/address") {
				t.Errorf("alice got %s", st)
			}
			break
		}
	}

	// Stopping tells occupants the service goes away.
	cancel()
	awaitPresence(t, alice, sandboxRoom+"/alice", "332")
	select {
	case c := <-code:
		if c != 0 {
			t.Errorf("exit status %d, want 0; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sandbox did not stop within 30 s")
	}
	if _, err := os.Stat(info.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", info.Dir, err)
	}
	for _, a := range []string{info.C2S, info.ComponentAddr} {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections", a)
		}
	}
}

func TestSandboxWithoutProsody(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var stdout, stderr bytes.Buffer
	if got := run([]string{"sandbox"}, &stdout, &stderr); got != 2 {
		t.Errorf("status %d, want 2", got)
	}
	if s := stderr.String(); !strings.Contains(s, "apt-get install prosody") || strings.Count(s, "\n") != 1 {
		t.Errorf("stderr %q, want one line naming apt-get install prosody", s)
	}
}

func TestSandboxUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if got := run([]string{"sandbox", "-h"}, &stdout, &stderr); got != 0 || !strings.Contains(stdout.String(), "Usage: chorus sandbox") {
		t.Errorf("-h: status %d, stdout %q", got, stdout.String())
	}
	if got := run([]string{"sandbox", "now"}, &stdout, &stderr); got != 2 {
		t.Errorf("extra argument: status %d, want 2", got)
	}
}

func TestPortFree(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if portFree(port) {
		t.Errorf("port %d in use reported free", port)
	}
	ln.Close()
	if !portFree(port) {
		t.Errorf("port %d reported taken after close", port)
	}
}
