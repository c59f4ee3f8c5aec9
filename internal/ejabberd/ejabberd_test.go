package ejabberd

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"chorus/internal/scansion"
	"chorus/stanza"
)

// greet opens a client stream and returns the start of ejabberd's answer.
func greet(t *testing.T, addr, host string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) // a loaded machine is slow
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
	fmt.Fprint(c, `</stream:stream>`)
	io.Copy(io.Discard, r)
	return got.String()
}

// login authenticates with SASL PLAIN and reports ejabberd's verdict.
func login(t *testing.T, addr, host, user, password string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second)) // a loaded machine is slow
	fmt.Fprintf(c, `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='%s' version='1.0'>`, host)
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))
	fmt.Fprintf(c, `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>`, creds)
	buf := make([]byte, 4096)
	var got strings.Builder
	for !strings.Contains(got.String(), "<success") && !strings.Contains(got.String(), "</failure>") {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("reading SASL answer: %v (got %q)", err, got.String())
		}
		got.Write(buf[:n])
	}
	fmt.Fprint(c, `</stream:stream>`)
	return got.String()
}

func TestStartStopRestart(t *testing.T) {
	Require(t)
	begin := time.Now()
	s, err := Start(t, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("started in %v", time.Since(begin))
	if got := greet(t, s.C2SAddr(), s.Host()); !strings.Contains(got, "<mechanism>PLAIN</mechanism>") {
		t.Errorf("features without PLAIN: %s", got)
	} else if strings.Contains(got, "starttls") {
		t.Errorf("features offer STARTTLS, which needs a certificate: %s", got)
	}
	for _, u := range [][2]string{{"romeo", "password"}, {"anyone", "anything"}} {
		if got := login(t, s.C2SAddr(), s.Host(), u[0], u[1]); !strings.Contains(got, "<success") {
			t.Errorf("login as %s: %s", u[0], got)
		}
	}
	c2s, comp := s.C2SAddr(), s.ComponentAddr()
	begin = time.Now()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(begin))
	for _, addr := range []string{c2s, comp} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s still open after Stop", addr)
		}
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.C2SAddr() != c2s || s.ComponentAddr() != comp {
		t.Errorf("ports moved: %s %s, were %s %s", s.C2SAddr(), s.ComponentAddr(), c2s, comp)
	}
	greet(t, s.C2SAddr(), s.Host())
	if !strings.Contains(s.LogTail(1000), "for ejabberd_service") {
		t.Errorf("log does not show the component listener:\n%s", s.LogTail(20))
	}
}

func TestYAMLString(t *testing.T) {
	for i, tc := range [...]struct{ in, want string }{
		0: {`abc`, `"abc"`},
		1: {`a"b\c`, `"a\"b\\c"`},
		2: {"a\nb", `"a\nb"`},
		3: {"ünï", `"ünï"`},
	} {
		if got := yamlString(tc.in); got != tc.want {
			t.Errorf("%d: got %s, want %s", i, got, tc.want)
		}
	}
}

func TestErlString(t *testing.T) {
	if got, want := erlString(`/tmp/a "b"\c`), `"/tmp/a \"b\"\\c"`; got != want {
		t.Errorf("got %s, want %s", got, want)
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
	s, err := Launch(Options{LogLevel: "warn", MUC: muc, MaxFiles: 4096, AuthPoolSize: 3, MaxQueue: 100000, Backlog: 1024, Logf: t.Logf})
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
	cfg, err := os.ReadFile(filepath.Join(s.Dir(), "ejabberd.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"loglevel: warning", "extauth_pool_size: 3", "max_fsm_queue: 100000", "backlog: 1024"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	got := joinRoom(t, s.C2SAddr(), "alice", s.Host(), "room@"+muc)
	if got.Attr("type") == "error" || !hasStatus(got, "110") {
		t.Errorf("join of ejabberd's own MUC: %s", got)
	}
	// The level applies once the config is read, which is logged at info.
	_, after, ok := strings.Cut(s.LogTail(1000), "to 'warning'")
	if !ok || strings.Contains(after, "[debug]") || strings.Contains(after, "[info]") {
		t.Errorf("level warning not set, or debug or info lines logged after it:\n%s", s.LogTail(1000))
	}
	dir := s.Dir()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.PID() != 0 {
		t.Error("PID not 0 after Close")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still there after Close: %v", dir, err)
	}
}
