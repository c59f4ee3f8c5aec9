package serverproc

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestCommandMaxFiles(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip(err)
	}
	want := min(lim.Max, 4096)
	out, err := Command(want, "sh", "-c", "ulimit -n").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.FormatUint(want, 10) {
		t.Errorf("child's open-file limit %s, want %d", got, want)
	}
	// Zero leaves the command as exec.Command makes it.
	if c := Command(0, "sh", "-c", "true"); len(c.Args) != 3 {
		t.Errorf("args %q", c.Args)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 || ports[0] == ports[1] || ports[1] == ports[2] || ports[0] == ports[2] {
		t.Errorf("ports %v", ports)
	}
}

func TestTail(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	os.WriteFile(p, []byte("a\nb\nc\n"), 0o600)
	if got := Tail(p, 2); got != "b\nc\n" {
		t.Errorf("got %q", got)
	}
	if got := Tail(filepath.Join(p, "missing"), 2); !strings.HasPrefix(got, "(no log:") {
		t.Errorf("got %q", got)
	}
}

func TestInDir(t *testing.T) {
	given := t.TempDir()
	own, err := InDir(given, "x-", func(dir string) error {
		if dir != given {
			t.Errorf("ran in %s, want %s", dir, given)
		}
		return nil
	})
	if own || err != nil {
		t.Errorf("given directory: own %v, err %v", own, err)
	}

	var made string
	own, err = InDir("", "launch-test-", func(dir string) error { made = dir; return nil })
	if !own || err != nil {
		t.Fatalf("new directory: own %v, err %v", own, err)
	}
	if err := Close(func() error { return nil }, made, own); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(made); !os.IsNotExist(err) {
		t.Errorf("%s left after Close: %v", made, err)
	}

	failed := errors.New("no start")
	if _, err := InDir("", "launch-test-", func(dir string) error { made = dir; return failed }); err != failed {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(made); !os.IsNotExist(err) {
		t.Errorf("%s left after a failed start: %v", made, err)
	}
}
