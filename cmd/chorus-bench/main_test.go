package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestSubcommands(t *testing.T) {
	for _, name := range []string{"fanout", "join", "memory", "null"} {
		if subcommands[name] == nil {
			t.Errorf("subcommand %s is not registered", name)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "fanout: flag provided but not defined: -nope"},
		{[]string{"-occupants", "x"}, "fanout: invalid value"},
		{[]string{"extra"}, `fanout: unexpected argument "extra"`},
		{[]string{"-senders", "0"}, "fanout: -occupants, -senders"},
		{[]string{"-pids", "a=b"}, "fanout: -pids:"},
	} {
		err := runFanout(tc.args)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("fanout %v: %v; want one line starting %q", tc.args, err, tc.want)
		}
	}
	if err := runJoin([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("join -h: %v", err)
	}
}
