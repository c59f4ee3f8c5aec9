package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"

	"chorus/component"
	"github.com/rs/zerolog"
	"mellium.im/xmpp/jid"
)

// config is read from the environment only.
//
// Each variable is named in full in its envconfig tag and read with an empty
// prefix: with a prefix, envconfig falls back to the bare tag name (DOMAIN,
// SERVER, ...), so an unrelated variable could configure the service.
type config struct {
	Domain      string   `envconfig:"CHORUS_DOMAIN" required:"true" desc:"address of the MUC service, the component domain on the server (e.g. conference.example.com)"`
	Secret      string   `envconfig:"CHORUS_SECRET" required:"true" desc:"shared secret of the component connection (the server's component_secret)"`
	Server      string   `envconfig:"CHORUS_SERVER" default:"127.0.0.1:5347" desc:"host:port of the server's component listener"`
	Admins      []string `envconfig:"CHORUS_ADMINS" desc:"comma-separated bare JIDs that administer every room"`
	Store       string   `envconfig:"CHORUS_STORE" default:"sqlite://chorus.db" desc:"where persistent rooms and the archive live: sqlite:///path/to/chorus.db (embedded, the default is ./chorus.db) or postgres://user:pass@host/db"`
	Expiry      string   `envconfig:"CHORUS_ARCHIVE_EXPIRY" default:"365d" desc:"how long archived messages are kept: days (365d) or a Go duration (720h), from 1h to 36500d"`
	Creation    string   `envconfig:"CHORUS_ROOM_CREATION" default:"anyone" desc:"who may create rooms: anyone, local (users of the server's domain, CHORUS_DOMAIN without its first label) or admins"`
	LogLevel    string   `envconfig:"CHORUS_LOG_LEVEL" default:"info" desc:"trace, debug, info, warn or error"`
	LogFormat   string   `envconfig:"CHORUS_LOG_FORMAT" default:"json" desc:"json, or console for people reading a terminal"`
	HTTPAddr    string   `envconfig:"CHORUS_HTTP_ADDR" default:"127.0.0.1:5380" desc:"host:port of the HTTP listener for /metrics, /healthz and /readyz (0.0.0.0:5380 for every interface); empty disables it"`
	EnforceNick bool     `envconfig:"CHORUS_ENFORCE_REGISTERED_NICKNAME" default:"false" desc:"true makes a user who reserved a nickname in a room enter under it (status 210) and refuses changing it (not-acceptable)"`
	Pprof       bool     `envconfig:"CHORUS_PPROF" default:"false" desc:"true mounts Go's profiler at /debug/pprof/ on the HTTP listener"`
	AdminSocket string   `envconfig:"CHORUS_ADMIN_SOCKET" default:"chorus-admin.sock" desc:"Unix socket of the operators' API that chorus admin uses, created with mode 0600; empty disables it"`
	RTBL        []string `envconfig:"CHORUS_RTBL" desc:"comma-separated real-time block lists to follow, each pubsub-service/node (e.g. xmppbl.org/muc_bans_sha256): users they list may not enter rooms where they are not affiliated, and are removed when listed"`
	Multicast   string   `envconfig:"CHORUS_MULTICAST" default:"auto" desc:"auto: find the server's XEP-0033 multicast service at each connection and send a message or presence for several occupants once, through it (falls back to one stanza per recipient without one, or when it refuses); off: always one stanza per recipient"`
	OnStop      string   `envconfig:"CHORUS_ON_STOP" default:"keep" desc:"what stopping Chorus does to the occupants: keep (they stay in their rooms and find themselves still joined when Chorus is back: restarts, upgrades) or kick (each leaves with status 332: taking the service down for good)"`

	// Limits (0 disables a limit).
	MaxStanza     int           `envconfig:"CHORUS_MAX_STANZA_BYTES" default:"262144" desc:"largest inbound stanza in bytes (0: the default); a larger one alone is refused with policy-violation, the link stays up"`
	MsgRate       float64       `envconfig:"CHORUS_MSG_RATE" default:"5" desc:"messages per second one user may send in a room (groupchat, private, invitations); over it: wait/policy-violation"`
	MsgBurst      int           `envconfig:"CHORUS_MSG_BURST" default:"20" desc:"messages one user may send in a burst before CHORUS_MSG_RATE applies"`
	PresenceRate  float64       `envconfig:"CHORUS_PRESENCE_RATE" default:"1" desc:"joins, presence updates and nick changes per second per user in a room; a join over it: wait/policy-violation, an update over it waits for a token"`
	PresenceBurst int           `envconfig:"CHORUS_PRESENCE_BURST" default:"10" desc:"joins, presence updates and nick changes one user may send in a room in a burst"`
	MaxNick       int           `envconfig:"CHORUS_MAX_NICK" default:"64" desc:"longest nickname in characters; longer: modify/policy-violation"`
	MaxSubject    int           `envconfig:"CHORUS_MAX_SUBJECT" default:"1024" desc:"longest room subject in characters; longer: modify/policy-violation"`
	MaxBody       int           `envconfig:"CHORUS_MAX_BODY" default:"65536" desc:"longest message body in characters; longer: modify/policy-violation"`
	RoomsPerUser  int           `envconfig:"CHORUS_ROOMS_PER_USER" default:"100" desc:"live rooms one user may have created (service admins exempt); more: wait/resource-constraint"`
	MaxOccupants  int           `envconfig:"CHORUS_MAX_OCCUPANTS" default:"2000" desc:"default and ceiling of a room's maximum occupants; a full room: cancel/service-unavailable"`
	HistoryBytes  int           `envconfig:"CHORUS_HISTORY_BYTES" default:"262144" desc:"bytes of history one room keeps in memory for joiners; beyond it the oldest messages leave memory (the archive keeps them)"`
	HistoryBudget int64         `envconfig:"CHORUS_HISTORY_BUDGET" default:"268435456" desc:"bytes of history all rooms together keep in memory; beyond it a room that adds a message gives up its oldest"`
	VoiceInterval time.Duration `envconfig:"CHORUS_VOICE_REQUEST_INTERVAL" default:"300s" desc:"least time between two voice requests of one user in one room; sooner: wait/policy-violation"`

	// Derived by loadConfig.
	level  zerolog.Level
	expiry time.Duration
	rtbl   []component.RTBLSource
}

// localDomain is the server's own domain: the service's domain without its
// first label (conference.example.com serves example.com).
func (c config) localDomain() string {
	if _, rest, ok := strings.Cut(c.Domain, "."); ok {
		return rest
	}
	return c.Domain
}

var logLevels = map[string]zerolog.Level{
	"trace": zerolog.TraceLevel,
	"debug": zerolog.DebugLevel,
	"info":  zerolog.InfoLevel,
	"warn":  zerolog.WarnLevel,
	"error": zerolog.ErrorLevel,
}

// loadConfig reads and checks the environment. Its errors are one line that
// names the variable at fault.
func loadConfig() (config, error) {
	var c config
	// envconfig accepts a required variable that is set but empty; check
	// that first so the message is the same whether it is unset or empty.
	for _, f := range reflect.VisibleFields(reflect.TypeFor[config]()) {
		key := f.Tag.Get("envconfig")
		if f.Tag.Get("required") != "true" {
			continue
		}
		if v, ok := os.LookupEnv(key); !ok || strings.TrimSpace(v) == "" {
			return c, fmt.Errorf("%s is required: %s", key, f.Tag.Get("desc"))
		}
	}
	if err := envconfig.Process("", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) && pe.TypeName == "bool" {
			return c, fmt.Errorf("%s=%q is not true or false", pe.KeyName, pe.Value)
		}
		return c, err
	}
	return c, c.check()
}

// check validates and normalises the values read.
func (c *config) check() error {
	d, err := jid.Parse(strings.TrimSpace(c.Domain))
	if err != nil || d.Localpart() != "" || d.Resourcepart() != "" {
		return fmt.Errorf("CHORUS_DOMAIN=%q is not a domain name (want e.g. conference.example.com)", c.Domain)
	}
	c.Domain = d.String()

	if !isHostPort(c.Server, true) {
		return fmt.Errorf("CHORUS_SERVER=%q is not host:port (want e.g. 127.0.0.1:5347)", c.Server)
	}
	// An empty host listens on every interface, as in Go's net.Listen;
	// chorus healthcheck then checks loopback.
	if c.HTTPAddr = strings.TrimSpace(c.HTTPAddr); c.HTTPAddr != "" && !isHostPort(c.HTTPAddr, false) {
		return fmt.Errorf("CHORUS_HTTP_ADDR=%q is not host:port (want e.g. 127.0.0.1:5380 or 0.0.0.0:5380, or empty to disable it)", c.HTTPAddr)
	}

	c.AdminSocket = strings.TrimSpace(c.AdminSocket)

	admins := make([]string, 0, len(c.Admins))
	for _, a := range c.Admins {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		j, err := jid.Parse(a)
		if err != nil || j.Resourcepart() != "" {
			return fmt.Errorf("CHORUS_ADMINS: %q is not a bare JID (want e.g. alice@example.com)", a)
		}
		admins = append(admins, j.String())
	}
	c.Admins = admins

	c.rtbl = nil
	for _, l := range c.RTBL {
		if strings.TrimSpace(l) == "" {
			continue
		}
		src, err := component.ParseRTBLSource(l)
		if err != nil {
			return fmt.Errorf("CHORUS_RTBL: %v (want e.g. xmppbl.org/muc_bans_sha256)", err)
		}
		c.rtbl = append(c.rtbl, src)
	}

	if !strings.HasPrefix(c.Store, "sqlite:") && !strings.HasPrefix(c.Store, "postgres://") && !strings.HasPrefix(c.Store, "postgresql://") {
		return fmt.Errorf("CHORUS_STORE=%q is not sqlite:///path or postgres://...", c.Store)
	}
	exp, err := parseDays(c.Expiry)
	if err != nil || exp < minExpiry || exp > maxExpiry {
		return fmt.Errorf("CHORUS_ARCHIVE_EXPIRY=%q is not a number of days (365d) or a duration (720h) from 1h to 36500d", c.Expiry)
	}
	c.expiry = exp

	for _, l := range []struct {
		name string
		bad  bool
	}{
		{"CHORUS_MAX_STANZA_BYTES", c.MaxStanza != 0 && c.MaxStanza < 4096},
		{"CHORUS_MSG_RATE", c.MsgRate < 0}, {"CHORUS_MSG_BURST", c.MsgBurst < 0},
		{"CHORUS_PRESENCE_RATE", c.PresenceRate < 0}, {"CHORUS_PRESENCE_BURST", c.PresenceBurst < 0},
		{"CHORUS_MAX_NICK", c.MaxNick < 0}, {"CHORUS_MAX_SUBJECT", c.MaxSubject < 0}, {"CHORUS_MAX_BODY", c.MaxBody < 0},
		{"CHORUS_ROOMS_PER_USER", c.RoomsPerUser < 0}, {"CHORUS_MAX_OCCUPANTS", c.MaxOccupants < 0},
		{"CHORUS_HISTORY_BYTES", c.HistoryBytes < 0}, {"CHORUS_HISTORY_BUDGET", c.HistoryBudget < 0},
		{"CHORUS_VOICE_REQUEST_INTERVAL", c.VoiceInterval < 0},
	} {
		if l.bad {
			return fmt.Errorf("%s must be 0 (no limit; for CHORUS_MAX_STANZA_BYTES the default) or positive (at least 4096 for CHORUS_MAX_STANZA_BYTES)", l.name)
		}
	}

	switch c.Creation = strings.ToLower(strings.TrimSpace(c.Creation)); c.Creation {
	case "anyone", "local", "admins":
	default:
		return fmt.Errorf("CHORUS_ROOM_CREATION=%q is not one of anyone, local, admins", c.Creation)
	}

	lvl, ok := logLevels[strings.ToLower(c.LogLevel)]
	if !ok {
		return fmt.Errorf("CHORUS_LOG_LEVEL=%q is not one of trace, debug, info, warn, error", c.LogLevel)
	}
	c.level = lvl

	switch c.OnStop = strings.ToLower(strings.TrimSpace(c.OnStop)); c.OnStop {
	case "keep", "kick":
	default:
		return fmt.Errorf("CHORUS_ON_STOP=%q is not keep or kick", c.OnStop)
	}

	switch c.Multicast = strings.ToLower(strings.TrimSpace(c.Multicast)); c.Multicast {
	case "auto", "off":
	default:
		return fmt.Errorf("CHORUS_MULTICAST=%q is not auto or off", c.Multicast)
	}

	switch c.LogFormat = strings.ToLower(c.LogFormat); c.LogFormat {
	case "json", "console":
	default:
		return fmt.Errorf("CHORUS_LOG_FORMAT=%q is not json or console", c.LogFormat)
	}
	return nil
}

const usageHeader = `Usage: chorus              run the service
       chorus sandbox      try it: a throwaway Prosody with Chorus attached
       chorus healthcheck  exit 0 when the running service answers /healthz
       chorus admin        act on the running service's rooms (chorus admin -h)

Chorus is an XEP-0045 Multi-User Chat service. It runs as an external
component (XEP-0114) of an XMPP server such as Prosody or ejabberd, and is
configured only through these environment variables:

`

const usageTable = `VARIABLE	DEFAULT	REQUIRED	DESCRIPTION
{{range .}}{{usage_key .}}	{{or (usage_default .) "-"}}	{{if eq (usage_required .) "true"}}yes{{else}}no{{end}}	{{usage_description .}}
{{end}}`

// usage writes the help text: the variables with defaults and descriptions.
func usage(w io.Writer) {
	io.WriteString(w, usageHeader)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if err := envconfig.Usagef("", &config{}, tw, usageTable); err != nil {
		panic(err) // the template is a constant
	}
	tw.Flush()
}

// isHostPort reports whether s is host:port with a numeric port, and a
// host unless that is optional.
func isHostPort(s string, needHost bool) bool {
	host, port, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(port)
	return err == nil && (host != "" || !needHost) && perr == nil && n >= 1 && n <= 65535
}

// Bounds of CHORUS_ARCHIVE_EXPIRY: expiry runs hourly, so less than an
// hour means nothing more; beyond a century is a typo, and far beyond it
// (about 106,000 days) a time.Duration overflows into a short retention.
const (
	minExpiry = time.Hour
	maxExpiry = 36500 * 24 * time.Hour
)

// parseDays reads "365d" as days, anything else as a Go duration. A
// number of days too large for a time.Duration is an error, not a wrap.
func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			return 0, err
		}
		if n < 0 || n > int64(math.MaxInt64/(24*time.Hour)) {
			return 0, fmt.Errorf("%d days is out of range", n)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
