package bench

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestParsePids(t *testing.T) {
	got, err := ParsePids(" prosody=12, 34 ,chorus=56,")
	if err != nil || len(got) != 3 || got[0] != (Proc{"prosody", 12}) || got[1] != (Proc{"34", 34}) || got[2] != (Proc{"chorus", 56}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"x", "a=b", "a=1,a=2", "tool=3", "=4", "0"} {
		if _, err := ParsePids(bad); err == nil {
			t.Errorf("ParsePids(%q) accepted it", bad)
		}
	}
}

// A busy child counts in its parent's tree.
func TestTreeCPU(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	// The shell waits on a busy loop of its own child.
	cmd := exec.Command(sh, "-c", "sh -c 'while :; do :; done' & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	pids, err := tree(cmd.Process.Pid)
	defer func() {
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		_ = cmd.Wait()
	}()
	if err != nil || len(pids) < 2 {
		t.Fatalf("tree = %v, %v; want the shell and its child", pids, err)
	}
	cpu, err := TreeCPU(cmd.Process.Pid)
	if err != nil || cpu < 50*time.Millisecond {
		t.Errorf("TreeCPU = %v, %v; want the child's busy loop", cpu, err)
	}
	kib, err := TreeRSS(cmd.Process.Pid)
	if err != nil || kib <= 0 {
		t.Errorf("TreeRSS = %v, %v", kib, err)
	}
	if _, err := TreeCPU(1 << 30); err == nil {
		t.Error("no error for a missing process")
	}
	if SelfCPU() <= 0 {
		t.Error("SelfCPU is zero")
	}
	if _, err := sampleRSS([]Proc{{"me", os.Getpid()}}); err != nil {
		t.Error(err)
	}
}
