// Package prosody runs a disposable Prosody: its own temporary config, data
// directory, pidfile and log, on loopback ports, with one external
// component. Client authentication is open (any password) unless
// Options.Users names the accounts.
//
// It is the Prosody of "chorus sandbox", so it holds no test code; the
// integration tests and the load tool reach it through internal/prosody,
// which ties a server to a test.
package prosody

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"chorus/internal/serverproc"
)

// Options configure the server. Zero values take the defaults.
type Options struct {
	// Host is the VirtualHost clients log in to; default "localhost".
	Host string
	// Component is the external component's domain; default
	// "conference." + Host.
	Component string
	// Secret is the component secret; default random.
	Secret string
	// StartTimeout bounds the wait for the listeners; default 30 s.
	StartTimeout time.Duration

	// C2SPort is the client port; zero picks a free one.
	C2SPort int
	// Users, when not empty, replaces open authentication with these
	// accounts on Host (localpart to password), registered with prosodyctl
	// before the server starts; any other login is refused.
	Users map[string]string
	// TLSCert and TLSKey, when both set, are PEM files of a certificate
	// clients may use through STARTTLS; encryption stays optional.
	TLSCert, TLSKey string
	// Dir is an existing empty directory for the config, data and log.
	// Prepare needs one; Launch defaults to a new temporary directory that
	// Close removes (internal/prosody's Start to the test's).
	Dir string
	// Logf hears of unusual events such as a forced kill; default nothing
	// (internal/prosody's Start: the test's log).
	Logf func(format string, args ...any)

	// LogLevel is the least severe level logged: "debug" (the default),
	// "info", "warn" or "error". Load tests use "warn": logging every
	// stanza at debug level would slow Prosody down.
	LogLevel string
	// MUC, when set, is a domain served by Prosody's own mod_muc, sized for
	// load tests (rooms of thousands, no eviction of live rooms), so the
	// component can be measured against it.
	MUC string
	// MaxFiles, when set, is the open-file limit (soft and hard) Prosody
	// runs with, capped at this process's hard limit. A Go parent runs its
	// children with the soft limit it started with, often 1024, too few
	// for thousands of clients.
	MaxFiles uint64
	// PubSub, when set, is a domain served by Prosody's mod_pubsub, for
	// block lists (XEP-0060 nodes): PubSubAdmins may create nodes and
	// publish; nodes are open to everyone to subscribe and read. Nodes,
	// items and subscriptions are kept in the data directory, so they
	// outlive Restart and Crash as a real list service's do.
	PubSub string
	// PubSubAdmins are the bare JIDs that own PubSub's nodes.
	PubSubAdmins []string
	// Archive, with MUC, serves the rooms as deployments do: persistent
	// by default, and every room's messages archived (XEP-0313) by
	// mod_muc_mam in SQLite through mod_storage_sql, which needs LuaDBI's
	// SQLite driver (ArchiveAvailable).
	Archive bool
	// MulticastModule, when set, is the path of
	// contrib/prosody/mod_chorus_multicast.lua: Prosody then serves a
	// XEP-0033 multicast service at "multicast." + Host that only the
	// component may use, listed in Host's disco#items.
	MulticastModule string
	// MulticastMax, when set with MulticastModule, is the service's
	// chorus_multicast_max_addresses (default the module's, 50).
	MulticastMax int
	// MulticastFrom, when set with MulticastModule, replaces the component
	// as the only domain allowed to use the service
	// (chorus_multicast_from), for tests of a refusing service.
	MulticastFrom string
}

// Server is one Prosody process and the files it owns.
type Server struct {
	serverproc.Server
	opts    Options
	cfgPath string
}

const (
	binary = "prosody"
	ctl    = "prosodyctl" // registers Options.Users
)

// Available reports why Prosody cannot be used here, or nil.
func Available() error {
	if _, err := exec.LookPath(binary); err != nil {
		return fmt.Errorf("%s is not on PATH (apt-get install prosody): %w", binary, err)
	}
	return nil
}

// ArchiveAvailable reports why Options.Archive cannot work here, or nil:
// mod_storage_sql needs LuaDBI's SQLite3 driver for the Lua that runs
// Prosody (Debian: lua-dbi-sqlite3).
func ArchiveAvailable() error {
	if err := Available(); err != nil {
		return err
	}
	lua := "lua5.4"
	if path, err := exec.LookPath(binary); err == nil {
		if b, err := os.ReadFile(path); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if f := strings.Fields(strings.TrimPrefix(first, "#!")); len(f) > 0 {
				lua = f[len(f)-1] // "/usr/bin/env lua5.4" or "/usr/bin/lua5.4"
			}
		}
	}
	out, err := exec.Command(lua, "-e", `local DBI = require "DBI"; assert(DBI.Connect("SQLite3", ":memory:"))`).CombinedOutput()
	if err != nil {
		return fmt.Errorf("prosody: no SQLite driver for mod_storage_sql in %s (apt-get install lua-dbi-sqlite3): %v: %s",
			lua, err, firstLine(out))
	}
	return nil
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

// Launch writes a config, starts Prosody and waits until its client and
// component ports accept connections. The caller ends it with Close.
func Launch(opts Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	return serverproc.Launch(opts.Dir, "prosody-", func(dir string) (*Server, error) {
		opts.Dir = dir
		return Prepare(opts)
	})
}

// Prepare fills in defaults, picks the ports, writes the config into
// opts.Dir, which must be set, and registers the users; Start then starts
// Prosody. Launch does both.
func Prepare(opts Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("prosody: no directory given")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 30 * time.Second
	}
	switch opts.LogLevel {
	case "":
		opts.LogLevel = "debug"
	case "debug", "info", "warn", "error":
	default:
		return nil, fmt.Errorf("prosody: log level %q is not debug, info, warn or error", opts.LogLevel)
	}
	s := &Server{opts: opts}
	err := s.Init(serverproc.Setup{
		Name:      "prosody",
		Host:      opts.Host,
		Component: opts.Component,
		Secret:    opts.Secret,
		Dir:       opts.Dir,
		C2SPort:   opts.C2SPort,
		// -F keeps it in the foreground so that Stop can wait for it.
		Command: func() *exec.Cmd {
			return serverproc.Command(opts.MaxFiles, binary, "-F", "--config", s.cfgPath)
		},
		StartTimeout: opts.StartTimeout,
		StopTimeout:  stopTimeout,
		Logf:         opts.Logf,
	})
	if err != nil {
		return nil, err
	}
	s.cfgPath = filepath.Join(s.Dir(), "prosody.cfg.lua")
	for _, sub := range []string{"data", "certs"} {
		if err := os.Mkdir(filepath.Join(s.Dir(), sub), 0o700); err != nil {
			return nil, err
		}
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	if err := s.register(); err != nil {
		return nil, err
	}
	return s, nil
}

// register creates the accounts of Options.Users with prosodyctl, the
// supported way to write Prosody's account store.
func (s *Server) register() error {
	if len(s.opts.Users) == 0 {
		return nil
	}
	if _, err := exec.LookPath(ctl); err != nil {
		return fmt.Errorf("%s is not on PATH (it comes with prosody): %w", ctl, err)
	}
	for _, user := range slices.Sorted(maps.Keys(s.opts.Users)) {
		cmd := exec.Command(ctl, "--config", s.cfgPath, "register", user, s.Host(), s.opts.Users[user])
		cmd.Dir = s.Dir()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("prosodyctl register %s@%s: %v: %s", user, s.Host(), err, bytes.TrimSpace(out))
		}
	}
	return nil
}

// stopTimeout is how long Stop waits after SIGTERM before SIGKILL; a clean
// shutdown of a throwaway instance takes well under a second. Prosody
// 0.12.3 can hang in shutdown when SIGTERM arrives while a client session
// is being torn down (mod_c2s calls close on the retired session); killing
// it is then the only way, and harmless for a throwaway instance.
const stopTimeout = 3 * time.Second

var configTemplate = template.Must(template.New("cfg").Funcs(template.FuncMap{"lua": luaString}).Parse(`-- Generated for one disposable run.
run_as_root = true
daemonize = false
pidfile = {{lua .Pidfile}}
data_path = {{lua .Data}}
certificates = {{lua .Certs}}
{{- if .Users}}
-- Accounts are files prosodyctl wrote before the start; the rest is
-- thrown away with the process.
default_storage = "memory"
storage = { accounts = "internal" }
{{- else}}
storage = "memory"
{{- end}}
log = { { levels = { min = {{lua .LogLevel}} }, to = "file", filename = {{lua .Log}} } }

c2s_require_encryption = false
allow_unencrypted_plain_auth = true
{{- if .Users}}
authentication = "internal_plain"
{{- else}}
authentication = "insecure"
insecure_open_authentication = "Yes please, I know what I'm doing!"
{{- end}}
{{- if .TLS}}
ssl = { certificate = {{lua .TLSCert}}, key = {{lua .TLSKey}} }

modules_enabled = { "roster", "tls", "saslauth", "disco", "ping", "pep", "vcard_legacy" }
modules_disabled = { "s2s" }
{{- else}}

modules_enabled = { "roster", "saslauth", "disco", "ping", "pep", "vcard_legacy" }
modules_disabled = { "s2s", "tls" }
{{- end}}

c2s_ports = { {{.C2SPort}} }
c2s_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = {}
legacy_ssl_ports = {}
component_ports = { {{.ComponentPort}} }
component_interfaces = { "127.0.0.1" }
s2s_ports = {}
s2s_direct_tls_ports = {}
http_ports = {}
https_ports = {}
{{- if .Multicast}}
plugin_paths = { {{lua .PluginDir}} }
{{- end}}

VirtualHost {{lua .Host}}

Component {{lua .Component}}
	component_secret = {{lua .Secret}}
{{- if .MUC}}

-- Prosody's own MUC, for load tests. It has no occupant or rate limit;
-- the cache of live rooms (default 100) is raised so that no room is
-- swapped out under load, and history is kept at the default 20 messages
-- that the component keeps too.
Component {{lua .MUC}} "muc"
	muc_room_cache_size = 100000
	muc_room_default_history_length = 20
	muc_tombstones = false
{{- if .Archive}}
	-- Rooms as deployed: persistent, and archived (XEP-0313) in SQLite;
	-- the accounts stay in memory.
	storage = "sql"
	sql = { driver = "SQLite3", database = "muc.sqlite" }
	modules_enabled = { "muc_mam" }
	muc_room_default_persistent = true
	muc_log_by_default = true
	muc_log_all_rooms = true
{{- end}}
{{- end}}
{{- if .PubSub}}

-- Prosody's pubsub, a block list service. Its admins create nodes and
-- publish; the default open access model lets anyone subscribe. A node
-- keeps at most max_items items, and a block list needs many.
Component {{lua .PubSub}} "pubsub"
	admins = { {{range $i, $a := .PubSubAdmins}}{{if $i}}, {{end}}{{lua $a}}{{end}} }
	storage = "internal"
	pubsub_max_items = 10000
{{- end}}
{{- if .Multicast}}

-- XEP-0033 multicast for the component only (mod_chorus_multicast).
Component {{lua .Multicast}} "chorus_multicast"
	chorus_multicast_from = { {{lua .MulticastFrom}} }
{{- if .MulticastMax}}
	chorus_multicast_max_addresses = {{.MulticastMax}}
{{- end}}
{{- end}}
`))

// luaString quotes s as a Lua string literal.
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// MulticastJID is the address of the multicast service
// (Options.MulticastModule), or "" without one.
func (s *Server) MulticastJID() string {
	if s.opts.MulticastModule == "" {
		return ""
	}
	return "multicast." + s.Host()
}

func (s *Server) writeConfig() error {
	plugins := filepath.Join(s.Dir(), "plugins")
	if s.opts.MulticastModule != "" {
		src, err := os.ReadFile(s.opts.MulticastModule)
		if err != nil {
			return fmt.Errorf("prosody: multicast module: %w", err)
		}
		if err := os.Mkdir(plugins, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(plugins, "mod_chorus_multicast.lua"), src, 0o600); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	err := configTemplate.Execute(&b, map[string]any{
		"Pidfile":       filepath.Join(s.Dir(), "prosody.pid"),
		"Data":          filepath.Join(s.Dir(), "data"),
		"Certs":         filepath.Join(s.Dir(), "certs"),
		"Log":           s.LogPath(),
		"C2SPort":       s.C2SPort(),
		"ComponentPort": s.ComponentPort(),
		"Host":          s.Host(),
		"Component":     s.Component(),
		"Secret":        s.Secret(),
		"Users":         len(s.opts.Users) > 0,
		"TLS":           s.opts.TLSCert != "" && s.opts.TLSKey != "",
		"TLSCert":       s.opts.TLSCert,
		"TLSKey":        s.opts.TLSKey,
		"LogLevel":      s.opts.LogLevel,
		"MUC":           s.opts.MUC,
		"PubSub":        s.opts.PubSub,
		"PubSubAdmins":  s.opts.PubSubAdmins,
		"Archive":       s.opts.Archive,
		"Multicast":     s.MulticastJID(),
		"MulticastMax":  s.opts.MulticastMax,
		"MulticastFrom": cmp.Or(s.opts.MulticastFrom, s.Component()),
		"PluginDir":     plugins,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(s.cfgPath, b.Bytes(), 0o600)
}
