package serverproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
