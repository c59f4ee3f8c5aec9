package scansion

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"chorus/stanza"
)

// Options configure Run.
type Options struct {
	// C2SAddr is the host:port of the server's client port.
	C2SAddr string
	// Domain is the domain for a client whose jid has no domain part.
	// Default "localhost".
	Domain string
	// Timeout bounds the wait for each expected stanza. Default 5s.
	Timeout time.Duration
	// Logf, if set, receives a line per action and per stanza.
	Logf func(format string, args ...any)
	// MayBeAbsent names expected elements a received stanza may lack: such
	// an element in a script is left out of the comparison when the
	// received parent has no child of that name, and compared as usual
	// when it has one. It is for a server that legitimately omits what
	// Prosody adds, and should name as little as possible: ejabberd leaves
	// <photo/> out of <x xmlns='vcard-temp:x:update'/> for a user with no
	// vCard, where Prosody's scripts expect it.
	MayBeAbsent []xml.Name
}

const (
	// sendPause follows each send so that consecutive sends by different
	// clients reach the server in script order.
	sendPause = 20 * time.Millisecond
	// quietPeriod is how long "receives: nothing" listens.
	quietPeriod = 300 * time.Millisecond
	// maxListed caps how many discarded stanzas a failure lists.
	maxListed = 20
)

// Run plays s against the server at opt.C2SAddr. It stops at the first
// action that fails, returning an error that names the script line and
// action; every connection is closed before it returns.
func Run(ctx context.Context, s *Script, opt Options) error {
	if opt.Domain == "" {
		opt.Domain = "localhost"
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	r := &runner{s: s, opt: opt, conns: make(map[string]*conn), jids: make(map[string]string)}
	defer r.closeAll()
	for _, a := range s.Actions {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.logf("%s:%d: %s", s.Name, a.Line, a)
		if err := r.do(ctx, a); err != nil {
			return fmt.Errorf("%s:%d: %s: %w", s.Name, a.Line, a, err)
		}
	}
	return nil
}

type runner struct {
	s     *Script
	opt   Options
	conns map[string]*conn  // connected clients by name
	jids  map[string]string // last bound full JID by client name
}

func (r *runner) logf(format string, args ...any) {
	if r.opt.Logf != nil {
		r.opt.Logf(format, args...)
	}
}

func (r *runner) do(ctx context.Context, a *Action) error {
	c := r.conns[a.Client]
	if a.Verb == Connect {
		if c != nil {
			return errors.New("already connected")
		}
		return r.connect(ctx, r.s.Client(a.Client))
	}
	if c == nil {
		return errors.New("not connected")
	}
	switch a.Verb {
	case Disconnect:
		delete(r.conns, a.Client)
		if !c.disconnect(r.opt.Timeout) {
			r.logf("%s: the server did not close its stream within %v", a.Client, r.opt.Timeout)
		}
		return nil
	case Send:
		return r.send(ctx, a, c)
	case Receive:
		return r.receive(ctx, a, c)
	case ReceiveNothing:
		return r.receiveNothing(ctx, a, c)
	}
	return fmt.Errorf("unknown action %v", a.Verb)
}

func (r *runner) connect(ctx context.Context, cl *Client) error {
	acc := account{domain: r.opt.Domain, password: cl.Password}
	bare, res, _ := strings.Cut(cl.JID, "/")
	local, domain, ok := strings.Cut(bare, "@")
	if ok {
		acc.domain = domain
	}
	acc.local = local
	acc.resource = res
	if cl.Resource != "" {
		acc.resource = cl.Resource
	}
	c, err := dial(ctx, r.opt.C2SAddr, acc)
	if err != nil {
		return err
	}
	r.conns[cl.Name] = c
	r.jids[cl.Name] = c.jid
	r.logf("%s is %s", cl.Name, c.jid)
	return nil
}

func (r *runner) send(ctx context.Context, a *Action, c *conn) error {
	for _, tmpl := range a.Stanzas {
		st, err := r.expand(tmpl)
		if err != nil {
			return err
		}
		tidy(st)
		r.logf("%s -> %s", a.Client, st)
		if err := c.write(st); err != nil {
			return err
		}
	}
	return pause(ctx, sendPause)
}

// receive takes stanzas in arrival order for each expected one, discarding
// those that do not match, until one matches or the timeout passes.
func (r *runner) receive(ctx context.Context, a *Action, c *conn) error {
	for i, tmpl := range a.Stanzas {
		want, err := r.expand(tmpl)
		if err != nil {
			return err
		}
		var discarded []*stanza.Element
		deadline := time.Now().Add(r.opt.Timeout)
		for {
			got, err := c.next(ctx, deadline)
			if err != nil {
				if errors.Is(err, errTimeout) {
					err = fmt.Errorf("no matching stanza within %v", r.opt.Timeout)
				}
				return missReport(err, i, len(a.Stanzas), want, discarded, r.opt.MayBeAbsent)
			}
			if matchRelaxed(want, got, r.opt.MayBeAbsent) == nil {
				r.logf("%s <- %s", a.Client, got)
				break
			}
			r.logf("%s <- %s (discarded)", a.Client, got)
			discarded = append(discarded, got)
		}
	}
	return nil
}

// missReport explains a failed receive: what was expected, the discarded
// stanza closest to it with the reason it did not match, and the rest.
func missReport(cause error, i, n int, want *stanza.Element, discarded []*stanza.Element, absent []xml.Name) error {
	var b strings.Builder
	b.WriteString(cause.Error())
	if n > 1 {
		fmt.Fprintf(&b, " (expected stanza %d of %d)", i+1, n)
	}
	shown := want.Clone()
	tidy(shown)
	fmt.Fprintf(&b, "\nexpected: %s", shown)
	if len(discarded) == 0 {
		b.WriteString("\nnothing else arrived")
		return errors.New(b.String())
	}
	best, bestScore := 0, -1
	for j, d := range discarded {
		if s := similarity(want, d); s > bestScore {
			best, bestScore = j, s
		}
	}
	fmt.Fprintf(&b, "\nclosest miss: %s\n  because %v", discarded[best], matchRelaxed(want, discarded[best], absent))
	fmt.Fprintf(&b, "\ndiscarded %d stanza(s):", len(discarded))
	for j, d := range discarded {
		if j == maxListed {
			fmt.Fprintf(&b, "\n  ... and %d more", len(discarded)-j)
			break
		}
		fmt.Fprintf(&b, "\n  %s", d)
	}
	return errors.New(b.String())
}

// receiveNothing fails if any stanza is waiting or arrives within
// quietPeriod. Stanzas that arrived earlier but no receive consumed count
// too: they were received and nobody expected them.
func (r *runner) receiveNothing(ctx context.Context, a *Action, c *conn) error {
	got, err := c.next(ctx, time.Now().Add(quietPeriod))
	switch {
	case err == nil:
		r.logf("%s <- %s (unexpected)", a.Client, got)
		return fmt.Errorf("expected nothing, received %s", got)
	case errors.Is(err, errTimeout):
		return nil
	}
	return err
}

func (r *runner) closeAll() {
	for name, c := range r.conns {
		// Say goodbye properly, but do not wait for the server.
		_ = c.writeString("</stream:stream>")
		c.close()
		delete(r.conns, name)
	}
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
