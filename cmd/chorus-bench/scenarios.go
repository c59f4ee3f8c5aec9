package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"chorus/internal/bench"
)

// parse parses args into fs with errors on one line; for -h it prints the
// usage on stdout and returns flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string, about string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(os.Stdout, "usage: chorus-bench %s [flags]\n\n%s\n\nFlags:\n", fs.Name(), about)
		fs.SetOutput(os.Stdout)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// commonFlags registers the flags every client scenario has.
func commonFlags(fs *flag.FlagSet, c *bench.Common, pids *string) {
	fs.StringVar(&c.Server, "server", "127.0.0.1:5222", "client listener of the XMPP server, host:port (plain TCP, SASL PLAIN)")
	fs.StringVar(&c.Domain, "domain", "localhost", "domain of the users")
	fs.StringVar(&c.Password, "password", "bench", "password of every user")
	fs.StringVar(&c.Prefix, "prefix", "u", "prefix of the users' localparts: <prefix><i>@<domain>; vary it between runs against one server")
	fs.StringVar(&c.MUC, "muc", "conference.localhost", "domain of the MUC service under test")
	fs.IntVar(&c.Rooms, "rooms", 1, "rooms bench0..bench<R-1>@<muc>; occupants are spread round-robin")
	fs.StringVar(pids, "pids", "", "processes to measure, comma-separated pid or name=pid; each counts with all its descendants")
	fs.StringVar(&c.Label, "label", "", "text copied into the JSON line")
	fs.IntVar(&c.LoginConcurrency, "login-concurrency", 64, "logins and joins in flight before the measurement")
}

func finishCommon(c *bench.Common, pids string) error {
	procs, err := bench.ParsePids(pids)
	if err != nil {
		return err
	}
	c.Procs = procs
	c.Log = os.Stderr
	if c.Rooms <= 0 || c.LoginConcurrency <= 0 {
		return errors.New("-rooms and -login-concurrency must be positive")
	}
	return nil
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

func printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(b, '\n'))
	return err
}

func runFanout(args []string) error {
	fs := flag.NewFlagSet("fanout", flag.ContinueOnError)
	var cfg bench.FanoutConfig
	var pids string
	commonFlags(fs, &cfg.Common, &pids)
	fs.IntVar(&cfg.Occupants, "occupants", 10, "occupants per room")
	fs.IntVar(&cfg.Senders, "senders", 1, "senders per room, the first occupants")
	fs.Float64Var(&cfg.Rate, "rate", 0, "messages per second per sender, paced and not windowed; 0: as fast as -window allows")
	fs.IntVar(&cfg.Window, "window", 4, "messages in flight per sender when -rate is 0; a message is done when its echo returns")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "sending before the measured window")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "the measured window")
	fs.IntVar(&cfg.BodyBytes, "body-bytes", 60, "size of each message body")
	err := parse(fs, args, "Logs in rooms×occupants users, joins them, and has the first -senders of each room\n"+
		"post groupchat messages. Every occupant counts deliveries; latency comes from the\n"+
		"send time in the body. lost counts deliveries of messages sent in the window that\n"+
		"never arrived; reordered counts a sender's sequence going backwards at a receiver.")
	if err != nil {
		return err
	}
	if err := finishCommon(&cfg.Common, pids); err != nil {
		return fmt.Errorf("fanout: %w", err)
	}
	if cfg.Occupants <= 0 || cfg.Senders <= 0 || cfg.Window <= 0 || cfg.Duration <= 0 || cfg.Warmup < 0 || cfg.Rate < 0 {
		return errors.New("fanout: -occupants, -senders, -window and -duration must be positive, -warmup and -rate not negative")
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := bench.Fanout(ctx, cfg)
	if err != nil {
		return fmt.Errorf("fanout: %w", err)
	}
	return printJSON(res)
}

func runJoin(args []string) error {
	fs := flag.NewFlagSet("join", flag.ContinueOnError)
	var cfg bench.JoinConfig
	var pids string
	commonFlags(fs, &cfg.Common, &pids)
	fs.IntVar(&cfg.Joins, "joins", 500, "joins in the storm, in total")
	fs.IntVar(&cfg.Concurrency, "concurrency", 50, "joins in flight")
	err := parse(fs, args, "Logs in -joins users, has one extra user per room create it, then measures the\n"+
		"storm: every user sends its join presence, latency until its self-presence.")
	if err != nil {
		return err
	}
	if err := finishCommon(&cfg.Common, pids); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if cfg.Joins <= 0 || cfg.Concurrency <= 0 {
		return errors.New("join: -joins and -concurrency must be positive")
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := bench.Join(ctx, cfg)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	return printJSON(res)
}

func runMemory(args []string) error {
	fs := flag.NewFlagSet("memory", flag.ContinueOnError)
	var cfg bench.MemoryConfig
	var pids string
	commonFlags(fs, &cfg.Common, &pids)
	fs.IntVar(&cfg.Occupants, "occupants", 1000, "occupants in total, across -rooms")
	fs.DurationVar(&cfg.Settle, "settle", 5*time.Second, "idle time before each measurement")
	err := parse(fs, args, "Logs in -occupants users, measures the resident memory of each -pids process,\n"+
		"joins them all, waits -settle and measures again: bytes per occupant.")
	if err != nil {
		return err
	}
	if err := finishCommon(&cfg.Common, pids); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if cfg.Occupants <= 0 || cfg.Settle <= 0 {
		return errors.New("memory: -occupants and -settle must be positive")
	}
	if len(cfg.Procs) == 0 {
		fmt.Fprintln(os.Stderr, "memory: no -pids given; nothing will be measured")
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := bench.Memory(ctx, cfg)
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	return printJSON(res)
}

func runNull(args []string) error {
	fs := flag.NewFlagSet("null", flag.ContinueOnError)
	var cfg bench.NullConfig
	fs.StringVar(&cfg.Server, "server", "127.0.0.1:5347", "component listener of the XMPP server, host:port")
	fs.StringVar(&cfg.Domain, "domain", "conference.localhost", "domain of the component")
	fs.StringVar(&cfg.Secret, "secret", "", "component secret (XEP-0114)")
	fs.BoolVar(&cfg.IDs, "ids", false, "add a XEP-0359 stanza-id and a XEP-0421 occupant-id to each delivery, as a service with stable ids sends")
	err := parse(fs, args, "A trivial MUC component (XEP-0114): self-presence on join, no presence\n"+
		"broadcast, no history; each groupchat message goes to every occupant from bytes\n"+
		"encoded once. The ceiling any external component can reach on the server.\n"+
		"Runs until SIGINT or SIGTERM.")
	if err != nil {
		return err
	}
	cfg.Log = os.Stderr
	ctx, stop := signalContext()
	defer stop()
	if err := bench.RunNull(ctx, cfg); err != nil {
		return fmt.Errorf("null: %w", err)
	}
	return nil
}
