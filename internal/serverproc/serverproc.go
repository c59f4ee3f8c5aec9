// Package serverproc runs disposable servers as child processes of a program
// or a test: picking free loopback ports, starting the server with enough
// open files in its own process group, waiting until its listeners accept
// connections, stopping it (SIGTERM, then SIGKILL), reading the end of its
// log, and the lifetime of its directory. The sandbox's Prosody
// (serverproc/prosody) is built on it, and so are the test and load
// harnesses in internal/.
//
// It holds no test code: the chorus binary links it.
package serverproc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// Command is exec.Command(name, args...) that, when maxFiles is not zero,
// runs the program with an open-file limit (soft and hard) of maxFiles,
// capped at this process's hard limit. Go raises its own soft limit at
// start but execs children with the soft limit it was started with (often
// 1024), too few for a server taking thousands of clients.
//
// The limit is set by prlimit(1), which execs the program, so the command's
// process ID is the program's. Without prlimit, this process's own soft
// limit is raised instead, which its later children inherit too.
func Command(maxFiles uint64, name string, args ...string) *exec.Cmd {
	if maxFiles == 0 {
		return exec.Command(name, args...)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && maxFiles > lim.Max {
		maxFiles = lim.Max
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return exec.Command(name, args...) // Start reports it
	}
	if pl, err := exec.LookPath("prlimit"); err == nil {
		return exec.Command(pl, append([]string{fmt.Sprintf("--nofile=%d:%d", maxFiles, maxFiles), "--", path}, args...)...)
	}
	if lim.Cur < maxFiles {
		lim.Cur = maxFiles
		// Setting the limit explicitly also stops Go from lowering it
		// again for children.
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	return exec.Command(path, args...)
}

// FreePorts finds n distinct free loopback ports by listening on port 0.
// All listeners are held until every port is picked, so the n differ; the
// ports are closed again before FreePorts returns.
func FreePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Tail returns the last n lines of the file at path, or a note saying why
// it could not be read.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// InDir runs start in dir, or, when dir is empty, in a new temporary
// directory named after pattern (as os.MkdirTemp), which is removed again
// if start fails. own reports that the directory was made here: the caller
// removes it when the server is done (see Close).
func InDir(dir, pattern string, start func(dir string) error) (own bool, err error) {
	if dir != "" {
		return false, start(dir)
	}
	if dir, err = os.MkdirTemp("", pattern); err != nil {
		return false, err
	}
	if err := start(dir); err != nil {
		os.RemoveAll(dir)
		return false, err
	}
	return true, nil
}

// Close stops a server and removes its directory when InDir made it.
func Close(stop func() error, dir string, own bool) error {
	err := stop()
	if own {
		err = errors.Join(err, os.RemoveAll(dir))
	}
	return err
}
