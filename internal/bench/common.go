package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Common are the settings every client scenario shares.
type Common struct {
	Server   string // host:port of the client listener; default 127.0.0.1:5222
	Domain   string // users' domain; default localhost
	Password string // default "bench"
	Prefix   string // localpart prefix; default "u"
	MUC      string // the MUC service under test; default conference.localhost
	Rooms    int    // rooms bench0..bench<Rooms-1>; default 1
	Procs    []Proc // processes to measure
	Label    string // copied into the result
	// Persistent makes each room persistent when it is created (the
	// owner's form sets muc#roomconfig_persistentroom), as rooms people
	// keep are; a service that archives persistent rooms then archives
	// these.
	Persistent bool

	// LoginConcurrency bounds logins (and joins) in flight; default 64.
	LoginConcurrency int
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (c *Common) setDefaults() {
	if c.Server == "" {
		c.Server = "127.0.0.1:5222"
	}
	if c.Domain == "" {
		c.Domain = "localhost"
	}
	if c.Password == "" {
		c.Password = "bench"
	}
	if c.Prefix == "" {
		c.Prefix = "u"
	}
	if c.MUC == "" {
		c.MUC = "conference.localhost"
	}
	if c.Rooms <= 0 {
		c.Rooms = 1
	}
	if c.LoginConcurrency <= 0 {
		c.LoginConcurrency = 64
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

func (c *Common) logf(format string, args ...any) {
	fmt.Fprintf(c.Log, format+"\n", args...)
}

// user is the localpart of the i-th user.
func (c *Common) user(i int) string { return c.Prefix + strconv.Itoa(i) }

// room is the bare JID of room r.
func (c *Common) room(r int) string { return "bench" + strconv.Itoa(r) + "@" + c.MUC }

func (c *Common) account(user string, bufSize int) Account {
	return Account{Addr: c.Server, Domain: c.Domain, User: user, Password: c.Password, Resource: "bench", BufSize: bufSize}
}

// login connects n members, k at a time, and starts each one's reader
// with its handler. On error the clients already connected are closed.
func (c *Common) login(ctx context.Context, what string, ms []*member, bufSize int, handler func(i int) Handler) error {
	err := parallel(ctx, c, what+": logged in", len(ms), c.LoginConcurrency, func(ctx context.Context, i int) error {
		cl, err := Dial(ctx, c.account(ms[i].user, bufSize))
		if err != nil {
			return err
		}
		ms[i].c = cl
		cl.Start(handler(i))
		return nil
	})
	if err != nil {
		closeAll(ms)
	}
	return err
}

// closeAll hangs up every connected member, then waits for their readers.
func closeAll(ms []*member) {
	for _, m := range ms {
		if m.c != nil {
			m.c.Hangup()
		}
	}
	for _, m := range ms {
		if m.c != nil {
			m.c.Wait()
		}
	}
}

// firstDead returns the error of the first member whose connection ended,
// or nil.
func firstDead(ms []*member) error {
	for _, m := range ms {
		if m.c == nil {
			continue
		}
		if err := m.c.Err(); err != nil || isClosed(m.c.Done()) {
			if err == nil {
				err = errors.New("connection closed")
			}
			return fmt.Errorf("%s: %w", m.user, err)
		}
	}
	return nil
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// parallel runs f for 0..n-1 with at most k calls at once, stops starting
// new ones after the first error and returns it. It reports progress to
// c.Log about once a second.
func parallel(ctx context.Context, c *Common, what string, n, k int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next, done atomic.Int64
		once       sync.Once
		first      error
		wg         sync.WaitGroup
	)
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	finished := make(chan struct{})
	for range min(k, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
				done.Add(1)
			}
		})
	}
	go func() { wg.Wait(); close(finished) }()
	for {
		select {
		case <-finished:
			if first == nil {
				if err := ctx.Err(); err != nil && done.Load() < int64(n) {
					return err
				}
				if n > 0 {
					c.logf("%s %d/%d in %.1fs", what, n, n, time.Since(start).Seconds())
				}
			}
			return first
		case <-tick.C:
			c.logf("%s %d/%d", what, done.Load(), n)
		}
	}
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
