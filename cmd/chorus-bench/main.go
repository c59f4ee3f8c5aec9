// Command chorus-bench generates load against a Multi-User Chat service
// behind an XMPP server and prints one JSON line per result. Run
// "chorus-bench -h" for the subcommands and "chorus-bench <subcommand> -h"
// for their flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"

	"chorus/internal/bench"
)

// subcommands maps a subcommand's name to its entry point, which gets the
// arguments after the name. Other files of this package add theirs in
// init. An entry returns flag.ErrHelp after printing its usage for -h.
var subcommands = map[string]func(args []string) error{
	"fanout": runFanout,
	"join":   runJoin,
	"mam":    runMAM,
	"memory": runMemory,
	"null":   runNull,
}

func main() {
	args := os.Args[1:]
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			os.Exit(2)
		}
		return
	}
	run, ok := subcommands[args[0]]
	if !ok {
		fmt.Fprintf(os.Stderr, "chorus-bench: unknown subcommand %q; one of %s\n", args[0], strings.Join(names(), ", "))
		os.Exit(2)
	}
	// The memory scenario holds more than 10,000 connections.
	if _, err := bench.RaiseFileLimit(); err != nil {
		fmt.Fprintf(os.Stderr, "chorus-bench: %v\n", err)
	}
	err := run(args[1:])
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintf(os.Stderr, "chorus-bench: %v\n", err)
		os.Exit(2)
	}
}

func names() []string {
	var out []string
	for n := range subcommands {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func usage() {
	fmt.Fprintf(os.Stdout, `usage: chorus-bench <subcommand> [flags]

Load generator for a Multi-User Chat service behind an XMPP server (plain TCP,
SASL PLAIN). Each scenario prints one JSON line on stdout; progress goes to
stderr. Subcommands: %s.

  fanout   groupchat fan-out: deliveries/s, latency, losses, CPU
  join     join storm: joins/s, latency, CPU per join
  mam      archive query storm: queries/s and latency of XEP-0313 paging
  memory   memory per idle occupant of the measured processes
  null     a trivial MUC component, the ceiling any component can reach

Run "chorus-bench <subcommand> -h" for its flags.
`, strings.Join(names(), ", "))
}
