package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stream"

	"chorus/room"
	"chorus/stanza"
)

// Handler takes one inbound stanza (namespace folded, from/to as received)
// and returns what to send.
//
// HandleAt and Shutdown are never called concurrently with each other by
// Run; the stanzas they return are written in the order they are returned.
type Handler interface {
	// HandleAt handles st; to is its 'to' as room.ParseAddress found it
	// when the link read it, the zero Address when that is no JID. The
	// link parses it once, to pick the room's worker, and passes it on.
	HandleAt(to room.Address, st *stanza.Element) []room.Out
	// Shutdown returns the stanzas to send when the service stops
	// (unavailable presence with status 332 for every occupant).
	Shutdown() []room.Out
}

// Defaults for the zero values of Config.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 30 * time.Second
)

// Timeouts of the link. A server that does not complete the handshake or
// take our output within these is treated as gone.
const (
	dialTimeout      = 10 * time.Second
	handshakeTimeout = 15 * time.Second
	writeTimeout     = 30 * time.Second
	// closeWait bounds how long shutdown waits for the server to close its
	// side of the stream after we closed ours.
	closeWait = 2 * time.Second
)

// Config describes the component link.
type Config struct {
	// Domain is the component's address, e.g. conference.example.com.
	Domain string
	// Secret is the shared secret the server expects in the handshake.
	Secret string
	// Server is the host:port of the server's component listener.
	Server string
	// Logger receives one line per link event; stanzas are logged at debug.
	Logger zerolog.Logger
	// MaxStanzaBytes bounds one inbound stanza (see stanza.Limits.MaxBytes);
	// larger stanzas are refused with policy-violation. Zero means
	// stanza.DefaultLimits.
	MaxStanzaBytes int
	// MinBackoff and MaxBackoff bound the wait between connection attempts;
	// zero means DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// WriteTimeout is how long a write may block before the server is
	// taken to have stopped reading and the link is dropped; zero means
	// 30 s.
	WriteTimeout time.Duration
	// OnState, if set, is called with true when the handshake succeeded and
	// with false when that connection ends. It is called from Run's
	// goroutine and must not block.
	OnState func(up bool)
	// Metrics, if set, counts the link's stanzas and follows its state.
	Metrics *Metrics
	// TrimAfter is how long the link must be quiet after traffic before
	// free memory is returned to the operating system; zero means
	// DefaultTrimAfter, negative never.
	TrimAfter time.Duration
	// Sender, if set, is attached to each link while it is up, so that
	// stanzas no inbound stanza caused (an operator's) can be sent.
	Sender *Sender
	// Multicast, if set, makes each link look for the server's XEP-0033
	// multicast service and send a message or presence for several
	// recipients once, through it (see multicast.go); without one found,
	// or after it refused a stanza, one stanza per recipient as usual.
	Multicast bool
}

// ErrHalted, as the cause of the cancellation of Run's context
// (context.WithCancelCause), stops Run at once: the connection is closed
// without h.Shutdown, without the stanzas still queued and without closing
// the stream, for an instance whose rooms another instance has taken over.
var ErrHalted = errors.New("component: halted")

// Run keeps the component connected to cfg.Server and serves h until ctx is
// cancelled. On cancellation it sends h.Shutdown's stanzas (when connected),
// closes the stream and returns nil; but see ErrHalted. It returns an error only for an unusable
// Config; connection failures are logged and retried with backoff.
func Run(ctx context.Context, cfg Config, h Handler) error {
	if h == nil {
		return errors.New("component: nil handler")
	}
	domain, err := jid.Parse(cfg.Domain)
	if err != nil || domain.Localpart() != "" || domain.Resourcepart() != "" {
		return fmt.Errorf("component: domain %q is not a bare domain", cfg.Domain)
	}
	if cfg.Secret == "" {
		return errors.New("component: empty secret")
	}
	if cfg.Server == "" {
		return errors.New("component: empty server address")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	log := cfg.Logger.With().Str("domain", domain.String()).Str("server", cfg.Server).Logger()
	r := &runner{cfg: cfg, h: h, log: log, domain: domain}
	if cfg.TrimAfter == 0 {
		cfg.TrimAfter = DefaultTrimAfter
	}
	if cfg.TrimAfter > 0 {
		tctx, stop := context.WithCancel(ctx)
		defer stop()
		go r.trim.run(tctx, cfg.TrimAfter, freeOSMemory)
	}

	// failures counts the attempts in a row that never got the link up.
	// Only they make the wait grow: a link that came up and was lost
	// (a stream error, a server restart, however short it lived) is
	// retried after the shortest wait, so that a user who can end the
	// link cannot also make every outage after it longer.
	failures := 0
	for {
		up, err := r.connectOnce(ctx)
		if ctx.Err() != nil {
			log.Info().Msg("component stopped")
			return nil
		}
		if up {
			failures = 0
		} else {
			failures++
		}
		wait := backoffWait(cfg.MinBackoff, cfg.MaxBackoff, failures, rand.N[time.Duration])
		r.logFailure(err, up, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			log.Info().Msg("component stopped")
			return nil
		case <-t.C:
		}
	}
}

// runner holds what outlives a single connection.
type runner struct {
	cfg    Config
	h      Handler
	log    zerolog.Logger
	domain jid.JID
	// wasUp is set once a link has been up: later links are reconnects.
	wasUp bool
	trim  idleTrim
}

// Resyncer is a Handler that wants to check its state when the link comes
// back after being lost: stanzas in flight then were lost, and sessions may
// have ended meanwhile (XEP-0114 has no stream resumption).
type Resyncer interface {
	Reconnected() []room.Out
}

// FirstResyncer is a Resyncer that may want the check on the first link
// too: when it started with the state of an earlier run (occupants that
// room.Registry.Restore brought back), whose sessions may have ended while
// no service was there.
type FirstResyncer interface {
	Resyncer
	ResyncFirst() bool
}

func resyncFirst(h Handler) bool {
	f, ok := h.(FirstResyncer)
	return ok && f.ResyncFirst()
}

// Reader is a Handler that tells the stanzas that only read what they are
// addressed to (room.Registry.ReadOnly). While a change to a room waits
// for the store, that room's later reads from other senders are handled
// meanwhile; a sender's own stanzas always keep their order.
type Reader interface {
	ReadOnly(to room.Address, st *stanza.Element) bool
}

// Timed is a Handler with work due at times of its own, such as presence
// updates deferred by a rate limit. While a link is up, Due is polled
// every timerTick for the addresses (rooms) whose time has come, and Fire
// runs each in that room's turn: after the stanzas to it read before, so
// the room's order holds.
type Timed interface {
	Due(now time.Time) []string
	Fire(addr string) []room.Out
}

// timerTick is how often Due is polled: fine enough for rate limits that
// refill in seconds, and a lock and a map lookup when nothing is due.
const timerTick = 100 * time.Millisecond

// meterLimit is how many bytes may arrive without a complete stanza before
// the stream is ended with policy-violation. Stanzas over the limit are
// refused one by one and the link stays up, so this bound must lie above
// anything a server forwards from a user, or one user could cost every room
// the link. A server re-escapes what it forwards: Prosody writes each ' and
// " of text or attribute values as a six-byte entity, so a stanza a client
// sent within Prosody's c2s limit (256 KiB by default, as our own default)
// can reach us six times as large. Eight times the larger of our limit and
// that default is beyond it; only a link that is broken or hostile as a
// whole sends more.
func (r *runner) meterLimit() int {
	limit := max(r.cfg.MaxStanzaBytes, stanza.DefaultLimits.MaxBytes)
	return meterFactor*limit + 64<<10
}

// meterFactor is the escaping expansion a forwarded stanza may have (six),
// and some room for the server's own attributes.
const meterFactor = 8

func (r *runner) writeTimeout() time.Duration {
	if r.cfg.WriteTimeout > 0 {
		return r.cfg.WriteTimeout
	}
	return writeTimeout
}

// connectOnce dials, negotiates and serves one connection. It returns
// whether the handshake succeeded and why the connection ended.
func (r *runner) connectOnce(ctx context.Context) (bool, error) {
	dialer := net.Dialer{Timeout: dialTimeout}
	nc, err := dialer.DialContext(ctx, "tcp", r.cfg.Server)
	if err != nil {
		return false, err
	}
	mc := &meteredConn{Conn: nc, limit: int64(r.meterLimit())}
	d, err := r.handshake(ctx, mc)
	if err != nil {
		nc.Close()
		return false, err
	}
	r.log.Info().Msg("component connected")
	r.cfg.Metrics.linkUp()
	if r.cfg.OnState != nil {
		r.cfg.OnState(true)
	}
	l := newLink(r, mc, &streamReader{d: d})
	l.meter = mc
	mc.stanzaDone()
	l.resync = r.wasUp || resyncFirst(r.h)
	r.wasUp = true
	r.cfg.Sender.attach(l)
	err = l.serve(ctx)
	r.cfg.Sender.detach()
	r.cfg.Metrics.linkDown()
	if r.cfg.OnState != nil {
		r.cfg.OnState(false)
	}
	return true, err
}

// aLongTimeAgo is a deadline in the past, to interrupt blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// handshakeError is the server's refusal of the XEP-0114 handshake.
type handshakeError struct{ err stream.Error }

func (e handshakeError) Error() string { return "handshake refused: " + describeStreamError(e.err) }
func (e handshakeError) Unwrap() error { return e.err }

func (r *runner) handshake(ctx context.Context, nc net.Conn) (*xml.Decoder, error) {
	// The deadline bounds a server that accepts TCP but never answers;
	// cancelling ctx interrupts the handshake the same way.
	nc.SetDeadline(time.Now().Add(handshakeTimeout))
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(aLongTimeAgo) })
	d, err := openStream(nc, r.domain.String(), r.cfg.Secret)
	if !stop() {
		return nil, ctx.Err()
	}
	if err != nil {
		var he handshakeError
		if errors.As(err, &he) {
			return nil, err
		}
		return nil, fmt.Errorf("handshake: %w", err)
	}
	nc.SetDeadline(time.Time{})
	return d, nil
}

func (r *runner) logFailure(err error, wasUp bool, wait time.Duration) {
	// A rounded duration string reads well in both log formats.
	in := wait.Round(10 * time.Millisecond).String()
	var he handshakeError
	var wp errWrongPort
	switch {
	case errors.As(err, &wp):
		r.log.Error().Str("namespace", wp.ns).Str("retry_in", in).
			Msg("CHORUS_SERVER looks like a client port: point it at the server's component listener (Prosody: port 5347 by default; ejabberd: the listen entry with module ejabberd_service)")
	case errors.As(err, &he) && he.err.Err == stream.InvalidNamespace.Err:
		r.log.Error().Str("condition", he.err.Err).Str("retry_in", in).
			Msg("component handshake refused: CHORUS_SERVER looks like a client port, not the server's component listener")
	case errors.As(err, &he) && he.err.Err == stream.NotAuthorized.Err:
		// ejabberd answers not-authorized also for a domain that no
		// ejabberd_service listener serves.
		r.log.Error().Str("condition", he.err.Err).Str("retry_in", in).
			Msg("component handshake refused: check CHORUS_SECRET, it must equal the server's component secret for this domain; on ejabberd, also check that the ejabberd_service listener's hosts include CHORUS_DOMAIN")
	case errors.Is(err, syscall.ECONNREFUSED):
		r.log.Error().Err(err).Str("retry_in", in).
			Msg("nothing listens at CHORUS_SERVER: check the server's component listener (Prosody: a Component entry for CHORUS_DOMAIN, component_ports and component_interfaces; ejabberd: a listen entry with module ejabberd_service)")
	case errors.As(err, &he) && he.err.Err == stream.Conflict.Err:
		r.log.Warn().Str("condition", he.err.Err).Str("retry_in", in).
			Msg("component handshake refused: the server still holds another connection for this domain")
	case errors.As(err, &he) && he.err.Err == stream.HostUnknown.Err:
		r.log.Error().Str("condition", he.err.Err).Str("retry_in", in).
			Msg("component handshake refused: the server has no component configured for this domain")
	case errors.As(err, &he):
		r.log.Error().Str("error", describeStreamError(he.err)).Str("retry_in", in).
			Msg("component handshake refused")
	case wasUp:
		r.log.Warn().Err(err).Str("retry_in", in).Msg("component disconnected")
	default:
		r.log.Warn().Err(err).Str("retry_in", in).Msg("component connection failed")
	}
}

// describeStreamError renders a stream error with its text, which mellium's
// Error method leaves out.
func describeStreamError(e stream.Error) string {
	s := "stream error " + e.Err
	var texts []string
	for _, t := range e.Text {
		if t.Value != "" {
			texts = append(texts, t.Value)
		}
	}
	if len(texts) > 0 {
		s += ": " + strings.Join(texts, "; ")
	}
	return s
}

// backoffWait is the wait before the next attempt after failures attempts
// in a row that did not get the link up (zero after a link that was up):
// exponential from minWait, capped at maxWait, drawn from the upper half of
// the step so that reconnecting components spread out, and never shorter
// than minWait, which keeps a server that drops every link at once from
// making us spin. jitter(n) returns a value in [0, n).
func backoffWait(minWait, maxWait time.Duration, failures int, jitter func(time.Duration) time.Duration) time.Duration {
	step := minWait
	for i := 0; i < failures && step < maxWait; i++ {
		step *= 2
	}
	step = min(step, maxWait)
	return max(minWait, step/2+jitter(step/2+1))
}
