package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const (
	// defaultHTTPAddr is CHORUS_HTTP_ADDR's default; the check reads only
	// that variable, so it runs in any environment Chorus runs in.
	defaultHTTPAddr = "127.0.0.1:5380"
	healthTimeout   = 3 * time.Second
)

const healthcheckUsage = `Usage: chorus healthcheck

Requests http://$CHORUS_HTTP_ADDR/healthz (default ` + defaultHTTPAddr + `) and exits 0 when
Chorus answers 200 within 3 s, 1 otherwise. A wildcard host (0.0.0.0, ::)
is checked on loopback. Meant for container health checks.
`

// healthcheck runs "chorus healthcheck". It exits only 0 or 1: container
// runtimes reserve other statuses.
func healthcheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chorus healthcheck", flag.ContinueOnError)
	usage := func(w io.Writer) { io.WriteString(w, healthcheckUsage) }
	// Container runtimes reserve statuses above 1.
	if status, done := parseNoArgs(fs, args, usage, "see chorus healthcheck -h", 1, stdout, stderr); done {
		return status
	}
	addr := envOr("CHORUS_HTTP_ADDR", defaultHTTPAddr)
	if addr == "" {
		fmt.Fprintln(stderr, "chorus healthcheck: CHORUS_HTTP_ADDR is empty, so Chorus serves no HTTP and there is nothing to check")
		return 1
	}
	url, err := healthURL(addr)
	if err != nil {
		fmt.Fprintf(stderr, "chorus healthcheck: %v\n", err)
		return 1
	}
	if err := checkHealth(url, healthTimeout); err != nil {
		fmt.Fprintf(stderr, "chorus healthcheck: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", url)
	return 0
}

// healthURL is the /healthz URL of the listener at addr. A wildcard host
// is where the listener binds, not an address to connect to; loopback
// reaches it from the same host or container.
func healthURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("CHORUS_HTTP_ADDR=%q is not host:port (want e.g. %s)", addr, defaultHTTPAddr)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.IsUnspecified() && ip.To4() != nil):
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", nil
}

// checkHealth GETs url and wants 200.
func checkHealth(url string, timeout time.Duration) error {
	client := &http.Client{
		Timeout: timeout,
		// A proxy from the environment must not answer for Chorus.
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		// A redirect is not health.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// envOr is the variable key, trimmed, or def when it is unset (set but
// empty stays empty: that disables what it configures).
func envOr(key, def string) string {
	v, ok := os.LookupEnv(key)
	if !ok {
		return def
	}
	return strings.TrimSpace(v)
}
