package main

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHealthcheck(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	for i, tc := range [...]struct {
		addr   string // CHORUS_HTTP_ADDR; "-" leaves it unset
		status int
		want   int
		stderr string
	}{
		0: {addr: addr, status: 200, want: 0},
		1: {addr: addr, status: 503, want: 1, stderr: "503"},
		2: {addr: closed, status: 200, want: 1, stderr: "refused"},
		// Inside a container the listener binds every interface.
		3: {addr: "0.0.0.0:" + port, status: 200, want: 0},
		4: {addr: ":" + port, status: 200, want: 0},
		5: {addr: "", status: 200, want: 1, stderr: "CHORUS_HTTP_ADDR is empty"},
		6: {addr: "localhost", status: 200, want: 1, stderr: "not host:port"},
	} {
		status = tc.status
		setEnv(t, map[string]string{"CHORUS_HTTP_ADDR": tc.addr})
		var stdout, stderr bytes.Buffer
		if got := run([]string{"healthcheck"}, &stdout, &stderr); got != tc.want {
			t.Errorf("%d: status %d, want %d (stderr %q)", i, got, tc.want, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.stderr) || strings.Count(stderr.String(), "\n") > 1 {
			t.Errorf("%d: stderr %q, want one line with %q", i, stderr.String(), tc.stderr)
		}
	}
}

// Without CHORUS_HTTP_ADDR (and without CHORUS_DOMAIN or any other
// variable) the check goes to the listener's default address.
func TestHealthcheckDefaultAddr(t *testing.T) {
	setEnv(t, nil)
	url, err := healthURL(defaultHTTPAddr)
	if err != nil || url != "http://127.0.0.1:5380/healthz" {
		t.Fatalf("healthURL: %q, %v", url, err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"healthcheck"}, &stdout, &stderr)
	if strings.Contains(stderr.String(), "CHORUS_DOMAIN") {
		t.Errorf("healthcheck needs CHORUS_DOMAIN: %q", stderr.String())
	}
	if code != 0 && !strings.Contains(stderr.String(), "127.0.0.1:5380") {
		t.Errorf("status %d, stderr %q does not name the default address", code, stderr.String())
	}
}

func TestHealthURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:5380": "http://127.0.0.1:5380/healthz",
		"0.0.0.0:5380":   "http://127.0.0.1:5380/healthz",
		":5380":          "http://127.0.0.1:5380/healthz",
		"[::]:5380":      "http://[::1]:5380/healthz",
		"[::1]:9":        "http://[::1]:9/healthz",
		"chorus:5380":    "http://chorus:5380/healthz",
	} {
		if got, err := healthURL(in); err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"5380", "host:", "a:b:c"} {
		if got, err := healthURL(in); err == nil {
			t.Errorf("%s: %q, want an error", in, got)
		}
	}
}

func TestHealthcheckTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	// The server answers only when the test ends: the check must give up
	// on its own, because of its timeout (go test's -timeout catches a
	// hang).
	err := checkHealth(srv.URL+"/healthz", 200*time.Millisecond)
	if err == nil {
		t.Fatal("a server that does not answer is healthy")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a server that does not answer: %v, want a timeout", err)
	}
}

func TestHealthcheckUsage(t *testing.T) {
	setEnv(t, nil)
	var stdout, stderr bytes.Buffer
	if got := run([]string{"healthcheck", "-h"}, &stdout, &stderr); got != 0 || !strings.Contains(stdout.String(), "CHORUS_HTTP_ADDR") {
		t.Errorf("-h: status %d, stdout %q", got, stdout.String())
	}
	stdout.Reset()
	if got := run([]string{"healthcheck", "extra"}, &stdout, &stderr); got != 1 {
		t.Errorf("extra argument: status %d, want 1", got)
	}
}
