package scansion

import (
	"context"
	"strings"
	"sync"
	"time"

	"chorus/stanza"
)

// Conn is a logged-in XMPP client for tests that drive a conversation
// from Go rather than from a script (crash and load tests).
type Conn struct {
	c   *conn
	wmu sync.Mutex
}

// ErrTimeout is returned by Next when nothing arrived in time.
var ErrTimeout = errTimeout

// Dial connects to a server's client port and logs in as jid (a bare or
// full JID; a resource in it is requested at binding) with password.
func Dial(ctx context.Context, addr, jid, password string) (*Conn, error) {
	local, domain, _ := strings.Cut(jid, "@")
	domain, resource, _ := strings.Cut(domain, "/")
	c, err := dial(ctx, addr, account{domain: domain, local: local, password: password, resource: resource})
	if err != nil {
		return nil, err
	}
	return &Conn{c: c}, nil
}

// JID is the bound full JID.
func (c *Conn) JID() string { return c.c.jid }

// Send writes one stanza; it is safe to call from several goroutines.
func (c *Conn) Send(st *stanza.Element) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.c.write(st)
}

// SendRaw writes s as it is, for tests that need bytes the encoder would
// not produce (such as quotes left unescaped where XML allows them).
func (c *Conn) SendRaw(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.c.writeString(s)
}

// Next returns the oldest stanza received and not yet taken, waiting up
// to timeout (ErrTimeout when none came).
func (c *Conn) Next(ctx context.Context, timeout time.Duration) (*stanza.Element, error) {
	return c.c.next(ctx, time.Now().Add(timeout))
}

// Close ends the stream and the connection.
func (c *Conn) Close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.disconnect(2 * time.Second)
}
