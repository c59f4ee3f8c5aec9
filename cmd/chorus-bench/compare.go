package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"chorus/internal/bench"
	"chorus/internal/ejabberd"
	"chorus/internal/prosody"
	"chorus/internal/scansion"
	"chorus/stanza"
)

func init() { subcommands["compare"] = runCompare }

// Domains of the disposable servers: users log in to host, the component
// (Chorus or the null component) serves componentDomain, and the server's
// own MUC serves ownMUC.
const (
	host            = "localhost"
	componentDomain = "conference." + host
	ownMUC          = "muc." + host
)

// Targets: the server's own MUC, the null component (bare; adding the
// stanza-id and occupant-id a full service sends; and adding to that a
// join's presence broadcast, occupant list and subject) and Chorus, which
// sends broadcasts through the server's XEP-0033 service when it offers
// one (CHORUS_MULTICAST=auto) or, as chorus-unicast, one stanza per
// occupant.
const (
	targetOwn           = "own"
	targetNull          = "null"
	targetNullIDs       = "null-ids"
	targetNullPresence  = "null-presence"
	targetChorus        = "chorus"
	targetChorusUnicast = "chorus-unicast"
)

// allTargets are the known targets, in the default order.
var allTargets = []string{targetOwn, targetNull, targetNullIDs, targetNullPresence, targetChorus, targetChorusUnicast}

// baselines are the targets Chorus is divided by, in the table's order;
// null-presence is the ceiling of a join.
var baselines = []string{targetNull, targetNullIDs, targetNullPresence, targetOwn, targetChorusUnicast}

// isNull reports whether target is the null component, which keeps no
// archive and no history: it is a ceiling in either profile.
func isNull(target string) bool {
	return target == targetNull || target == targetNullIDs || target == targetNullPresence
}

// isChorus reports whether target runs the chorus binary.
func isChorus(target string) bool { return target == targetChorus || target == targetChorusUnicast }

// Profiles: default is rooms as created by the scenarios (temporary, no
// archive, joins without history); deployed is rooms as people keep them:
// persistent, archived (XEP-0313), joined with their history.
const (
	profileDefault  = "default"
	profileDeployed = "deployed"
)

// Scenarios; mam needs an archive, so only the deployed profile runs it.
const (
	scenarioFanout = "fanout"
	scenarioJoin   = "join"
	scenarioMemory = "memory"
	scenarioMAM    = "mam"
)

var allScenarios = []string{scenarioFanout, scenarioJoin, scenarioMemory, scenarioMAM}

// deployedHistory is the history each room holds before a join storm of
// the deployed profile: the 20 messages servers send a joiner by default.
const deployedHistory = 20

// mamPages and mamPageSize shape each occupant's catching up in the MAM
// storm: the last 100 messages, 20 at a time.
const (
	mamPages    = 5
	mamPageSize = 20
)

// compareOpts are compare's flags.
type compareOpts struct {
	servers, targets []string
	profile          string
	scenarios        []string
	occupants        []int
	duration         time.Duration
	joins            int
	memOccupants     int
	memRooms         int
	mamOccupants     int
	// rounds repeats the whole plan per server, targets interleaved, so
	// that each ratio is taken between runs made side by side.
	rounds        int
	out, markdown string
}

func (o compareOpts) deployed() bool { return o.profile == profileDeployed }

// runs reports whether the scenario is on the plan.
func (o compareOpts) runs(scenario string) bool {
	list := o.scenarios
	if list == nil { // all of the profile's
		_, list, _ = parseProfile(cmp.Or(o.profile, profileDefault), "")
	}
	if !slices.Contains(list, scenario) {
		return false
	}
	switch scenario {
	case scenarioFanout:
		return len(o.occupants) > 0
	case scenarioJoin:
		return o.joins > 0
	case scenarioMemory:
		return o.memOccupants > 0
	case scenarioMAM:
		return o.deployed() && o.mamOccupants > 0
	}
	return false
}

func runCompare(args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	servers := fs.String("servers", "prosody,ejabberd", "servers to test, comma-separated: prosody, ejabberd")
	targets := fs.String("targets", strings.Join(allTargets, ","), "MUC services to test on each server: own (the server's MUC), null (the null component), null-ids (the null component adding stanza-id and occupant-id), null-presence (null-ids that also broadcasts each join's presence and sends the occupant list and subject: the ceiling of a join), chorus (CHORUS_MULTICAST=auto), chorus-unicast (CHORUS_MULTICAST=off)")
	profile := fs.String("profile", profileDefault, "default: rooms as the scenarios create them (temporary, no archive, joins without history); deployed: persistent rooms archived by every service but the null component, joins taking 20 messages of history, and the MAM query storm")
	scenarios := fs.String("scenarios", "", "scenarios to run, comma-separated: fanout, join, memory, mam (deployed only); default all of the profile's")
	mamOcc := fs.Int("mam-occupants", 100, "occupants of the MAM query storm (deployed), each paging through the last 100 archived messages (0 skips it)")
	occupants := fs.String("occupants", "100,500", "occupants of the one fan-out room, one run per value, comma-separated")
	duration := fs.Duration("duration", 10*time.Second, "measured window of each fan-out run")
	joins := fs.Int("joins", 500, "joins of the join storm into one room (0 skips it)")
	memOcc := fs.Int("memory-occupants", 10000, "occupants of the memory run, across -memory-rooms (0 skips it)")
	memRooms := fs.Int("memory-rooms", 100, "rooms of the memory run")
	out := fs.String("out", "bench-results.jsonl", "file for every JSON result line")
	md := fs.String("markdown", "", "file for the markdown table too (it is always printed)")
	rounds := fs.Int("rounds", 1, "times to run every target's scenarios on each server, one round after the other (own, chorus, own, chorus, ...); the table gives each figure's median with its range, and each ratio as the median of the ratios within a round")
	err := parse(fs, args, "Runs fan-out, join storm and memory (and, with -profile deployed, the MAM\n"+
		"query storm) against each server's own MUC, the null component and Chorus, each\n"+
		"run on a fresh server, as separate processes, and prints a markdown table.\n"+
		"Needs the go command and this module's source.")
	if err != nil {
		return err
	}
	o := compareOpts{duration: *duration, joins: *joins, memOccupants: *memOcc, memRooms: *memRooms,
		mamOccupants: *mamOcc, rounds: *rounds, out: *out, markdown: *md}
	if o.rounds < 1 {
		return errors.New("compare: -rounds must be at least 1")
	}
	if o.servers, err = parseList(*servers, []string{"prosody", "ejabberd"}); err != nil {
		return fmt.Errorf("compare: -servers: %w", err)
	}
	if o.targets, err = parseList(*targets, allTargets); err != nil {
		return fmt.Errorf("compare: -targets: %w", err)
	}
	if o.profile, o.scenarios, err = parseProfile(*profile, *scenarios); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if o.occupants, err = parseInts(*occupants); err != nil {
		return fmt.Errorf("compare: -occupants: %w", err)
	}
	if o.memOccupants > 0 && o.memRooms <= 0 {
		return errors.New("compare: -memory-rooms must be positive")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return compare(ctx, o)
}

// parseProfile checks the profile and the scenarios asked for; no
// scenarios means all that the profile runs.
func parseProfile(profile, scenarios string) (string, []string, error) {
	if profile != profileDefault && profile != profileDeployed {
		return "", nil, fmt.Errorf("-profile: %q is not %s or %s", profile, profileDefault, profileDeployed)
	}
	if strings.TrimSpace(scenarios) == "" {
		if profile == profileDeployed {
			return profile, allScenarios, nil
		}
		return profile, []string{scenarioFanout, scenarioJoin, scenarioMemory}, nil
	}
	list, err := parseList(scenarios, allScenarios)
	if err != nil {
		return "", nil, fmt.Errorf("-scenarios: %w", err)
	}
	if slices.Contains(list, scenarioMAM) && profile != profileDeployed {
		return "", nil, errors.New("-scenarios: mam queries the archive, which only -profile deployed turns on")
	}
	return profile, list, nil
}

// parseList splits a comma-separated list and checks each item is known.
func parseList(s string, known []string) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !slices.Contains(known, item) {
			return nil, fmt.Errorf("%q is not one of %s", item, strings.Join(known, ", "))
		}
		if !slices.Contains(out, item) {
			out = append(out, item)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}

// parseInts splits a comma-separated list of positive integers; an empty
// list is allowed (no fan-out runs).
func parseInts(s string) ([]int, error) {
	var out []int
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		n, err := strconv.Atoi(item)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive integer", item)
		}
		out = append(out, n)
	}
	return out, nil
}

// run is one scenario against one server and target.
type run struct {
	server, target string
	scenario       string // fanout, join, memory, mam
	args           []string
	prefix         string
	deployed       bool // the deployed profile: persistent, archived rooms
	round          int  // from 1; 0 in plans made before rounds
}

func (r run) label() string { return r.server + "/" + r.target }

// plan lists the runs in order: per server, per round, per target, every
// scenario. Rounds go one after the other rather than each target's runs
// together: a machine's speed drifts over minutes (a virtual machine's
// most of all), and interleaving lets the ratios within a round see the
// same machine.
// In the deployed profile every room is made persistent at creation, the
// join storm's joiners take 20 messages of history from services that
// keep it, and the MAM storm runs against the services with an archive
// (the null component has none).
func plan(o compareOpts, servers []string) []run {
	var runs []run
	for _, srv := range servers {
		for round := 1; round <= max(o.rounds, 1); round++ {
			runs = append(runs, planRound(o, srv, round)...)
		}
	}
	return runs
}

// planRound is one round of plan on one server.
func planRound(o compareOpts, srv string, round int) []run {
	var runs []run
	for _, tg := range o.targets {
		var tr []run
		if o.runs(scenarioFanout) {
			for _, n := range o.occupants {
				tr = append(tr, run{server: srv, target: tg, scenario: scenarioFanout, args: []string{
					"-rooms", "1", "-occupants", strconv.Itoa(n), "-senders", "1",
					"-duration", o.duration.String()}, prefix: fmt.Sprintf("f%d-", n)})
			}
		}
		if o.runs(scenarioJoin) {
			args := []string{"-joins", strconv.Itoa(o.joins), "-rooms", "1"}
			// null and null-ids send no subject, which ends a join
			// with history; their joins stay as in the default profile.
			if o.deployed() && (!isNull(tg) || tg == targetNullPresence) {
				args = append(args, "-history", strconv.Itoa(deployedHistory))
			}
			tr = append(tr, run{server: srv, target: tg, scenario: scenarioJoin, args: args, prefix: "j-"})
		}
		if o.runs(scenarioMemory) {
			tr = append(tr, run{server: srv, target: tg, scenario: scenarioMemory, args: []string{
				"-occupants", strconv.Itoa(o.memOccupants), "-rooms", strconv.Itoa(o.memRooms)}, prefix: "m-"})
		}
		if o.runs(scenarioMAM) && !isNull(tg) {
			tr = append(tr, run{server: srv, target: tg, scenario: scenarioMAM, args: []string{
				"-occupants", strconv.Itoa(o.mamOccupants), "-messages", strconv.Itoa(mamPages * mamPageSize),
				"-pages", strconv.Itoa(mamPages), "-page-size", strconv.Itoa(mamPageSize)}, prefix: "q-"})
		}
		for _, r := range tr {
			r.round = round
			if o.deployed() {
				r.deployed = true
				r.args = append(r.args, "-persistent")
			}
			runs = append(runs, r)
		}
	}
	return runs
}

func compare(ctx context.Context, o compareOpts) error {
	var servers []string
	var skipped []string
	for _, srv := range o.servers {
		err := serverAvailable(srv, o.deployed())
		if err == nil {
			servers = append(servers, srv)
			continue
		}
		if os.Getenv("CI") == "true" {
			return fmt.Errorf("compare: %s: %w", srv, err)
		}
		fmt.Fprintf(os.Stderr, "compare: skipping %s, not installed (or, for -profile deployed, its archive): %v\n", srv, err)
		skipped = append(skipped, srv)
	}
	if len(servers) == 0 {
		return errors.New("compare: no server to test")
	}

	work, err := os.MkdirTemp("", "chorus-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bins, err := buildBinaries(ctx, work, slices.ContainsFunc(o.targets, isChorus))
	if err != nil {
		return err
	}

	facts := machineFacts(ctx, bins.root)
	outFile, err := os.Create(o.out)
	if err != nil {
		return err
	}
	defer outFile.Close()
	if b, err := json.Marshal(facts); err == nil {
		fmt.Fprintf(outFile, "%s\n", b)
	}

	var results []result
	var failures []string
	for i, r := range plan(o, servers) {
		if err := ctx.Err(); err != nil {
			return err
		}
		round := ""
		if o.rounds > 1 {
			round = fmt.Sprintf("round %d of %d: ", r.round, o.rounds)
		}
		fmt.Fprintf(os.Stderr, "compare: %s%s %s %s\n", round, r.label(), r.scenario, strings.Join(r.args, " "))
		lines, err := runOne(ctx, bins, filepath.Join(work, fmt.Sprintf("run%d", i)), r, o)
		for k, l := range lines {
			l = bytes.TrimSpace(l)
			if o.rounds > 1 && len(l) > 1 && l[0] == '{' {
				// Each line says its round, so that the file alone tells them apart.
				l = append([]byte(fmt.Sprintf(`{"round":%d,`, r.round)), l[1:]...)
				lines[k] = l
			}
			outFile.Write(append(l, '\n'))
		}
		res, perr := parseResults(bytes.NewReader(bytes.Join(lines, []byte("\n"))))
		for k := range res {
			res[k].Round = r.round
		}
		results = append(results, res...)
		if err == nil && perr != nil {
			err = perr
		}
		if err == nil && len(res) == 0 {
			err = errors.New("no result line")
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			msg := fmt.Sprintf("%s %s: %v", r.label(), r.scenario, err)
			fmt.Fprintf(os.Stderr, "compare: %s\n", msg)
			failures = append(failures, msg)
		}
	}
	if err := outFile.Close(); err != nil {
		return err
	}

	var md bytes.Buffer
	renderMarkdown(&md, facts, o, servers, skipped, results, failures)
	os.Stdout.Write(md.Bytes())
	if o.markdown != "" {
		if err := os.WriteFile(o.markdown, md.Bytes(), 0o644); err != nil {
			return err
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("compare: %d of the runs failed (see above)", len(failures))
	}
	return nil
}

// serverAvailable reports why a server cannot be tested, or nil; for the
// deployed profile Prosody also needs the SQLite driver of its archive.
func serverAvailable(name string, deployed bool) error {
	switch name {
	case "prosody":
		if deployed {
			return prosody.ArchiveAvailable()
		}
		return prosody.Available()
	case "ejabberd":
		return ejabberd.Available()
	}
	return fmt.Errorf("unknown server %q", name)
}

// binaries are the programs compare runs as subprocesses, so that the CPU
// time of the load tool, the component and the server are each their own.
type binaries struct {
	root   string // module root
	bench  string
	chorus string // empty when not built
}

func buildBinaries(ctx context.Context, dir string, withChorus bool) (binaries, error) {
	var b binaries
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		return b, fmt.Errorf("compare: run it inside the chorus module (go env GOMOD: %q, %v)", gomod, err)
	}
	b.root = filepath.Dir(gomod)
	build := func(pkg, name string) (string, error) {
		bin := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		cmd.Dir = b.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("compare: go build %s: %v\n%s", pkg, err, out)
		}
		return bin, nil
	}
	if b.bench, err = build("./cmd/chorus-bench", "chorus-bench"); err != nil {
		return b, err
	}
	if withChorus {
		if b.chorus, err = build("./cmd/chorus", "chorus"); err != nil {
			return b, err
		}
	}
	return b, nil
}

// instance is one disposable server with, for targets null and chorus, a
// component connected to it.
type instance struct {
	c2s, muc   string
	serverPID  int
	compPID    int
	closers    []func() error
	compOutput string // the component's output file
	serverLog  func(n int) string
}

// diagnose adds the ends of the server's log and the component's output
// to err.
func (in *instance) diagnose(err error, target string) error {
	if in.serverLog != nil {
		if s := strings.TrimSpace(in.serverLog(10)); s != "" {
			err = fmt.Errorf("%w\nserver log:\n%s", err, s)
		}
	}
	if in.compOutput != "" {
		b, _ := os.ReadFile(in.compOutput)
		if s := lastLines(string(b), 10); s != "" {
			err = fmt.Errorf("%w\n%s output:\n%s", err, target, s)
		}
	}
	return err
}

func (in *instance) close() error {
	var errs []error
	for i := len(in.closers) - 1; i >= 0; i-- {
		errs = append(errs, in.closers[i]())
	}
	return errors.Join(errs...)
}

// serverFiles is the open-file limit servers get: as high as this process
// may go, for thousands of client connections.
func serverFiles() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 65536
	}
	// RLIM_INFINITY is refused by the kernel for files (fs.nr_open).
	return min(lim.Max, 1<<20)
}

func startInstance(ctx context.Context, bins binaries, dir string, r run) (*instance, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	in := &instance{muc: componentDomain}
	var mucDomain string
	if r.target == targetOwn {
		mucDomain = ownMUC
		in.muc = ownMUC
	}
	var compAddr, secret string
	switch r.server {
	case "prosody":
		if err := os.Mkdir(filepath.Join(dir, "prosody"), 0o700); err != nil {
			return nil, err
		}
		o := prosody.Options{
			Host: host, Component: componentDomain, Dir: filepath.Join(dir, "prosody"),
			LogLevel: "warn", MUC: mucDomain, MaxFiles: serverFiles(),
			Archive: r.deployed && r.target == targetOwn,
		}
		if serverMulticast(r.target) {
			// The module Chorus ships for Prosody, from this checkout.
			o.MulticastModule = filepath.Join(bins.root, "contrib", "prosody", "mod_chorus_multicast.lua")
		}
		srv, err := prosody.Launch(o)
		if err != nil {
			return nil, err
		}
		in.closers = append(in.closers, srv.Close)
		in.c2s, in.serverPID, compAddr, secret = srv.C2SAddr(), srv.PID(), srv.ComponentAddr(), srv.Secret()
		in.serverLog = srv.LogTail
	case "ejabberd":
		if err := os.Mkdir(filepath.Join(dir, "ejabberd"), 0o700); err != nil {
			return nil, err
		}
		srv, err := ejabberd.Launch(ejabberd.Options{
			Host: host, Component: componentDomain, Dir: filepath.Join(dir, "ejabberd"),
			LogLevel: "warn", MUC: mucDomain, MaxFiles: serverFiles(),
			// Logins of thousands wait on the authentication script.
			AuthPoolSize: 4,
			MaxQueue:     1_000_000,
			Backlog:      1024,
			Archive:      r.deployed && r.target == targetOwn,
			Multicast:    serverMulticast(r.target),
			// As README configures it: 50 addresses a stanza.
			MulticastLimit: 50,
		})
		if err != nil {
			return nil, err
		}
		in.closers = append(in.closers, srv.Close)
		in.c2s, in.serverPID, compAddr, secret = srv.C2SAddr(), srv.PID(), srv.ComponentAddr(), srv.Secret()
		in.serverLog = srv.LogTail
	default:
		return nil, fmt.Errorf("unknown server %q", r.server)
	}

	var comp *exec.Cmd
	switch r.target {
	case targetNull:
		comp = exec.Command(bins.bench, "null", "-server", compAddr, "-domain", componentDomain, "-secret", secret)
	case targetNullIDs:
		comp = exec.Command(bins.bench, "null", "-ids", "-server", compAddr, "-domain", componentDomain, "-secret", secret)
	case targetNullPresence:
		comp = exec.Command(bins.bench, "null", "-ids", "-presence", "-server", compAddr, "-domain", componentDomain, "-secret", secret)
	case targetChorus, targetChorusUnicast:
		comp = exec.Command(bins.chorus)
		comp.Env = append(os.Environ(),
			"CHORUS_DOMAIN="+componentDomain,
			"CHORUS_SECRET="+secret,
			"CHORUS_SERVER="+compAddr,
			"CHORUS_STORE=sqlite://"+filepath.Join(dir, "chorus.db"),
			"CHORUS_LOG_LEVEL=warn",
			"CHORUS_HTTP_ADDR=",
			// Prosody's and ejabberd's MUCs (as configured here) limit
			// neither a user's rate nor a room's size; nor should Chorus
			// for the comparison.
			"CHORUS_MSG_RATE=1000000",
			"CHORUS_MSG_BURST=1000000",
			"CHORUS_PRESENCE_RATE=1000000",
			"CHORUS_PRESENCE_BURST=1000000",
			"CHORUS_MAX_OCCUPANTS=100000",
			"CHORUS_ROOMS_PER_USER=100000",
			// The store is SQLite in both profiles; rooms are persistent,
			// and so archived, when the scenario's -persistent makes them.
			"CHORUS_MULTICAST="+chorusMulticast(r.target),
		)
	}
	if comp != nil {
		in.compOutput = filepath.Join(dir, r.target+".out")
		f, err := os.Create(in.compOutput)
		if err != nil {
			in.close()
			return nil, err
		}
		comp.Stdout, comp.Stderr = f, f
		comp.Dir = dir
		err = comp.Start()
		f.Close()
		if err != nil {
			in.close()
			return nil, fmt.Errorf("%s: %w", r.target, err)
		}
		exited := make(chan struct{})
		go func() { comp.Wait(); close(exited) }()
		in.compPID = comp.Process.Pid
		in.closers = append(in.closers, func() error { return stopProcess(comp, exited) })
	}
	if err := waitReady(ctx, in.c2s, in.muc, 30*time.Second); err != nil {
		err = in.diagnose(fmt.Errorf("%s on %s not answering joins: %w", r.target, r.server, err), r.target)
		in.close()
		return nil, err
	}
	return in, nil
}

// chorusMulticast is CHORUS_MULTICAST for a Chorus target: auto uses the
// server's XEP-0033 service when it offers one, off sends one stanza per
// occupant.
func chorusMulticast(target string) string {
	if target == targetChorusUnicast {
		return "off"
	}
	return "auto"
}

// serverMulticast reports whether the server offers XEP-0033 to the
// target: Prosody with the module from contrib/prosody, ejabberd with
// mod_multicast, each open to the component only.
func serverMulticast(target string) bool { return target == targetChorus }

// stopGrace is how long a component may take to stop after SIGTERM. Right
// after a run with thousands of occupants it may still be handling their
// departures.
const stopGrace = 15 * time.Second

// stopProcess ends a component with SIGTERM, then SIGKILL after stopGrace.
func stopProcess(cmd *exec.Cmd, exited <-chan struct{}) error {
	select {
	case <-exited:
		return nil
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(stopGrace):
	}
	cmd.Process.Kill()
	<-exited
	return fmt.Errorf("%s did not stop within %v of SIGTERM; killed it", filepath.Base(cmd.Path), stopGrace)
}

// waitReady joins a probe room until the MUC service answers with a
// self-presence: the server is up and, for a component, the component has
// connected. Before that the server answers with an error presence.
func waitReady(ctx context.Context, c2s, muc string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for attempt := 0; ; attempt++ {
		if last = probeJoin(ctx, c2s, muc, attempt); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %v: %w", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func probeJoin(ctx context.Context, c2s, muc string, attempt int) error {
	c, err := scansion.Dial(ctx, c2s, fmt.Sprintf("probe%d@%s", attempt, host), "probe")
	if err != nil {
		return err
	}
	defer c.Close()
	room := "probe@" + muc
	nick := fmt.Sprintf("probe%d", attempt)
	if err := c.Send(stanza.MustParse(`<presence to='` + room + `/` + nick + `'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`)); err != nil {
		return err
	}
	for {
		st, err := c.Next(ctx, 5*time.Second)
		if err != nil {
			return err
		}
		if st.Local != "presence" || !strings.HasPrefix(st.Attr("from"), room) {
			continue
		}
		if st.Attr("type") == "error" {
			return fmt.Errorf("join refused: %s", st)
		}
		if st.Attr("from") == room+"/"+nick {
			c.Send(stanza.MustParse(`<presence type='unavailable' to='` + room + `/` + nick + `'/>`))
			return nil
		}
	}
}

// runOne starts a fresh instance, runs one scenario of the load tool
// against it and returns the tool's JSON lines.
func runOne(ctx context.Context, bins binaries, dir string, r run, o compareOpts) ([][]byte, error) {
	in, err := startInstance(ctx, bins, dir, r)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := in.close(); err != nil {
			fmt.Fprintf(os.Stderr, "compare: %s: %v\n", r.label(), err)
		}
	}()
	pids := fmt.Sprintf("server=%d", in.serverPID)
	if in.compPID != 0 {
		pids += fmt.Sprintf(",component=%d", in.compPID)
	}
	args := append([]string{r.scenario,
		"-server", in.c2s, "-domain", host, "-muc", in.muc,
		"-prefix", r.prefix, "-pids", pids, "-label", r.label()}, r.args...)
	// Logging in thousands of clients takes a while on a small machine;
	// the bound only stops a run that hangs.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute+o.duration)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.bench, args...)
	cmd.Stderr = os.Stderr // the tool's progress
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	err = cmd.Run()
	var lines [][]byte
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 && l[0] == '{' {
			lines = append(lines, bytes.Clone(l))
		}
	}
	if err != nil {
		err = in.diagnose(fmt.Errorf("chorus-bench %s: %w", r.scenario, err), r.target)
	}
	return lines, err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// facts describe the machine and software a comparison ran on; the first
// line of -out.
type facts struct {
	Scenario string            `json:"scenario"` // "machine"
	Date     string            `json:"date"`
	CPU      string            `json:"cpu"`
	Cores    int               `json:"cores"`
	Kernel   string            `json:"kernel"`
	Go       string            `json:"go"`
	Chorus   string            `json:"chorus"`
	Versions map[string]string `json:"versions"`
}

func machineFacts(ctx context.Context, root string) facts {
	f := facts{Scenario: "machine", Date: time.Now().UTC().Format(time.RFC3339), Cores: runtime.NumCPU(),
		Go: runtime.Version(), Versions: map[string]string{}}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				f.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	}
	// dpkg-query prints the packages it knows and complains about the
	// others; either way the output says what is installed.
	out, _ := exec.CommandContext(ctx, "dpkg-query", "-W", "prosody", "ejabberd").Output()
	for line := range strings.SplitSeq(string(out), "\n") {
		if name, ver, ok := strings.Cut(line, "\t"); ok && ver != "" {
			f.Versions[name] = ver
		}
	}
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		f.Chorus = strings.TrimSpace(string(out))
	}
	return f
}

// result is one JSON line of the load tool, decoded into the scenario's
// own result type; the other two stay zero.
type result struct {
	Scenario string `json:"scenario"`
	Label    string `json:"label"`
	Round    int    `json:"round"` // compare's round, with -rounds above 1
	Fanout   bench.FanoutResult
	Join     bench.JoinResult
	Memory   bench.MemoryResult
	MAM      bench.MAMResult
}

// server and target split the label compare gives each run.
func (r result) server() string { s, _, _ := strings.Cut(r.Label, "/"); return s }
func (r result) target() string { _, t, _ := strings.Cut(r.Label, "/"); return t }

// parseResults reads JSON lines, skipping blank lines, lines that are not
// objects and the machine line.
func parseResults(rd io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(rd)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var r result
		if err := json.Unmarshal(line, &r); err != nil {
			return out, fmt.Errorf("line %d: %w", n, err)
		}
		var into any
		switch r.Scenario {
		case "fanout":
			into = &r.Fanout
		case "join":
			into = &r.Join
		case "memory":
			into = &r.Memory
		case "mam":
			into = &r.MAM
		default:
			continue // the machine line, or a scenario this table does not show
		}
		if err := json.Unmarshal(line, into); err != nil {
			return out, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// row is one line of the table: a value taken from the result of the
// matching scenario, for each target.
type row struct {
	name  string
	match func(result) bool
	value func(result) (float64, bool) // nil: the note alone, no ratio
	note  func(result) string          // beside the value, may be ""
	// skip, when set, says why a target has no figure in this row by
	// design (rather than a failed or missing run); "" for the others.
	skip func(target string) string
}

func lookup(m map[string]float64, key string) (float64, bool) {
	v, ok := m[key]
	return v, ok
}

// sum adds the server's and the component's figures; the own MUC has no
// component, so its server figure is the total.
func sum(m map[string]float64, target string) (float64, bool) {
	s, ok := m["server"]
	if !ok {
		return 0, false
	}
	if target == targetOwn {
		return s, true
	}
	c, ok := m["component"]
	return s + c, ok
}

func rows(o compareOpts) []row {
	var rs []row
	for _, n := range o.occupants {
		if !o.runs(scenarioFanout) {
			break
		}
		isFan := func(r result) bool { return r.Scenario == "fanout" && r.Fanout.Occupants == n && r.Fanout.Rooms == 1 }
		rs = append(rs,
			row{name: fmt.Sprintf("fan-out 1×%d, deliveries/s", n), match: isFan,
				value: func(r result) (float64, bool) { return r.Fanout.DeliveriesPerSec, r.Fanout.Seconds > 0 },
				note: func(r result) string {
					s := ""
					if c, ok := r.Fanout.CPUCores["tool"]; ok {
						s = fmt.Sprintf("tool %.2f cores", c)
					}
					if r.Fanout.Lost > 0 {
						s = strings.TrimPrefix(s+fmt.Sprintf(", %d lost", r.Fanout.Lost), ", ")
					}
					return s
				}},
			row{name: fmt.Sprintf("fan-out 1×%d, CPU cores, server / component", n), match: isFan,
				note: func(r result) string {
					s, ok := r.Fanout.CPUCores["server"]
					if !ok {
						return ""
					}
					if c, ok := r.Fanout.CPUCores["component"]; ok {
						return fmt.Sprintf("%.2f / %.2f", s, c)
					}
					return fmt.Sprintf("%.2f", s)
				}},
			row{name: fmt.Sprintf("fan-out 1×%d, p99 latency ms", n), match: isFan,
				value: func(r result) (float64, bool) { return r.Fanout.LatencyMS.P99, r.Fanout.Seconds > 0 }},
			row{name: fmt.Sprintf("fan-out 1×%d, CPU µs/delivery, server+component", n), match: isFan,
				value: func(r result) (float64, bool) {
					c, ok := sum(r.Fanout.CPUCores, r.target())
					if !ok || r.Fanout.DeliveriesPerSec <= 0 {
						return 0, false
					}
					return c / r.Fanout.DeliveriesPerSec * 1e6, true
				}},
		)
	}
	if o.runs(scenarioJoin) {
		isJoin := func(r result) bool { return r.Scenario == "join" }
		name := fmt.Sprintf("join storm (%d into 1 room), joins/s", o.joins)
		if o.deployed() {
			name = fmt.Sprintf("join storm (%d into 1 room, %d messages of history), joins/s", o.joins, deployedHistory)
		}
		rs = append(rs,
			row{name: name, match: isJoin,
				value: func(r result) (float64, bool) {
					return r.Join.JoinsPerSec, r.Join.Seconds > 0 || r.Join.JoinsPerSec > 0
				}},
			row{name: "join, CPU ms/join, server", match: isJoin,
				value: func(r result) (float64, bool) { return lookup(r.Join.CPUMsPerJoin, "server") }},
			row{name: "join, CPU ms/join, component", match: isJoin,
				value: func(r result) (float64, bool) { return lookup(r.Join.CPUMsPerJoin, "component") }},
			row{name: "join, CPU ms/join, server+component", match: isJoin,
				value: func(r result) (float64, bool) { return sum(r.Join.CPUMsPerJoin, r.target()) }},
		)
	}
	if o.runs(scenarioMemory) {
		isMem := func(r result) bool { return r.Scenario == "memory" }
		rs = append(rs,
			row{name: fmt.Sprintf("memory (%d in %d rooms), bytes/occupant, server", o.memOccupants, o.memRooms), match: isMem,
				value: func(r result) (float64, bool) { return lookup(r.Memory.BytesPerOccupant, "server") }},
			row{name: "memory, bytes/occupant, component", match: isMem,
				value: func(r result) (float64, bool) { return lookup(r.Memory.BytesPerOccupant, "component") }},
			row{name: "memory, bytes/occupant, server+component", match: isMem,
				value: func(r result) (float64, bool) { return sum(r.Memory.BytesPerOccupant, r.target()) }},
		)
	}
	if o.runs(scenarioMAM) {
		isMAM := func(r result) bool { return r.Scenario == "mam" }
		noArchive := func(target string) string {
			if isNull(target) {
				return "skipped: no archive"
			}
			return ""
		}
		rs = append(rs,
			row{name: fmt.Sprintf("MAM query storm (%d occupants × %d pages of %d), queries/s", o.mamOccupants, mamPages, mamPageSize),
				match: isMAM, skip: noArchive,
				value: func(r result) (float64, bool) { return r.MAM.QueriesPerSec, r.MAM.Queries > 0 },
				note: func(r result) string {
					if want := int64(r.MAM.Occupants * r.MAM.Pages * r.MAM.PageSize); r.MAM.Results < want {
						return fmt.Sprintf("%d of %d messages", r.MAM.Results, want)
					}
					return ""
				}},
			row{name: "MAM query, p50 latency ms", match: isMAM, skip: noArchive,
				value: func(r result) (float64, bool) { return r.MAM.LatencyMS.P50, r.MAM.Queries > 0 }},
			row{name: "MAM query, p99 latency ms", match: isMAM, skip: noArchive,
				value: func(r result) (float64, bool) { return r.MAM.LatencyMS.P99, r.MAM.Queries > 0 }},
			row{name: "MAM query, CPU ms/query, server+component", match: isMAM, skip: noArchive,
				value: func(r result) (float64, bool) {
					c, ok := sum(r.MAM.CPUSeconds, r.target())
					if !ok || r.MAM.Queries <= 0 {
						return 0, false
					}
					return c * 1000 / float64(r.MAM.Queries), true
				}},
		)
	}
	return rs
}

var targetTitles = map[string]string{targetOwn: "own MUC", targetNull: "null", targetNullIDs: "null-ids",
	targetNullPresence: "null-presence", targetChorus: "Chorus", targetChorusUnicast: "Chorus unicast"}

// serverTitle names a server with its package version when known.
func serverTitle(name string, f facts) string {
	t := map[string]string{"prosody": "Prosody", "ejabberd": "ejabberd"}[name]
	if t == "" {
		t = name
	}
	if v := f.Versions[name]; v != "" {
		t += " " + v
	}
	return t
}

// renderMarkdown writes the machine facts and, per server, a table of the
// scenarios against each target with the ratios Chorus/null and
// Chorus/own.
func renderMarkdown(w io.Writer, f facts, o compareOpts, servers, skipped []string, results []result, failures []string) {
	fmt.Fprintf(w, "## Chorus against the servers' own MUC and a null component\n\n")
	fmt.Fprintf(w, "- Machine: %s, %d cores, Linux %s\n", orDash(f.CPU), f.Cores, orDash(f.Kernel))
	fmt.Fprintf(w, "- Go: %s; Chorus: %s\n", f.Go, orDash(f.Chorus))
	var vers []string
	for _, s := range servers {
		vers = append(vers, serverTitle(s, f))
	}
	fmt.Fprintf(w, "- Servers: %s", strings.Join(vers, ", "))
	if len(skipped) > 0 {
		fmt.Fprintf(w, " (skipped, not installed: %s)", strings.Join(skipped, ", "))
	}
	fmt.Fprintf(w, "\n- Run %s. Each scenario on a fresh server (log level warn) and component; "+
		"load tool, server and component are separate processes on the same machine.\n", orDash(f.Date))
	if o.rounds > 1 {
		fmt.Fprintf(w, "- Rounds: %d, one after the other, each running every target in turn. A figure is the median "+
			"of the rounds, its range in brackets; a ratio is the median of the ratios within each round.\n", o.rounds)
	}
	fmt.Fprintf(w, "- Fan-out: 1 room, 1 sender as fast as its echoes come back, %v measured. "+
		"\"tool\" is the load tool's CPU; near %d cores the machine, not the service, is the limit "+
		"(and a server using one core, such as Prosody, is saturated at 1).\n"+
		"- null is chorus-bench's null component: it answers a join only to the joiner (no presence broadcast, "+
		"no history), so the join and memory rows against it are a floor, not like for like; "+
		"null-ids adds to each delivery the stanza-id and occupant-id a full service sends; "+
		"null-presence adds to null-ids a join's stanzas as a full service sends them (presence to every occupant, "+
		"the occupant list, the subject), the ceiling of a join. "+
		"Chorus uses the server's XEP-0033 service when it offers one; Chorus unicast never does.\n",
		o.duration, f.Cores)
	if o.deployed() {
		fmt.Fprintf(w, "- Profile deployed: every room persistent; the own MUCs and Chorus archive every message "+
			"(Prosody: mod_muc_mam on SQLite; ejabberd: mod_mam on Mnesia; Chorus: its SQLite store); "+
			"join storm joiners take %d messages of history and a join ends with the subject "+
			"(null and null-ids send none: their joins are as in the default profile). "+
			"The MAM storm has every occupant page back through the last %d messages, %d at a time, all at once; "+
			"the null component keeps no archive.\n", deployedHistory, mamPages*mamPageSize, mamPageSize)
	} else {
		fmt.Fprintf(w, "- Profile default: temporary rooms, no archive, joins without history.\n")
	}
	fmt.Fprintln(w)

	var ratioBases []string
	if slices.Contains(o.targets, targetChorus) {
		for _, b := range baselines {
			if slices.Contains(o.targets, b) {
				ratioBases = append(ratioBases, b)
			}
		}
	}
	for _, srv := range servers {
		fmt.Fprintf(w, "### %s\n\n", serverTitle(srv, f))
		head := []string{"Scenario"}
		for _, t := range o.targets {
			head = append(head, targetTitles[t])
		}
		for _, b := range ratioBases {
			head = append(head, "Chorus/"+b)
		}
		fmt.Fprintf(w, "| %s |\n|---|%s\n", strings.Join(head, " | "), strings.Repeat("--:|", len(head)-1))
		for _, rw := range rows(o) {
			cells := []string{rw.name}
			vals := map[string]map[int]float64{} // target -> round -> value
			for _, t := range o.targets {
				if rw.skip != nil {
					if why := rw.skip(t); why != "" {
						cells = append(cells, why)
						continue
					}
				}
				rs := findRounds(results, srv, t, rw.match)
				if len(rs) == 0 {
					cells = append(cells, "—")
					continue
				}
				c, v := cell(rw, rs)
				vals[t] = v
				cells = append(cells, c)
			}
			for _, b := range ratioBases {
				cells = append(cells, pairedRatio(vals[targetChorus], vals[b]))
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
		fmt.Fprintln(w)
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "Failed runs:\n\n")
		for _, f := range failures {
			fmt.Fprintf(w, "- %s\n", strings.ReplaceAll(strings.SplitN(f, "\n", 2)[0], "|", "/"))
		}
		fmt.Fprintln(w)
	}
}

// cell is a row's figure for one target over its rounds' results (at
// least one): the median value with its range and the note of the run
// nearest the median, and the values by round for the ratios (nil when
// none); a row of notes alone lists each round's note.
func cell(rw row, rs []result) (string, map[int]float64) {
	if rw.value == nil {
		var notes []string
		for _, r := range rs {
			notes = append(notes, orDash(rw.note(r)))
		}
		return strings.Join(notes, "; "), nil
	}
	var got []float64
	var with []result // the results behind got
	byRound := map[int]float64{}
	for _, r := range rs {
		if v, ok := rw.value(r); ok {
			byRound[r.Round] = v
			got = append(got, v)
			with = append(with, r)
		}
	}
	if len(got) == 0 {
		return "—", nil
	}
	m := median(got)
	mid := 0
	for i, v := range got {
		if math.Abs(v-m) < math.Abs(got[mid]-m) {
			mid = i
		}
	}
	var extra []string
	if len(got) > 1 {
		extra = append(extra, formatNumber(slices.Min(got))+"–"+formatNumber(slices.Max(got)))
	}
	if rw.note != nil {
		if n := rw.note(with[mid]); n != "" {
			extra = append(extra, n)
		}
	}
	c := formatNumber(m)
	if len(extra) > 0 {
		c += " (" + strings.Join(extra, "; ") + ")"
	}
	return c, byRound
}

// findRounds returns, for each round in order, the last result of server
// and target matching m.
func findRounds(results []result, server, target string, m func(result) bool) []result {
	last := map[int]result{}
	for _, r := range results {
		if r.server() == server && r.target() == target && m(r) {
			last[r.Round] = r
		}
	}
	rounds := slices.Sorted(maps.Keys(last))
	out := make([]result, 0, len(rounds))
	for _, n := range rounds {
		out = append(out, last[n])
	}
	return out
}

// pairedRatio formats the median over the rounds of a[round]/b[round],
// with their range when there are several; a dash when no round has both,
// b is not positive or a is negative (a memory delta lost in the noise).
// Dividing within a round, rather than median by median, keeps a drift of
// the machine between rounds out of the ratio.
func pairedRatio(a, b map[int]float64) string {
	var rs []float64
	for round, x := range a {
		if y, ok := b[round]; ok && y > 0 && x >= 0 {
			rs = append(rs, x/y)
		}
	}
	if len(rs) == 0 {
		return "—"
	}
	s := formatRatio(median(rs))
	if len(rs) > 1 {
		s += " (" + formatRatio(slices.Min(rs)) + "–" + formatRatio(slices.Max(rs)) + ")"
	}
	return s
}

func formatRatio(r float64) string { return strconv.FormatFloat(r, 'f', 2, 64) + "×" }

// median of vs (not empty), the mean of the middle two for an even count.
func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// formatNumber prints large figures as grouped integers and small ones
// with three significant digits.
func formatNumber(v float64) string {
	if v < 0 {
		return "-" + formatNumber(-v)
	}
	if v >= 1000 {
		s := strconv.FormatFloat(v, 'f', 0, 64)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
