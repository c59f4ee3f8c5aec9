// Command chorus runs the Chorus Multi-User Chat service as an external
// component of an XMPP server. Run "chorus -h" for its configuration.
//
// "chorus sandbox" attaches it to a throwaway Prosody started by
// chorus/internal/serverproc/prosody, the disposable Prosody the tests and
// the load tool use too; like everything the binary links, it holds no
// test code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"chorus/cmd/chorus/adminapi"
	"chorus/component"
	"chorus/room"
	"chorus/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit status: 0 after a clean shutdown or -h, 2 for a usage
// or configuration error, 1 when the service could not run.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "sandbox":
			return sandbox(args[1:], stdout, stderr)
		case "healthcheck":
			return healthcheck(args[1:], stdout, stderr)
		case "admin":
			return admin(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("chorus", flag.ContinueOnError)
	if status, done := parseNoArgs(fs, args, usage, "configuration is read from the environment; see chorus -h", 2, stdout, stderr); done {
		return status
	}

	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintf(stderr, "chorus: %v\n", err)
		return 2
	}

	var out io.Writer = stderr
	if cfg.LogFormat == "console" {
		out = zerolog.ConsoleWriter{Out: stderr, TimeFormat: time.RFC3339}
	}
	log := zerolog.New(out).Level(cfg.level).With().Timestamp().Logger()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	log.Info().Str("domain", cfg.Domain).Str("server", cfg.Server).Int("admins", len(cfg.Admins)).Msg("chorus starting")
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	st, err := store.Open(openCtx, cfg.Store)
	cancel()
	if err != nil {
		// Never fall back to memory: rooms the admin expects to keep
		// would silently vanish at the next restart.
		fmt.Fprintf(stderr, "chorus: CHORUS_STORE: %s\n", strings.Join(strings.Fields(err.Error()), " "))
		return 2
	}
	defer st.Close()
	var metrics *component.Metrics // nil counts nothing
	stopHTTP := func() {}
	if cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			fmt.Fprintf(stderr, "chorus: CHORUS_HTTP_ADDR: %v\n", err)
			return 2
		}
		metrics = component.NewMetrics()
		stopHTTP = serveHTTP(ctx, ln, metrics, cfg.Pprof, log)
	}
	// Asked of the store itself: the instrumented one hides what it adds.
	leaser, _ := st.(store.Leaser)
	h, reg, bl := newHandler(cfg, metrics.InstrumentStore(st), st, log)
	defer reg.Close()
	metrics.ObserveRooms(reg.Stats)
	metrics.ObserveOperatorTools(reg.Refusals, bl)
	status := serve(ctx, cfg, leaser, h, reg, metrics, log)
	stopHTTP()
	return status
}

// serve runs the service until ctx ends and returns the exit status. With
// a store shared by several instances (leaser not nil) it first waits as a
// hot standby until this instance holds the domain, and stops serving at
// once when it loses it, with status 1, so that the service manager starts
// it again as a standby.
func serve(ctx context.Context, cfg config, leaser store.Leaser, h component.Handler, reg *room.Registry,
	metrics *component.Metrics, log zerolog.Logger) int {
	var lease *store.Lease
	if leaser != nil {
		metrics.SetActive(false)
		log.Info().Str("domain", cfg.Domain).Msg("standby for the domain")
		var err error
		if lease, err = leaser.Acquire(ctx, cfg.Domain); err != nil {
			if ctx.Err() != nil {
				log.Info().Str("domain", cfg.Domain).Msg("chorus stopped in standby")
				return 0
			}
			log.Error().Err(err).Str("domain", cfg.Domain).Msg("chorus cannot take the domain")
			return 1
		}
		defer lease.Release()
		metrics.SetActive(true)
		log.Info().Str("domain", cfg.Domain).Int64("generation", lease.Generation).Msg("active for the domain")
	}

	start := time.Now()
	rooms, sessions, err := reg.Restore(ctx)
	ev := log.Info()
	if err != nil {
		// Serving beats waiting: occupants who were not restored find
		// out by their self-ping and join again.
		ev = log.Error().Err(err)
	}
	ev.Int("rooms", rooms).Int("sessions", sessions).Dur("took", time.Since(start)).Msg("occupancy restored")
	banCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = reg.LoadBans(banCtx)
	cancel()
	if err != nil {
		// Serving with bans forgotten would let the banned back in.
		log.Error().Err(err).Msg("chorus cannot read the service-wide bans")
		return 1
	}

	runCtx, halt := context.WithCancelCause(ctx)
	defer halt(nil)
	if lease != nil {
		go func() {
			select {
			case <-lease.Lost():
				// Another instance may serve the rooms already: not a
				// stanza more, and no shutdown.
				halt(component.ErrHalted)
			case <-runCtx.Done():
			}
		}()
	}
	sender := &component.Sender{}
	// The socket is the operators' tool; the rooms come first: a socket
	// that cannot be opened (a bad path, or a deposed instance on the same
	// host still holding it) must not keep an instance that holds the
	// domain from serving it.
	stopAdmin, err := serveAdmin(runCtx, cfg.AdminSocket, reg, sender, log)
	if err != nil {
		log.Error().Err(err).Str("socket", cfg.AdminSocket).Msg("admin socket not opened (CHORUS_ADMIN_SOCKET); serving rooms without it")
		stopAdmin = func() {}
	}
	defer stopAdmin()
	err = component.Run(runCtx, component.Config{
		Domain:  cfg.Domain,
		Secret:  cfg.Secret,
		Server:  cfg.Server,
		Logger:  log,
		Metrics: metrics,
		Sender:  sender,

		MaxStanzaBytes: cfg.MaxStanza,
		Multicast:      cfg.Multicast == "auto",
	}, h)
	if err != nil {
		log.Error().Err(err).Msg("chorus cannot run")
		return 1
	}
	if errors.Is(context.Cause(runCtx), component.ErrHalted) {
		metrics.SetActive(false)
		log.Error().Err(lease.Err()).Str("domain", cfg.Domain).Int64("generation", lease.Generation).
			Msg("lease of the domain lost: stopped serving")
		return 1
	}
	// The archive's last writes go before the lease, while they are still
	// this instance's to make.
	reg.Close()
	return 0
}

// serveAdmin serves the operators' API on the Unix socket path (empty: not
// at all) in the background until ctx is cancelled or the returned
// function is called; that function waits for it to stop.
func serveAdmin(ctx context.Context, path string, reg *room.Registry, link adminapi.Link, log zerolog.Logger) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	ln, err := adminapi.Listen(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	log.Info().Str("socket", path).Msg("admin socket listening")
	go func() {
		defer close(done)
		(&adminapi.Server{Rooms: reg, Link: link, Log: log}).Serve(ctx, ln)
	}()
	return func() {
		cancel()
		<-done
	}, nil
}

// serveHTTP serves the operators' endpoints on ln in the background until
// ctx is cancelled or the returned function is called; that function waits
// for the server to stop.
func serveHTTP(ctx context.Context, ln net.Listener, m *component.Metrics, withPprof bool, log zerolog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	log.Info().Str("addr", ln.Addr().String()).Bool("pprof", withPprof).Msg("http listening")
	go func() {
		defer close(done)
		if err := component.RunHTTP(ctx, ln, component.NewHTTPHandler(m, withPprof), log); err != nil {
			log.Error().Err(err).Msg("http listener failed")
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// parseNoArgs parses the command line of a command that takes no arguments
// but -h. done says the command should exit with status: 0 after printing
// the usage, bad after one line on stderr ending with hint.
func parseNoArgs(fs *flag.FlagSet, args []string, usage func(io.Writer), hint string, bad int, stdout, stderr io.Writer) (status int, done bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0, true
		}
		fmt.Fprintf(stderr, "%s: %v: %s\n", fs.Name(), err, hint)
		return bad, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q: %s\n", fs.Name(), fs.Arg(0), hint)
		return bad, true
	}
	return 0, false
}
