package fakehost

import (
	"context"
	"errors"
	"net"
	"sync"

	"chorus/stanza"
)

// Options configure a Host.
type Options struct {
	// Domain is the host's own domain, the one clients log in to.
	// Default "localhost".
	Domain string
	// ComponentDomain is the domain the external component serves.
	// Default "conference.localhost".
	ComponentDomain string
	// Secret is the component's shared secret.
	Secret string
	// Logf, if set, receives a line per connection event and routed stanza.
	Logf func(format string, args ...any)
	// Multicast, if set, gives the host a XEP-0033 multicast service.
	Multicast *MulticastOptions
	// OnRoute, if set, sees every stanza the host routes (after the
	// component's have been checked), in order; it must not block.
	OnRoute func(st *stanza.Element)
}

// Host is a running fake server. Its methods are safe for concurrent use.
type Host struct {
	opts   Options
	c2sLn  net.Listener
	compLn net.Listener
	wg     sync.WaitGroup

	mu         sync.Mutex
	closed     bool
	conns      map[net.Conn]struct{}
	sessions   map[string]*c2sSession // bound clients by full JID
	comp       *stream                // the authenticated component, if any
	compSig    chan struct{}          // closed and replaced when comp changes
	mcRefuse   bool                   // see SetMulticastRefuse
	mcHeld     []*stanza.Element      // the service's copies held (MulticastOptions.Hold)
	mcReleased bool                   // ReleaseMulticast has been called
}

// Start listens on two loopback ports, one for clients and one for the
// component, and serves them until Close.
func Start(opts Options) (*Host, error) {
	if opts.Domain == "" {
		opts.Domain = "localhost"
	}
	if opts.ComponentDomain == "" {
		opts.ComponentDomain = "conference.localhost"
	}
	c2sLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	compLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = c2sLn.Close()
		return nil, err
	}
	h := &Host{
		opts:     opts,
		c2sLn:    c2sLn,
		compLn:   compLn,
		conns:    make(map[net.Conn]struct{}),
		sessions: make(map[string]*c2sSession),
		compSig:  make(chan struct{}),
	}
	h.wg.Add(2)
	go h.serve(c2sLn, h.serveC2S)
	go h.serve(compLn, h.serveComponent)
	return h, nil
}

// C2SAddr is the host:port clients connect to.
func (h *Host) C2SAddr() string { return h.c2sLn.Addr().String() }

// ComponentAddr is the host:port the component connects to.
func (h *Host) ComponentAddr() string { return h.compLn.Addr().String() }

// Domain is the host's own domain.
func (h *Host) Domain() string { return h.opts.Domain }

// ComponentDomain is the domain served by the component.
func (h *Host) ComponentDomain() string { return h.opts.ComponentDomain }

// ComponentConnected reports whether a component has completed its
// handshake and is still attached.
func (h *Host) ComponentConnected() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.comp != nil
}

// WaitComponent blocks until a component is attached (connected is true)
// or detached (false), or ctx ends.
func (h *Host) WaitComponent(ctx context.Context, connected bool) error {
	for {
		h.mu.Lock()
		now, sig := h.comp != nil, h.compSig
		h.mu.Unlock()
		if now == connected {
			return nil
		}
		select {
		case <-sig:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// DropComponent cuts the component's connection without a stream error,
// as a crashed server or network would. It reports whether one was
// attached; when it returns, ComponentConnected is false.
func (h *Host) DropComponent() bool {
	h.mu.Lock()
	s := h.comp
	if s != nil {
		h.setComponentLocked(nil)
	}
	h.mu.Unlock()
	if s != nil {
		s.close()
	}
	return s != nil
}

// Close stops listening, closes every connection and waits for all of the
// host's goroutines to finish.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	conns := make([]net.Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()

	err := errors.Join(h.c2sLn.Close(), h.compLn.Close())
	for _, c := range conns {
		_ = c.Close()
	}
	h.wg.Wait()
	return err
}

func (h *Host) serve(ln net.Listener, handle func(net.Conn)) {
	defer h.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !h.track(c) {
			_ = c.Close()
			return
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer h.untrack(c)
			handle(c)
		}()
	}
}

// track registers c so Close can end it; it fails once the host is closed.
func (h *Host) track(c net.Conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Host) untrack(c net.Conn) {
	_ = c.Close()
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

func (h *Host) logf(format string, args ...any) {
	if h.opts.Logf != nil {
		h.opts.Logf(format, args...)
	}
}
