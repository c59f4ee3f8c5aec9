// Package serverproc holds what the disposable-server harnesses
// (internal/prosody, internal/ejabberd) share: picking free loopback ports
// and reading the end of a log.
package serverproc

import (
	"fmt"
	"net"
	"os"
	"strings"
)

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
