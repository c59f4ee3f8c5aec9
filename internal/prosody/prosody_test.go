package prosody

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
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
	// stops Prosody (see stopTimeout).
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

func TestLuaString(t *testing.T) {
	for i, tc := range [...]struct{ in, want string }{
		0: {`abc`, `"abc"`},
		1: {`a"b\c`, `"a\"b\\c"`},
		2: {"a\nb", `"a\010b"`},
		3: {"ünï", `"ünï"`},
	} {
		if got := luaString(tc.in); got != tc.want {
			t.Errorf("%d: got %s, want %s", i, got, tc.want)
		}
	}
}
