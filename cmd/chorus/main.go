// Command chorus runs the Chorus Multi-User Chat service as an external
// component of an XMPP server. Run "chorus -h" for its configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run returns the exit status: 0 after a clean shutdown or -h, 2 for a usage
// or configuration error, 1 when the service could not run.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("chorus", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		fmt.Fprintf(stderr, "chorus: %v: configuration is read from the environment; see chorus -h\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "chorus: unexpected argument %q: configuration is read from the environment; see chorus -h\n", fs.Arg(0))
		return 2
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
	h, reg := newHandler(cfg, st, log)
	defer reg.Close()
	err = component.Run(ctx, component.Config{
		Domain: cfg.Domain,
		Secret: cfg.Secret,
		Server: cfg.Server,
		Logger: log,
	}, h)
	if err != nil {
		log.Error().Err(err).Msg("chorus cannot run")
		return 1
	}
	return 0
}
