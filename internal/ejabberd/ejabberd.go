// Package ejabberd runs a disposable ejabberd for integration tests: its own
// temporary config, Mnesia spool and log, on free loopback ports, with
// client authentication that accepts any username and password, and one
// external component.
//
// The Erlang VM is started directly (erl -s ejabberd) rather than through
// ejabberdctl: ejabberdctl insists on running as the ejabberd user (it
// switches to it from root and refuses anyone else), while erl runs as
// whoever runs the tests. The VM is not distributed, so there is no node
// name to collide with another instance and no epmd is started or left
// behind.
//
// Starting, waiting for and stopping the VM is chorus/internal/serverproc's,
// shared with the sandbox's Prosody.
package ejabberd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/template"
	"time"

	"chorus/internal/serverproc"
	"chorus/internal/serverproc/servertest"
)

// Options configure the server. Zero values take the defaults.
type Options struct {
	// Host is the virtual host clients log in to; default "localhost".
	Host string
	// Component is the external component's domain; default
	// "conference." + Host.
	Component string
	// Secret is the component secret; default random.
	Secret string
	// StartTimeout bounds the wait for the listeners; default 90 s (a loaded
	// 2-core machine running test packages side by side can take that long).
	StartTimeout time.Duration

	// Dir is an existing empty directory for the config, spool and logs.
	// Default: tb.TempDir() for Start; for Launch a new temporary
	// directory that Close removes.
	Dir string
	// Logf hears of unusual events such as a forced kill. Start defaults
	// it to tb.Logf; Launch to nothing.
	Logf func(format string, args ...any)
	// LogLevel is the least severe level logged: "debug" (the default),
	// "info", "warn" or "error". Load tests use "warn": logging every
	// stanza at debug level would slow ejabberd down.
	LogLevel string
	// MUC, when set, is a domain served by ejabberd's own mod_muc, with its
	// limits (200 occupants a room, 1000 for presence broadcasts, 100 rooms
	// a user) raised for load tests, so the component can be measured
	// against it.
	MUC string
	// MaxFiles, when set, is the open-file limit (soft and hard) the VM
	// runs with, capped at this process's hard limit. A Go parent runs its
	// children with the soft limit it started with, often 1024, too few
	// for thousands of clients.
	MaxFiles uint64
	// AuthPoolSize is how many authentication scripts run side by side;
	// default 1. One serialises every login, the bottleneck of thousands.
	AuthPoolSize int
	// Backlog, when set, replaces ejabberd's listen backlog of 5 on the
	// client port: more clients than that connecting at once overflow it,
	// and the kernel drops their SYNs, which they resend only after 1, 2,
	// 4, 8 ... seconds.
	Backlog int
	// MaxQueue, when set, replaces ejabberd's limit of 10000 messages
	// queued for one client or component session (max_fsm_queue), beyond
	// which the session is closed; a load test may briefly queue more.
	MaxQueue int
	// Archive, with MUC, serves the rooms as deployments do: persistent
	// by default and archived (XEP-0313) by mod_mam, in Mnesia like the
	// rest of this server's data (SQL would need a database set up).
	Archive bool
	// Multicast, when set, enables mod_multicast (XEP-0033) at
	// "multicast." + Host with an access rule that lets only the component
	// use it, as the README's configuration does.
	Multicast bool
	// MulticastLimit, when set with Multicast, is the service's limit of
	// addresses per message and per presence for senders outside Host,
	// as the component is; ejabberd then advertises it (unset: its default
	// of 20, not advertised).
	MulticastLimit int
}

// MulticastJID is the address of mod_multicast (Options.Multicast), or
// "" without it.
func (s *Server) MulticastJID() string {
	if !s.opts.Multicast {
		return ""
	}
	return "multicast." + s.Host()
}

// Server is one ejabberd VM and the files it owns.
type Server struct {
	serverproc.Server
	opts    Options
	inst    installation
	cfgPath string
}

// installation is where the pieces of an ejabberd install are.
type installation struct {
	erl, perl string
	// libs is the ERL_LIBS directory holding ejabberd's application;
	// Debian keeps it outside Erlang's own lib directory.
	libs string
}

// ctlScripts are where ejabberdctl is looked for when it is not on PATH;
// /usr/sbin is not on an ordinary user's PATH on Debian.
var ctlScripts = []string{"/usr/sbin/ejabberdctl", "/usr/local/sbin/ejabberdctl"}

// libGlobs find ejabberd's application when ejabberdctl does not say.
var libGlobs = []string{"/usr/lib/*/ejabberd-*/ebin/ejabberd.app", "/usr/lib/ejabberd-*/ebin/ejabberd.app"}

var erlLibsLine = regexp.MustCompile(`(?m)^\s*ERL_LIBS=['"]?([^'"\s]+)`)

func find() (installation, error) {
	var inst installation
	var err error
	if inst.erl, err = exec.LookPath("erl"); err != nil {
		return inst, fmt.Errorf("ejabberd: erl is not on PATH (apt-get install ejabberd): %w", err)
	}
	// The external authentication script is Perl, which Debian always has.
	if inst.perl, err = exec.LookPath("perl"); err != nil {
		return inst, fmt.Errorf("ejabberd: perl, for the authentication script, is not on PATH: %w", err)
	}
	ctls := ctlScripts
	if p, err := exec.LookPath("ejabberdctl"); err == nil {
		ctls = append([]string{p}, ctls...)
	}
	for _, ctl := range ctls {
		b, err := os.ReadFile(ctl)
		if err != nil {
			continue
		}
		if m := erlLibsLine.FindSubmatch(b); m != nil && hasApp(string(m[1])) {
			inst.libs = string(m[1])
			return inst, nil
		}
	}
	for _, g := range libGlobs {
		if apps, _ := filepath.Glob(g); len(apps) > 0 {
			// .../ejabberd-VERSION/ebin/ejabberd.app -> ...
			inst.libs = filepath.Dir(filepath.Dir(filepath.Dir(apps[len(apps)-1])))
			return inst, nil
		}
	}
	return inst, errors.New("ejabberd: its Erlang application is not installed (apt-get install ejabberd)")
}

func hasApp(libs string) bool {
	apps, _ := filepath.Glob(filepath.Join(libs, "ejabberd*", "ebin", "ejabberd.app"))
	return len(apps) > 0
}

// Available reports why ejabberd cannot be used here, or nil.
func Available() error {
	_, err := find()
	return err
}

// Require skips the test when ejabberd is not installed, or fails it when
// the environment variable CI is "true", where a missing ejabberd means a
// broken CI setup rather than a developer's machine without it.
func Require(tb testing.TB) {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
}

// Start writes a config into a fresh temporary directory, starts ejabberd
// and waits until its client and component ports accept connections. The
// server is stopped when tb's test ends, and its log tail is printed if the
// test failed.
func Start(tb testing.TB, opts Options) (*Server, error) {
	tb.Helper()
	inst, err := find()
	if err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	if opts.Logf == nil {
		opts.Logf = tb.Logf
	}
	s, err := prepare(inst, opts)
	if err != nil {
		return nil, err
	}
	servertest.StopAtCleanup(tb, "ejabberd", s.LogPath(), s.Stop)
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Launch is Start for programs: it starts ejabberd the same way, and the
// caller ends it with Close.
func Launch(opts Options) (*Server, error) {
	inst, err := find()
	if err != nil {
		return nil, err
	}
	return serverproc.Launch(opts.Dir, "ejabberd-", func(dir string) (*Server, error) {
		opts.Dir = dir
		return prepare(inst, opts)
	})
}

// logLevels maps the harness's level names to ejabberd's.
var logLevels = map[string]string{"debug": "debug", "info": "info", "warn": "warning", "error": "error"}

// prepare fills in defaults, picks the ports and writes the config and the
// authentication script into opts.Dir; it does not start ejabberd.
func prepare(inst installation, opts Options) (*Server, error) {
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 90 * time.Second
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "debug"
	}
	if _, ok := logLevels[opts.LogLevel]; !ok {
		return nil, fmt.Errorf("ejabberd: log level %q is not debug, info, warn or error", opts.LogLevel)
	}
	if opts.AuthPoolSize <= 0 {
		opts.AuthPoolSize = 1
	}
	s := &Server{opts: opts, inst: inst}
	err := s.Init(serverproc.Setup{
		Name:         "ejabberd",
		Host:         opts.Host,
		Component:    opts.Component,
		Secret:       opts.Secret,
		Dir:          opts.Dir,
		Command:      s.command,
		StartTimeout: opts.StartTimeout,
		StopTimeout:  stopTimeout,
		Logf:         opts.Logf,
	})
	if err != nil {
		return nil, err
	}
	s.cfgPath = filepath.Join(s.Dir(), "ejabberd.yml")
	if err := os.Mkdir(filepath.Join(s.Dir(), "spool"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), extauthScript), []byte(extauth), 0o600); err != nil {
		return nil, err
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	return s, nil
}

// stopTimeout is how long Stop waits after SIGTERM, which the Erlang VM
// turns into an orderly init:stop, before SIGKILL to its process group,
// which holds its helpers; the VM's orderly
// shutdown of a test instance takes one to three seconds.
const stopTimeout = 10 * time.Second

// command is what ejabberdctl foreground runs, minus -sname: without
// distribution there is no epmd and no node name to keep unique. "quiet"
// keeps the log off the console; it goes to EJABBERD_LOG_PATH. The config
// names the authentication script relative to the working directory, the
// server's.
func (s *Server) command() *exec.Cmd {
	cmd := serverproc.Command(s.opts.MaxFiles, s.inst.erl, "-noinput",
		"-mnesia", "dir", erlString(filepath.Join(s.Dir(), "spool")),
		"-ejabberd", "quiet", "true",
		"-s", "ejabberd")
	cmd.Env = append(os.Environ(),
		"EJABBERD_CONFIG_PATH="+s.cfgPath,
		"EJABBERD_LOG_PATH="+s.LogPath(),
		"ERL_LIBS="+s.inst.libs,
		// A test instance that crashes leaves no multi-megabyte dump.
		"ERL_CRASH_DUMP_BYTES=0",
	)
	return cmd
}

// extauthScript answers every external authentication request (auth,
// isuser, setpass, ...) with success, so any username and password log in
// and every user exists. The protocol is ejabberd's: a 2-byte big-endian
// length and the request, answered by length 2 and the result 1.
const (
	extauthScript = "extauth.pl"
	extauth       = `use strict;
binmode STDIN;
binmode STDOUT;
$| = 1;
while (read(STDIN, my $len, 2) == 2) {
	my $n = unpack('n', $len);
	read(STDIN, my $req, $n) == $n or last;
	print pack('nn', 2, 1);
}
`
)

var configTemplate = template.Must(template.New("cfg").Funcs(template.FuncMap{"yaml": yamlString}).Parse(`# Generated for one test run.
hosts:
  - {{yaml .Host}}
loglevel: {{.LogLevel}}
log_rotate_count: 0
default_db: mnesia

auth_method: [external]
# ejabberd spawns this with the VM's working directory, the test's
# temporary directory; a relative path survives spaces in its name.
extauth_program: {{yaml .Extauth}}
extauth_pool_size: {{.AuthPoolSize}}
auth_use_cache: false
disable_sasl_mechanisms: ["X-OAUTH2"]

listen:
  - port: {{.C2SPort}}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    starttls_required: false
{{- if .Backlog}}
    backlog: {{.Backlog}}
{{- end}}
{{- if .MaxQueue}}
    max_fsm_queue: {{.MaxQueue}}
{{- end}}
  - port: {{.ComponentPort}}
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
      {{yaml .Component}}:
        password: {{yaml .Secret}}
{{- if .MaxQueue}}
    max_fsm_queue: {{.MaxQueue}}
{{- end}}

acl:
  local:
    user_regexp: ""
{{- if .Multicast}}
  chorus:
    server: {{yaml .Component}}
{{- end}}
access_rules:
  local:
    allow: local
  c2s:
    allow: all
{{- if .Multicast}}
  multicast:
    allow: chorus
{{- end}}

# mod_muc only when Options.MUC asks: the component serves the MUC domain.
# mod_vcard_xupdate adds the avatar hash to clients' presence, as
# mod_vcard_legacy does in the test Prosody; Prosody's MUC scripts expect it
# in occupant presence.
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_vcard: {}
  mod_vcard_xupdate: {}
{{- if .Multicast}}
  # XEP-0033 for the component only; the component's domain is not one of
  # hosts, so the "remote" limits are the ones that apply to it.
  mod_multicast:
    access: multicast
{{- if .MulticastLimit}}
    limits:
      remote:
        message: {{.MulticastLimit}}
        presence: {{.MulticastLimit}}
{{- end}}
{{- end}}
{{- if .MUC}}
  # Sized for load tests: occupants a room (default 200, also the rooms'
  # own default), presence broadcast to rooms of up to 1000, rooms a user
  # may be in (100) all raised; no interval between a user's messages or
  # presences, no shapers (the defaults); 20 messages of history, as the
  # component keeps.
  mod_muc:
    hosts: [{{yaml .MUC}}]
    access_create: all
    max_users: 100000
    max_users_admin_threshold: 100000
    max_users_presence: 100000
    max_user_conferences: 100000
    min_message_interval: 0
    min_presence_interval: 0
    history_size: 20
    default_room_options:
      max_users: 100000
{{- if .Archive}}
      persistent: true
      mam: true
  # Rooms as deployed: persistent and archived, in Mnesia (default_db).
  mod_mam: {}
{{- end}}
{{- end}}
`))

// yamlString quotes s as a YAML double-quoted scalar; JSON's string
// escapes are a subset of YAML's.
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// erlString quotes s as an Erlang string term, as -mnesia dir wants.
func erlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	b.WriteByte('"')
	return b.String()
}

func (s *Server) writeConfig() error {
	var b bytes.Buffer
	err := configTemplate.Execute(&b, map[string]any{
		"Host":           s.Host(),
		"Component":      s.Component(),
		"Secret":         s.Secret(),
		"Extauth":        s.inst.perl + " " + extauthScript,
		"C2SPort":        s.C2SPort(),
		"ComponentPort":  s.ComponentPort(),
		"LogLevel":       logLevels[s.opts.LogLevel],
		"AuthPoolSize":   s.opts.AuthPoolSize,
		"MaxQueue":       s.opts.MaxQueue,
		"Backlog":        s.opts.Backlog,
		"MUC":            s.opts.MUC,
		"Multicast":      s.opts.Multicast,
		"MulticastLimit": s.opts.MulticastLimit,
		"Archive":        s.opts.Archive,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(s.cfgPath, b.Bytes(), 0o600)
}
