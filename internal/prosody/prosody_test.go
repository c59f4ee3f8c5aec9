package prosody

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"chorus/internal/scansion"
	"chorus/stanza"

	"chorus/internal/serverproc"
)

// greet opens a client stream and returns the start of Prosody's answer.
func greet(t *testing.T, addr, host string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>`, host)
	buf := make([]byte, 4096)
	var got strings.Builder
	r := bufio.NewReader(c)
	for !strings.Contains(got.String(), "</stream:features>") {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("reading stream features: %v (got %q)", err, got.String())
		}
		got.Write(buf[:n])
	}
	// Close as a client should, so the session is gone before the test
	// stops Prosody (see the launcher's stopTimeout).
	fmt.Fprint(c, `</stream:stream>`)
	io.Copy(io.Discard, r)
	return got.String()
}

func TestStartStopRestart(t *testing.T) {
	Require(t)
	s, err := Start(t, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := greet(t, s.C2SAddr(), s.Host()); !strings.Contains(got, "PLAIN") {
		t.Errorf("features without PLAIN: %s", got)
	}
	c2s, comp := s.C2SAddr(), s.ComponentAddr()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", c2s, time.Second); err == nil {
		c.Close()
		t.Fatal("c2s port still open after Stop")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.C2SAddr() != c2s || s.ComponentAddr() != comp {
		t.Errorf("ports moved: %s %s, were %s %s", s.C2SAddr(), s.ComponentAddr(), c2s, comp)
	}
	greet(t, s.C2SAddr(), s.Host())
	if !strings.Contains(s.LogTail(1000), "Activated service 'component'") {
		t.Errorf("log does not show the component listener:\n%s", s.LogTail(20))
	}
}

func TestLaunchWithUsersAndTLS(t *testing.T) {
	Require(t)
	// A port picked in advance stands for a fixed one such as 5222.
	ports, err := serverproc.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	cert, key, fp, err := SelfSigned(certDir, "localhost", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(fp) != 32*3-1 {
		t.Errorf("fingerprint %q", fp)
	}
	s, err := Launch(Options{C2SPort: ports[0], Users: map[string]string{"alice": "wonder land", "bob": "b0b"},
		TLSCert: cert, TLSKey: key, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if want := fmt.Sprintf("127.0.0.1:%d", ports[0]); s.C2SAddr() != want {
		t.Errorf("c2s on %s, want %s", s.C2SAddr(), want)
	}
	if got := greet(t, s.C2SAddr(), s.Host()); !strings.Contains(got, "starttls") || !strings.Contains(got, "PLAIN") {
		t.Errorf("features without optional STARTTLS and PLAIN: %s", got)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		jid, pw string
		ok      bool
	}{
		{"alice@localhost", "wonder land", true},
		{"bob@localhost", "b0b", true},
		{"alice@localhost", "wrong", false},
		{"carol@localhost", "any", false},
	} {
		c, err := scansion.Dial(ctx, s.C2SAddr(), tc.jid, tc.pw)
		if (err == nil) != tc.ok {
			t.Errorf("login %s with %q: %v, want success %v", tc.jid, tc.pw, err, tc.ok)
		}
		if err == nil {
			c.Close()
		}
	}
	dir, c2s := s.Dir(), s.C2SAddr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still there after Close: %v", dir, err)
	}
	if c, err := net.DialTimeout("tcp", c2s, time.Second); err == nil {
		c.Close()
		t.Error("c2s port still open after Close")
	}
}

// joinRoom logs in to addr as user@host and joins room@muc, returning the
// self-presence.
func joinRoom(t *testing.T, addr, user, host, room string) *stanza.Element {
	t.Helper()
	ctx := context.Background()
	c, err := scansion.Dial(ctx, addr, user+"@"+host, "any")
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	defer c.Close()
	if err := c.Send(stanza.MustParse(`<presence to='` + room + "/" + user + `'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := c.Next(ctx, 10*time.Second)
		if err != nil {
			t.Fatalf("waiting for the self-presence from %s: %v", room, err)
		}
		if st.Local == "presence" && strings.HasPrefix(st.Attr("from"), room+"/") {
			return st
		}
	}
}

func hasStatus(presence *stanza.Element, code string) bool {
	x := presence.Child("http://jabber.org/protocol/muc#user", "x")
	if x == nil {
		return false
	}
	for _, s := range x.ChildrenNamed("http://jabber.org/protocol/muc#user", "status") {
		if s.Attr("code") == code {
			return true
		}
	}
	return false
}

func TestLoadTestOptions(t *testing.T) {
	Require(t)
	const muc = "muc.localhost"
	s, err := Launch(Options{LogLevel: "warn", MUC: muc, MaxFiles: 4096, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pid := s.PID()
	if pid == 0 {
		t.Fatal("PID 0 while running")
	}
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`Max open files\s+4096\s+4096`).Match(limits) {
		t.Errorf("open-file limit not 4096:\n%s", limits)
	}
	got := joinRoom(t, s.C2SAddr(), "alice", s.Host(), "room@"+muc)
	if got.Attr("type") == "error" || !hasStatus(got, "110") {
		t.Errorf("join of Prosody's own MUC: %s", got)
	}
	if log := s.LogTail(1000); strings.Contains(log, "\tdebug\t") || strings.Contains(log, "\tinfo\t") {
		t.Errorf("debug or info lines logged at level warn:\n%s", log)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.PID() != 0 {
		t.Error("PID not 0 after Close")
	}
}
