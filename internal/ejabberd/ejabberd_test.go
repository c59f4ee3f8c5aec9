package ejabberd

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
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
