package serverproc

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Process is one server program, run at most once at a time: started in
// its own process group, considered up when its listeners accept
// connections, and stopped with SIGTERM, then SIGKILL. Set the exported
// fields before the first Start; they are read, not changed.
type Process struct {
	// Name names the server in errors and in Logf, e.g. "prosody".
	Name string
	// Dir is the working directory; the program's standard output and
	// error are appended to Dir/Name.out.
	Dir string
	// LogPath is the server's own log, quoted when it fails to start.
	LogPath string
	// Command makes a new command for each start. Its Dir, Stdout, Stderr
	// and SysProcAttr are set by Start.
	Command func() *exec.Cmd
	// Addrs are the listeners, host:port, that must accept connections
	// before Start returns.
	Addrs []string
	// StartTimeout bounds the wait for Addrs; StopTimeout the wait after
	// SIGTERM.
	StartTimeout, StopTimeout time.Duration
	// Logf, if set, hears of a forced kill.
	Logf func(format string, args ...any)

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
}

// Start runs the program and waits until every one of Addrs accepts a
// connection. When the program exits first, or StartTimeout passes, Start
// leaves no process behind and returns an error quoting its output and
// the end of its log.
func (p *Process) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s: already running", p.Name)
	}
	out, err := os.OpenFile(p.outPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := p.Command()
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group keeps a terminal's Ctrl-C from reaching it
	// before the owner's cleanup does, and lets Stop reach its helpers.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited

	deadline := time.Now().Add(p.StartTimeout)
	for _, addr := range p.Addrs {
		for {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				p.cmd = nil
				return fmt.Errorf("%s exited during startup (%v); output:\n%s\nlog:\n%s",
					p.Name, cmd.ProcessState, p.output(), Tail(p.LogPath, 30))
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
				p.cmd = nil
				return fmt.Errorf("%s: %s not accepting connections after %v; output:\n%s\nlog:\n%s",
					p.Name, addr, p.StartTimeout, p.output(), Tail(p.LogPath, 30))
			}
		}
	}
	return nil
}

// Stop terminates the program (SIGTERM, then SIGKILL to its process group
// after StopTimeout) and waits for it. Stopping a stopped program does
// nothing.
func (p *Process) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	pgid := cmd.Process.Pid
	// Helpers the server started end on their own when it exits; killing
	// its process group makes sure. The group cannot have been recycled
	// while any member lives.
	defer syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-exited:
		return nil
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-time.After(p.StopTimeout):
	}
	if p.Logf != nil {
		p.Logf("%s did not stop within %v of SIGTERM; killed it", p.Name, p.StopTimeout)
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	<-exited
	return nil
}

// Kill ends the program with SIGKILL, as a crash or an OOM kill would:
// nothing is closed and nobody is told. It waits for the program to exit.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
	}
}

// PID is the running program's process ID, or 0 when it is stopped.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *Process) outPath() string { return filepath.Join(p.Dir, p.Name+".out") }

func (p *Process) output() string {
	b, _ := os.ReadFile(p.outPath())
	return string(bytes.TrimSpace(b))
}
