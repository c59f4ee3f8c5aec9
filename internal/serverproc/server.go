package serverproc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"time"
)

// Setup describes a disposable XMPP server to Server.Init.
type Setup struct {
	// Name names the server's files (Dir/Name.log, its log; Dir/Name.out,
	// its output) and the server in messages, e.g. "prosody".
	Name string
	// Host is the virtual host clients log in to, default "localhost";
	// Component the external component's domain, default "conference." +
	// Host; Secret its secret, default random.
	Host, Component, Secret string
	// Dir is the existing directory holding the server's files.
	Dir string
	// C2SPort is the client port; zero picks a free one.
	C2SPort int
	// Command, StartTimeout, StopTimeout and Logf are the Process's.
	Command                   func() *exec.Cmd
	StartTimeout, StopTimeout time.Duration
	Logf                      func(format string, args ...any)
}

// Server is what every disposable XMPP server has: the names it was set
// up with, a client and a component listener on loopback, a directory and
// a process. The Prosody launcher and the ejabberd harness embed it.
type Server struct {
	host, component, secret string
	dir                     string
	ownDir                  bool // made by Launch, removed by Close
	c2sPort, compPort       int
	proc                    Process
}

// Init sets s up, with the defaults above, and picks its ports; it starts
// nothing.
func (s *Server) Init(c Setup) error {
	ports, err := FreePorts(2)
	if err != nil {
		return err
	}
	s.c2sPort, s.compPort = ports[0], ports[1]
	if c.C2SPort != 0 {
		s.c2sPort = c.C2SPort
		if s.compPort == s.c2sPort {
			s.compPort = ports[0]
		}
	}
	if c.Host == "" {
		c.Host = "localhost"
	}
	if c.Component == "" {
		c.Component = "conference." + c.Host
	}
	if c.Secret == "" {
		b := make([]byte, 12)
		rand.Read(b)
		c.Secret = hex.EncodeToString(b)
	}
	s.host, s.component, s.secret, s.dir = c.Host, c.Component, c.Secret, c.Dir
	s.proc = Process{
		Name:         c.Name,
		Dir:          c.Dir,
		LogPath:      filepath.Join(c.Dir, c.Name+".log"),
		Command:      c.Command,
		Addrs:        []string{s.C2SAddr(), s.ComponentAddr()},
		StartTimeout: c.StartTimeout,
		StopTimeout:  c.StopTimeout,
		Logf:         c.Logf,
	}
	return nil
}

// C2SAddr is the client listener, host:port.
func (s *Server) C2SAddr() string { return net.JoinHostPort("127.0.0.1", fmt.Sprint(s.c2sPort)) }

// ComponentAddr is the component listener, host:port.
func (s *Server) ComponentAddr() string {
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(s.compPort))
}

// C2SPort and ComponentPort are the listeners' ports, for a config.
func (s *Server) C2SPort() int       { return s.c2sPort }
func (s *Server) ComponentPort() int { return s.compPort }

// Secret is the component secret.
func (s *Server) Secret() string { return s.secret }

// Host is the virtual host clients log in to.
func (s *Server) Host() string { return s.host }

// Component is the external component's domain.
func (s *Server) Component() string { return s.component }

// Dir is the directory holding the server's config, data and log.
func (s *Server) Dir() string { return s.dir }

// PID is the running server's process ID, or 0 when it is stopped. Any
// helpers it runs are its descendants.
func (s *Server) PID() int { return s.proc.PID() }

// LogPath is the server's log file.
func (s *Server) LogPath() string { return s.proc.LogPath }

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string { return Tail(s.proc.LogPath, n) }

// Start starts a prepared or stopped server and waits until its client
// and component ports accept connections.
func (s *Server) Start() error { return s.proc.Start() }

// Stop terminates the server (SIGTERM, then SIGKILL after the Setup's
// StopTimeout) and waits for it. Stopping a stopped server does nothing.
func (s *Server) Stop() error { return s.proc.Stop() }

// Restart stops the server if it runs and starts it again on the same
// ports, with the same config and data.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Crash kills the server with SIGKILL, as a crash or an OOM kill would: no
// session is closed and nobody is told, then starts it again on the same
// ports. Fault tests use it to leave ghosts behind.
func (s *Server) Crash() error {
	s.proc.Kill()
	return s.Start()
}

// Close stops the server and, when Launch made its directory, removes it.
func (s *Server) Close() error { return Close(s.Stop, s.dir, s.ownDir) }

// A server is a Server or embeds one.
type server interface{ base() *Server }

func (s *Server) base() *Server { return s }

// Launch prepares a server in dir, or when dir is empty in a new temporary
// directory named after pattern (as os.MkdirTemp), and starts it. When
// that fails it leaves neither a process nor a directory it made behind;
// otherwise the server's Close removes such a directory.
func Launch[S server](dir, pattern string, prepare func(dir string) (S, error)) (S, error) {
	var s S
	own, err := InDir(dir, pattern, func(dir string) error {
		var err error
		if s, err = prepare(dir); err != nil {
			return err
		}
		return s.base().Start() // which leaves no process behind when it fails
	})
	if err != nil {
		var none S
		return none, err
	}
	s.base().ownDir = own
	return s, nil
}
