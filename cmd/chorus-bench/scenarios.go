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
	fs.BoolVar(&c.Persistent, "persistent", false, "make each room persistent when creating it (muc#roomconfig_persistentroom), as rooms people keep are")
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
	fs.IntVar(&cfg.History, "history", 0, "messages each room's creator posts before the storm; the joiners then take the room's default history and a join ends with its subject message (0: no history, a join ends with the self-presence)")
	err := parse(fs, args, "Logs in -joins users, has one extra user per room create it, then measures the\n"+
		"storm: every user sends its join presence, latency until its self-presence\n"+
		"(with -history, until the subject that follows the history).")
	if err != nil {
		return err
	}
	if err := finishCommon(&cfg.Common, pids); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	if cfg.Joins <= 0 || cfg.Concurrency <= 0 || cfg.History < 0 {
		return errors.New("join: -joins and -concurrency must be positive, -history not negative")
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := bench.Join(ctx, cfg)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	return printJSON(res)
}

func runMAM(args []string) error {
	fs := flag.NewFlagSet("mam", flag.ContinueOnError)
	var cfg bench.MAMConfig
	var pids string
	commonFlags(fs, &cfg.Common, &pids)
	fs.IntVar(&cfg.Occupants, "occupants", 100, "occupants of the one room, each querying its archive")
	fs.IntVar(&cfg.Messages, "messages", 100, "messages posted to the room before the storm")
	fs.IntVar(&cfg.Pages, "pages", 5, "queries per occupant, each for the page before the previous one")
	fs.IntVar(&cfg.PageSize, "page-size", 20, "messages per page (RSM max)")
	err := parse(fs, args, "Logs in -occupants users, joins them to one room (use -persistent: services\n"+
		"archive persistent rooms), posts -messages messages, then has every occupant\n"+
		"page back through the archive at once (XEP-0313 with RSM <before/>):\n"+
		"queries/s and the latency of each query until the IQ that ends it.")
	if err != nil {
		return err
	}
	if err := finishCommon(&cfg.Common, pids); err != nil {
		return fmt.Errorf("mam: %w", err)
	}
	if cfg.Occupants <= 0 || cfg.Messages <= 0 || cfg.Pages <= 0 || cfg.PageSize <= 0 {
		return errors.New("mam: -occupants, -messages, -pages and -page-size must be positive")
	}
	ctx, stop := signalContext()
	defer stop()
	res, err := bench.MAM(ctx, cfg)
	if err != nil {
		return fmt.Errorf("mam: %w", err)
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
	fs.BoolVar(&cfg.Presence, "presence", false, "broadcast each join's and leave's presence to the room, send the joiner the occupant list and an empty subject: a join's stanzas as a full service sends them")
	err := parse(fs, args, "A trivial MUC component (XEP-0114): self-presence on join, no presence\n"+
		"broadcast (unless -presence), no history; each groupchat message goes to every\n"+
		"occupant from bytes encoded once. The ceiling any external component can reach\n"+
		"on the server.\n"+
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
