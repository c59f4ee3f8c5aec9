package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	prosodymodules "chorus/contrib/prosody"
	"chorus/internal/serverproc/prosody"
	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// The sandbox's fixed names: those of Prosody's test setup and of most
// client documentation.
const (
	sandboxHost    = "localhost"
	sandboxService = "conference." + sandboxHost
	sandboxRoom    = "lobby@" + sandboxService
	sandboxC2SPort = 5222 // the standard port, so clients need no port setting
	// sandboxLinkTimeout bounds the wait for Chorus's component link.
	sandboxLinkTimeout = 15 * time.Second
)

const sandboxUsage = `Usage: chorus sandbox

Starts a throwaway Prosody (the prosody on PATH) on 127.0.0.1 with Chorus
attached as ` + sandboxService + `, creates two accounts and the room
` + sandboxRoom + `, and prints how to connect a client. Ctrl-C stops
both and deletes everything they wrote. Needs no configuration;
CHORUS_* variables are ignored.
`

// sandboxAccount is a ready-made user.
type sandboxAccount struct {
	JID, Password string
}

// sandboxInfo describes a running sandbox.
type sandboxInfo struct {
	Dir           string // everything the sandbox writes; removed at the end
	C2S           string // client listener, host:port
	ComponentAddr string // Prosody's component listener, host:port
	Multicast     string // Prosody's XEP-0033 service for the component
	Accounts      []sandboxAccount
	Fingerprint   string // SHA-256 of the self-signed certificate
}

// sandboxOptions exist for tests.
type sandboxOptions struct {
	// c2sPort is the preferred client port, taken when free; zero means
	// any free port.
	c2sPort int
	// ready, if set, is called once the sandbox runs.
	ready func(sandboxInfo)
}

// sandbox runs "chorus sandbox" until SIGINT or SIGTERM.
func sandbox(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chorus sandbox", flag.ContinueOnError)
	usage := func(w io.Writer) { io.WriteString(w, sandboxUsage) }
	if status, done := parseNoArgs(fs, args, usage, "see chorus sandbox -h", 2, stdout, stderr); done {
		return status
	}
	// The handler stays installed through the cleanup, so a second Ctrl-C
	// cannot leave Prosody and the directory behind; the cleanup is
	// bounded (see runSandbox).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runSandbox(ctx, sandboxOptions{c2sPort: sandboxC2SPort}, stdout, stderr)
}

// runSandbox starts Prosody and Chorus, prints how to use them, and when
// ctx ends stops both and removes their directory. It returns the exit
// status: 0 after a clean stop, 2 without Prosody, 1 when it cannot start.
func runSandbox(ctx context.Context, o sandboxOptions, stdout, stderr io.Writer) (code int) {
	if err := prosody.Available(); err != nil {
		fmt.Fprintln(stderr, "chorus sandbox: prosody is not installed (on PATH); install it with: apt-get install prosody")
		return 2
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.TimeOnly, NoColor: !isTerminal(stderr)}).
		Level(zerolog.InfoLevel).With().Timestamp().Logger()
	fail := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "chorus sandbox: "+format+"\n", args...)
		return 1
	}

	// Cleanups run in reverse order whatever the outcome.
	var cleanups []func()
	defer func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}()

	dir, err := os.MkdirTemp("", "chorus-sandbox-")
	if err != nil {
		return fail("%v", err)
	}
	cleanups = append(cleanups, func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(stderr, "chorus sandbox: %v\n", err)
			code = 1
		}
	})
	for _, sub := range []string{"prosody", "tls"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return fail("%v", err)
		}
	}

	info := sandboxInfo{Dir: dir}
	users := map[string]string{}
	for _, name := range []string{"alice", "bob"} {
		pw := randomPassword()
		users[name] = pw
		info.Accounts = append(info.Accounts, sandboxAccount{JID: name + "@" + sandboxHost, Password: pw})
	}
	owner := info.Accounts[0].JID

	cert, key, fp, err := prosody.SelfSigned(filepath.Join(dir, "tls"), sandboxHost, 30*24*time.Hour)
	if err != nil {
		return fail("certificate: %v", err)
	}
	info.Fingerprint = fp

	port := o.c2sPort
	if port != 0 && !portFree(port) {
		port = 0 // taken, e.g. by a system Prosody: any free one will do
	}
	// The Prosody module Chorus ships for server-side fan-out, as a
	// deployment that follows README would have it.
	module := filepath.Join(dir, "mod_chorus_multicast.lua")
	if err := os.WriteFile(module, prosodymodules.MulticastModule, 0o600); err != nil {
		return fail("%v", err)
	}
	srv, err := prosody.Launch(prosody.Options{
		Host:            sandboxHost,
		Component:       sandboxService,
		C2SPort:         port,
		Users:           users,
		TLSCert:         cert,
		TLSKey:          key,
		Dir:             filepath.Join(dir, "prosody"),
		Logf:            func(f string, a ...any) { log.Info().Msgf(f, a...) },
		MulticastModule: module,
	})
	if err != nil {
		return fail("starting prosody: %v", err)
	}
	cleanups = append(cleanups, func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(stderr, "chorus sandbox: stopping prosody: %v\n", err)
		}
	})
	info.C2S, info.ComponentAddr, info.Multicast = srv.C2SAddr(), srv.ComponentAddr(), srv.MulticastJID()

	// The same embedded store as a real deployment, so persistent rooms
	// and the archive behave as they would there.
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := store.Open(openCtx, "sqlite://"+filepath.Join(dir, "chorus.db"))
	cancel()
	if err != nil {
		return fail("store: %v", err)
	}
	cleanups = append(cleanups, func() { st.Close() })
	reg := room.NewRegistry(room.Options{
		Domain:      sandboxService,
		Admins:      []string{owner},
		LocalDomain: sandboxHost,
		Store:       st,
		OnStoreError: func(err error) {
			log.Error().Err(err).Msg("store error")
		},
	})
	cleanups = append(cleanups, reg.Close)
	if err := seedRoom(reg, owner); err != nil {
		return fail("creating %s: %v", sandboxRoom, err)
	}

	up := make(chan struct{}, 1)
	runCtx, stopChorus := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- component.Run(runCtx, component.Config{
			Domain:    sandboxService,
			Secret:    srv.Secret(),
			Server:    srv.ComponentAddr(),
			Logger:    log,
			Multicast: true,
			OnState: func(ok bool) {
				if ok {
					select {
					case up <- struct{}{}:
					default:
					}
				}
			},
		}, component.NewRouter(sandboxService, reg))
	}()
	// Stopping Chorus first lets it tell occupants (status 332) while
	// Prosody can still deliver that.
	cleanups = append(cleanups, func() {
		stopChorus()
		select {
		case err := <-done:
			if err != nil {
				fmt.Fprintf(stderr, "chorus sandbox: chorus: %v\n", err)
			}
		case <-time.After(10 * time.Second):
			fmt.Fprintln(stderr, "chorus sandbox: chorus did not stop within 10 s")
		}
	})

	select {
	case <-up:
	case err := <-done:
		done <- err // for the cleanup
		return fail("chorus stopped before connecting: %v", err)
	case <-ctx.Done():
		return 0
	case <-time.After(sandboxLinkTimeout):
		return fail("chorus did not connect to prosody at %s within %v; prosody's log:\n%s",
			srv.ComponentAddr(), sandboxLinkTimeout, srv.LogTail(20))
	}

	if err := writePoezioConfigs(info); err != nil {
		return fail("%v", err)
	}
	printSandbox(stdout, info)
	if o.ready != nil {
		o.ready(info)
	}
	<-ctx.Done()
	fmt.Fprintf(stderr, "chorus sandbox: stopping; removing %s\n", dir)
	return 0
}

// isTerminal reports whether w is a terminal, where colours help; in a
// file or pipe they are noise.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// portFree reports whether nobody listens on the loopback port.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// randomPassword is short enough to type and, unlike a fixed one, keeps
// other local users out of the sandbox's accounts.
func randomPassword() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// seedRoom creates the sample room the way a client would (join, submit
// the configuration, set a subject, leave) before Chorus connects, so that
// both users find it open and configured. The answers go nowhere.
func seedRoom(reg *room.Registry, owner string) error {
	from := owner + "/sandbox"
	occupant := sandboxRoom + "/" + strings.SplitN(owner, "@", 2)[0]
	steps := []string{
		`<presence from='` + from + `' to='` + occupant + `'><x xmlns='http://jabber.org/protocol/muc'/></presence>`,
		`<iq type='set' id='config' from='` + from + `' to='` + sandboxRoom + `'>` +
			`<query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
			`<field var='muc#roomconfig_roomname'><value>Lobby</value></field>` +
			`<field var='muc#roomconfig_roomdesc'><value>The sandbox's sample room</value></field>` +
			`<field var='muc#roomconfig_persistentroom'><value>1</value></field>` +
			`<field var='muc#roomconfig_publicroom'><value>1</value></field>` +
			`</x></query></iq>`,
		`<message type='groupchat' id='subject' from='` + from + `' to='` + sandboxRoom + `'>` +
			`<subject>Welcome to the Chorus sandbox</subject></message>`,
		`<presence type='unavailable' from='` + from + `' to='` + occupant + `'/>`,
	}
	for _, s := range steps {
		st, err := stanza.Parse(s)
		if err != nil {
			return err
		}
		for _, out := range room.Flatten(reg.Handle(st)) {
			if out.Attr("type") == "error" {
				return fmt.Errorf("%s answered %s", st.Local, out)
			}
		}
	}
	return nil
}

// writePoezioConfigs writes one poezio configuration per account into the
// sandbox directory, so "poezio -f FILE" logs in and joins the room.
func writePoezioConfigs(info sandboxInfo) error {
	host, port, _ := net.SplitHostPort(info.C2S)
	for _, a := range info.Accounts {
		nick := strings.SplitN(a.JID, "@", 2)[0]
		cfg := "[Poezio]\n" +
			"jid = " + a.JID + "\n" +
			"password = " + a.Password + "\n" +
			"custom_host = " + host + "\n" +
			"custom_port = " + port + "\n" +
			"# The sandbox's certificate is self-signed and thrown away with it:\n" +
			"# trust exactly that one (poezio refuses plain-text logins, and\n" +
			"# ignore_certificate does not get past the TLS handshake).\n" +
			"ca_cert_path = " + filepath.Join(info.Dir, "tls", sandboxHost+".crt") + "\n" +
			"rooms = " + sandboxRoom + "/" + nick + "\n" +
			"# Keep no conversation logs of a throwaway server.\n" +
			"use_log = false\n"
		if err := os.WriteFile(poezioConfig(info, a), []byte(cfg), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func poezioConfig(info sandboxInfo, a sandboxAccount) string {
	return filepath.Join(info.Dir, "poezio-"+strings.SplitN(a.JID, "@", 2)[0]+".cfg")
}

// printSandbox tells a newcomer what runs and how to reach it.
func printSandbox(w io.Writer, info sandboxInfo) {
	host, port, _ := net.SplitHostPort(info.C2S)
	alice, bob := info.Accounts[0], info.Accounts[1]
	fmt.Fprintf(w, `
Chorus sandbox: a throwaway Prosody with Chorus attached.

  Server       %s   (XMPP domain %s)
  MUC service  %s   (fan-out through %s, XEP-0033)
  Sample room  %s   (persistent, public; %s owns it)
  Accounts     %-16s password %s   (Chorus service administrator)
               %-16s password %s

  !! FOR TRYING CHORUS ON THIS MACHINE ONLY. The server listens on %s
  !! only, allows logins without encryption (STARTTLS is offered with a
  !! self-signed certificate) and keeps everything in
  !! %s, deleted when the sandbox stops.
  Certificate SHA-256 %s

Connect a client as %s, and as %s in a second one:
  poezio     poezio -f %s   (joins the room; poezio-%s.cfg beside it)
  profanity  /connect %s server %s port %s tls trust
             then /join %s
  others     server %s, port %s; accept the self-signed certificate
             (or allow an unencrypted connection)

Ctrl-C stops Chorus and Prosody and deletes the directory.
`,
		info.C2S, sandboxHost,
		sandboxService, info.Multicast,
		sandboxRoom, alice.JID,
		alice.JID, alice.Password,
		bob.JID, bob.Password,
		host,
		info.Dir,
		info.Fingerprint,
		alice.JID, bob.JID,
		poezioConfig(info, alice), strings.SplitN(bob.JID, "@", 2)[0],
		alice.JID, host, port,
		sandboxRoom,
		host, port,
	)
}
