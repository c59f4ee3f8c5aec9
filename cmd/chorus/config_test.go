package main

import (
	"chorus/component"

	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// unrelated are variables other software sets; none of them may configure
// the service.
var unrelated = []string{"DOMAIN", "SECRET", "SERVER", "ADMINS", "LOG_LEVEL", "LOG_FORMAT", "LOGLEVEL", "PORT"}

// setEnv makes env the only CHORUS_ variables (and the only unrelated ones)
// for the rest of the test.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "CHORUS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	for _, k := range unrelated {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func TestLoadConfig(t *testing.T) {
	base := func(kv ...string) map[string]string {
		m := map[string]string{"CHORUS_DOMAIN": "conference.example.com", "CHORUS_SECRET": "s3cret"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	leaky := base()
	delete(leaky, "CHORUS_DOMAIN")
	for _, k := range unrelated {
		leaky[k] = "leak"
	}
	leaky["DOMAIN"] = "leak.example.com"
	leaky["SERVER"] = "leak.example.com:1"
	leaky["PORT"] = "1"

	for i, tc := range [...]struct {
		env  map[string]string
		want config // compared when err is empty
		err  string // substring of the error
	}{
		0: {env: base(), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "365d", expiry: 365 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: "127.0.0.1:5380"}},
		1: {env: base("CHORUS_SERVER", "xmpp.internal:5275", "CHORUS_ADMINS", " alice@example.com, Bob@Example.com ,",
			"CHORUS_LOG_LEVEL", "DEBUG", "CHORUS_LOG_FORMAT", "console", "CHORUS_DOMAIN", "Conference.Example.com",
			"CHORUS_ROOM_CREATION", "Local", "CHORUS_STORE", "postgres://db/chorus", "CHORUS_ARCHIVE_EXPIRY", "48h",
			"CHORUS_HTTP_ADDR", " 0.0.0.0:9100 ", "CHORUS_PPROF", "true"),
			want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "xmpp.internal:5275",
				Admins: []string{"alice@example.com", "bob@example.com"}, Store: "postgres://db/chorus", Expiry: "48h", expiry: 48 * time.Hour, Creation: "local", LogLevel: "DEBUG", LogFormat: "console", level: zerolog.DebugLevel,
				HTTPAddr: "0.0.0.0:9100", Pprof: true}},
		2:  {env: map[string]string{"CHORUS_SECRET": "s"}, err: "CHORUS_DOMAIN is required"},
		3:  {env: base("CHORUS_DOMAIN", ""), err: "CHORUS_DOMAIN is required"},
		4:  {env: base("CHORUS_SECRET", ""), err: "CHORUS_SECRET is required"},
		5:  {env: base("CHORUS_SECRET", "  "), err: "CHORUS_SECRET is required"},
		6:  {env: map[string]string{"CHORUS_DOMAIN": "x.example"}, err: "CHORUS_SECRET is required"},
		7:  {env: leaky, err: "CHORUS_DOMAIN is required"},
		8:  {env: base("CHORUS_DOMAIN", "room@conference.example.com"), err: "CHORUS_DOMAIN="},
		9:  {env: base("CHORUS_DOMAIN", "conference.example.com/res"), err: "CHORUS_DOMAIN="},
		10: {env: base("CHORUS_DOMAIN", "a b"), err: "CHORUS_DOMAIN="},
		11: {env: base("CHORUS_SERVER", "localhost"), err: "CHORUS_SERVER="},
		12: {env: base("CHORUS_SERVER", ":5347"), err: "CHORUS_SERVER="},
		13: {env: base("CHORUS_SERVER", "localhost:xmpp"), err: "CHORUS_SERVER="},
		14: {env: base("CHORUS_SERVER", "localhost:70000"), err: "CHORUS_SERVER="},
		15: {env: base("CHORUS_SERVER", ""), err: "CHORUS_SERVER="},
		16: {env: base("CHORUS_ADMINS", "alice@example.com/phone"), err: "CHORUS_ADMINS"},
		17: {env: base("CHORUS_ADMINS", "alice@example.com,@bad"), err: "CHORUS_ADMINS"},
		18: {env: base("CHORUS_LOG_LEVEL", "verbose"), err: "CHORUS_LOG_LEVEL"},
		19: {env: base("CHORUS_LOG_LEVEL", ""), err: "CHORUS_LOG_LEVEL"},
		20: {env: base("CHORUS_LOG_FORMAT", "text"), err: "CHORUS_LOG_FORMAT"},
		22: {env: base("CHORUS_ROOM_CREATION", "everyone"), err: "CHORUS_ROOM_CREATION"},
		34: {env: base("CHORUS_MSG_RATE", "-1"), err: "CHORUS_MSG_RATE"},
		35: {env: base("CHORUS_MAX_STANZA_BYTES", "100"), err: "CHORUS_MAX_STANZA_BYTES"},
		36: {env: base("CHORUS_MAX_OCCUPANTS", "lots"), err: "CHORUS_MAX_OCCUPANTS"},
		37: {env: base("CHORUS_HISTORY_BYTES", "-1"), err: "CHORUS_HISTORY_BYTES"},
		38: {env: base("CHORUS_HISTORY_BUDGET", "-1"), err: "CHORUS_HISTORY_BUDGET"},
		39: {env: base("CHORUS_VOICE_REQUEST_INTERVAL", "-5s"), err: "CHORUS_VOICE_REQUEST_INTERVAL"},
		40: {env: base("CHORUS_VOICE_REQUEST_INTERVAL", "soon"), err: "CHORUS_VOICE_REQUEST_INTERVAL"},
		23: {env: base("CHORUS_STORE", "mysql://x"), err: "CHORUS_STORE"},
		24: {env: base("CHORUS_ARCHIVE_EXPIRY", "forever"), err: "CHORUS_ARCHIVE_EXPIRY"},
		25: {env: base("CHORUS_ARCHIVE_EXPIRY", "0d"), err: "CHORUS_ARCHIVE_EXPIRY"},
		41: {env: base("CHORUS_ARCHIVE_EXPIRY", "213600d"), err: "CHORUS_ARCHIVE_EXPIRY"}, // overflowed to about 96 days
		42: {env: base("CHORUS_ARCHIVE_EXPIRY", "1ms"), err: "CHORUS_ARCHIVE_EXPIRY"},
		43: {env: base("CHORUS_ARCHIVE_EXPIRY", "36501d"), err: "CHORUS_ARCHIVE_EXPIRY"},
		44: {env: base("CHORUS_ARCHIVE_EXPIRY", "-5d"), err: "CHORUS_ARCHIVE_EXPIRY"},
		45: {env: base("CHORUS_ARCHIVE_EXPIRY", "36500d"), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "36500d", expiry: 36500 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: "127.0.0.1:5380"}},
		46: {env: base("CHORUS_ARCHIVE_EXPIRY", "1h"), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "1h", expiry: time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: "127.0.0.1:5380"}},
		21: {env: base("CHORUS_SERVER", "[::1]:5347", "CHORUS_HTTP_ADDR", "[::1]:5380"), want: config{Domain: "conference.example.com", Secret: "s3cret",
			Server: "[::1]:5347", Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "365d", expiry: 365 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: "[::1]:5380"}},
		// Empty disables the HTTP listener; an empty host listens on every interface.
		26: {env: base("CHORUS_HTTP_ADDR", "", "CHORUS_PPROF", "0"), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "365d", expiry: 365 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel}},
		27: {env: base("CHORUS_HTTP_ADDR", ":5380"), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "365d", expiry: 365 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: ":5380"}},
		28: {env: base("CHORUS_HTTP_ADDR", "localhost"), err: "CHORUS_HTTP_ADDR="},
		29: {env: base("CHORUS_HTTP_ADDR", "127.0.0.1:0"), err: "CHORUS_HTTP_ADDR="},
		30: {env: base("CHORUS_HTTP_ADDR", "127.0.0.1:http"), err: "CHORUS_HTTP_ADDR="},
		31: {env: base("CHORUS_HTTP_ADDR", "http://127.0.0.1:5380"), err: "CHORUS_HTTP_ADDR="},
		32: {env: base("CHORUS_PPROF", "yes"), err: `CHORUS_PPROF="yes" is not true or false`},
		33: {env: base("CHORUS_PPROF", ""), err: "CHORUS_PPROF"},
		47: {env: base("CHORUS_ON_STOP", "Kick "), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "365d", expiry: 365 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: "127.0.0.1:5380", OnStop: "kick"}},
		48: {env: base("CHORUS_ON_STOP", "leave"), err: `CHORUS_ON_STOP="leave" is not keep or kick`},
		49: {env: base("CHORUS_ON_STOP", ""), err: "CHORUS_ON_STOP"},
		50: {env: base("CHORUS_ADMIN_SOCKET", ""), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "365d", expiry: 365 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: "127.0.0.1:5380", AdminSocket: "-"}},
		51: {env: base("CHORUS_ADMIN_SOCKET", " /var/lib/chorus/admin.sock "), want: config{Domain: "conference.example.com", Secret: "s3cret", Server: "127.0.0.1:5347",
			Admins: []string{}, Store: "sqlite://chorus.db", Expiry: "365d", expiry: 365 * 24 * time.Hour, Creation: "anyone", LogLevel: "info", LogFormat: "json", level: zerolog.InfoLevel,
			HTTPAddr: "127.0.0.1:5380", AdminSocket: "/var/lib/chorus/admin.sock"}},
	} {
		setEnv(t, tc.env)
		got, err := loadConfig()
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%d: error %v, want one containing %q", i, err, tc.err)
			} else if strings.Contains(err.Error(), "\n") {
				t.Errorf("%d: error is not one line: %q", i, err)
			}
		case err != nil:
			t.Errorf("%d: %v", i, err)
		case !reflect.DeepEqual(got, withDefaultLimits(tc.want)):
			t.Errorf("%d: got %+v, want %+v", i, got, withDefaultLimits(tc.want))
		}
	}
}

func TestRunExitStatus(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for i, tc := range [...]struct {
		args   []string
		env    map[string]string
		status int
		stdout string // substring
		stderr string // substring; the output must be one line
	}{
		0: {args: []string{"-h"}, status: 0, stdout: "CHORUS_LOG_FORMAT"},
		1: {args: []string{"--help"}, status: 0, stdout: "127.0.0.1:5347"},
		2: {args: nil, status: 2, stderr: "chorus: CHORUS_DOMAIN is required"},
		3: {args: []string{"serve"}, status: 2, stderr: `unexpected argument "serve"`},
		4: {args: []string{"-config", "x"}, status: 2, stderr: "see chorus -h"},
		5: {env: map[string]string{"CHORUS_DOMAIN": "c.example", "CHORUS_SECRET": "s", "CHORUS_LOG_FORMAT": "xml"},
			status: 2, stderr: "CHORUS_LOG_FORMAT"},
		9: {env: map[string]string{"CHORUS_DOMAIN": "c.example", "CHORUS_SECRET": "s", "CHORUS_ON_STOP": "stay"},
			status: 2, stderr: "CHORUS_ON_STOP"},
		// An unusable store stops Chorus; it never falls back to memory.
		6: {env: map[string]string{"CHORUS_DOMAIN": "c.example", "CHORUS_SECRET": "s", "CHORUS_LOG_LEVEL": "error",
			"CHORUS_STORE": "sqlite://" + corruptDB(t)}, status: 2, stderr: "CHORUS_STORE"},
		7: {env: map[string]string{"CHORUS_DOMAIN": "c.example", "CHORUS_SECRET": "s", "CHORUS_LOG_LEVEL": "error",
			"CHORUS_STORE": "postgres://chorus@127.0.0.1:1/none?connect_timeout=2"}, status: 2, stderr: "CHORUS_STORE"},
		// A taken HTTP port stops Chorus rather than leaving it unobservable.
		8: {env: map[string]string{"CHORUS_DOMAIN": "c.example", "CHORUS_SECRET": "s", "CHORUS_LOG_LEVEL": "error",
			"CHORUS_STORE": "sqlite://" + filepath.Join(t.TempDir(), "chorus.db"), "CHORUS_HTTP_ADDR": busy.Addr().String()},
			status: 2, stderr: "CHORUS_HTTP_ADDR"},
	} {
		setEnv(t, tc.env)
		var stdout, stderr bytes.Buffer
		if got := run(tc.args, &stdout, &stderr); got != tc.status {
			t.Errorf("%d: status %d, want %d (stderr %q)", i, got, tc.status, stderr.String())
		}
		if !strings.Contains(stdout.String(), tc.stdout) {
			t.Errorf("%d: stdout %q, want %q in it", i, stdout.String(), tc.stdout)
		}
		if !strings.Contains(stderr.String(), tc.stderr) || strings.Count(stderr.String(), "\n") > 1 {
			t.Errorf("%d: stderr %q, want one line with %q", i, stderr.String(), tc.stderr)
		}
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	var b bytes.Buffer
	usage(&b)
	typ := reflect.TypeFor[config]()
	for _, f := range reflect.VisibleFields(typ) {
		key := f.Tag.Get("envconfig")
		if key == "" {
			continue
		}
		if !strings.HasPrefix(key, "CHORUS_") {
			t.Errorf("%s: variable %s lacks the CHORUS_ prefix", f.Name, key)
		}
		if f.Tag.Get("desc") == "" {
			t.Errorf("%s has no description", key)
		}
		if !strings.Contains(b.String(), key) {
			t.Errorf("usage does not list %s", key)
		}
	}
}

// TestRunServesHTTP runs the service against a server that is not there:
// alive, not ready, metrics served, and everything stopped by SIGTERM.
func TestRunServesHTTP(t *testing.T) {
	addr := freeAddr(t)
	setEnv(t, map[string]string{"CHORUS_DOMAIN": "c.example", "CHORUS_SECRET": "s", "CHORUS_LOG_LEVEL": "error",
		"CHORUS_SERVER": freeAddr(t), "CHORUS_STORE": "sqlite://" + filepath.Join(t.TempDir(), "chorus.db"),
		"CHORUS_HTTP_ADDR": addr})
	var stdout, stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(nil, &stdout, &stderr) }()

	// The URL chorus healthcheck requests.
	base := "http://" + addr
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := client.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("healthz: %s", res.Status)
			}
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run returned %d before serving HTTP: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for path, want := range map[string]int{"/readyz": http.StatusServiceUnavailable, "/metrics": http.StatusOK, "/debug/pprof/": http.StatusNotFound} {
		res, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%s: %s, want %d", path, res.Status, want)
		}
		if path == "/metrics" && !strings.Contains(string(body), "chorus_component_up 0\n") {
			t.Errorf("metrics without the link down:\n%s", body)
		}
	}

	// run has its signal handler installed: it answered HTTP.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("status %d after SIGTERM: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after SIGTERM")
	}
	if res, err := client.Get(base + "/healthz"); err == nil {
		res.Body.Close()
		t.Error("HTTP still served after run returned")
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// corruptDB writes a file that is not a database.
func corruptDB(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "broken.db")
	if err := os.WriteFile(p, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// withDefaultLimits fills the limits a table case leaves unset with their
// defaults, so cases only spell out what they change.
func withDefaultLimits(c config) config {
	if c.MaxStanza == 0 && c.MsgRate == 0 && c.MaxOccupants == 0 {
		c.MaxStanza, c.MsgRate, c.MsgBurst, c.PresenceRate, c.PresenceBurst = 262144, 5, 20, 1, 10
		c.MaxNick, c.MaxSubject, c.MaxBody, c.RoomsPerUser, c.MaxOccupants = 64, 1024, 65536, 100, 2000
		c.HistoryBytes, c.HistoryBudget, c.VoiceInterval = 256<<10, 256<<20, 300*time.Second
	}
	if c.OnStop == "" {
		c.OnStop = "keep"
	}
	if c.Multicast == "" {
		c.Multicast = "auto"
	}
	switch c.AdminSocket {
	case "":
		c.AdminSocket = "chorus-admin.sock"
	case "-": // set empty: no socket
		c.AdminSocket = ""
	}
	return c
}

// TestMulticastConfig: CHORUS_MULTICAST is auto (the default) or off, in
// any case; anything else names the variable.
func TestMulticastConfig(t *testing.T) {
	for i, tc := range []struct {
		val, want, err string
		unset          bool
	}{
		{unset: true, want: "auto"},
		{val: " OFF ", want: "off"},
		{val: "auto", want: "auto"},
		{val: "on", err: `CHORUS_MULTICAST="on" is not auto or off`},
		{val: "", err: "CHORUS_MULTICAST"},
	} {
		env := map[string]string{"CHORUS_DOMAIN": "conference.example.com", "CHORUS_SECRET": "s3cret"}
		if !tc.unset {
			env["CHORUS_MULTICAST"] = tc.val
		}
		setEnv(t, env)
		c, err := loadConfig()
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%d: error %v, want one containing %q", i, err, tc.err)
			}
		case err != nil:
			t.Errorf("%d: %v", i, err)
		case c.Multicast != tc.want:
			t.Errorf("%d: Multicast %q, want %q", i, c.Multicast, tc.want)
		}
	}
}

// TestRTBLConfig: CHORUS_RTBL names block lists as service/node, several
// separated by commas; a malformed entry names the variable.
func TestRTBLConfig(t *testing.T) {
	base := func(k, v string) map[string]string {
		return map[string]string{"CHORUS_DOMAIN": "conference.example.com", "CHORUS_SECRET": "s3cret", k: v}
	}
	setEnv(t, base("CHORUS_RTBL", " xmppbl.org/muc_bans_sha256, pubsub.example.org/spam ,"))
	c, err := loadConfig()
	want := []component.RTBLSource{{Service: "xmppbl.org", Node: "muc_bans_sha256"}, {Service: "pubsub.example.org", Node: "spam"}}
	if err != nil || !reflect.DeepEqual(c.rtbl, want) {
		t.Errorf("got %v, %v", c.rtbl, err)
	}
	for _, bad := range []string{"xmppbl.org", "xmppbl.org/", "/node", "a b/node"} {
		setEnv(t, base("CHORUS_RTBL", bad))
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "CHORUS_RTBL") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
