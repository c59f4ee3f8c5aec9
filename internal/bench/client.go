package bench

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chorus/stanza"
)

// LoginTimeout bounds connecting and logging in one client.
const LoginTimeout = 30 * time.Second

// maxStanza is the largest element a client accepts; far above anything the
// scenarios receive.
const maxStanza = 16 << 20

// Account is what a client logs in with.
type Account struct {
	Addr     string // host:port of the server's client listener
	Domain   string
	User     string // localpart
	Password string
	Resource string
	// BufSize is the initial receive buffer; it grows for larger stanzas.
	// Default 8 KiB.
	BufSize int
}

// Handler receives each stanza a client reads after login. It runs on the
// client's reader goroutine; st is valid only until it returns.
type Handler func(st []byte)

// Client is a logged-in c2s connection (plain TCP, SASL PLAIN, resource
// binding). It sends no initial presence: MUC joins are directed presence,
// and a server has less to do for a client without available presence.
type Client struct {
	JID string // the bound full JID

	nc  net.Conn
	sc  *Scanner
	wmu sync.Mutex

	running atomic.Bool   // Start was called; an unstarted client's done is never closed
	done    chan struct{} // closed when the reader goroutine ends
	err     error         // why reading stopped; read after done
}

// Dial connects and logs in. The client reads nothing further until Start.
func Dial(ctx context.Context, a Account) (*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, LoginTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", a.Addr)
	if err != nil {
		return nil, err
	}
	if a.BufSize <= 0 {
		a.BufSize = 8 << 10
	}
	c := &Client{nc: nc, sc: NewScanner(nc, a.BufSize, maxStanza), done: make(chan struct{})}
	// Reads and writes during login end when ctx does.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	err = c.login(a)
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("login as %s@%s: %w", a.User, a.Domain, err)
	}
	_ = nc.SetDeadline(time.Time{})
	return c, nil
}

func (c *Client) login(a Account) error {
	features, err := c.open(a.Domain)
	if err != nil {
		return err
	}
	if !offersPLAIN(features) {
		return fmt.Errorf("server does not offer SASL PLAIN without TLS: %s", clip(features))
	}
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + a.User + "\x00" + a.Password))
	if err := c.Write([]byte("<auth xmlns='" + stanza.NSSASL + "' mechanism='PLAIN'>" + creds + "</auth>")); err != nil {
		return err
	}
	res, err := c.sc.Next()
	if err != nil {
		return err
	}
	if string(Name(res)) != "success" {
		return fmt.Errorf("authentication failed: %s", clip(res))
	}

	if features, err = c.open(a.Domain); err != nil {
		return err
	}
	if _, ok := Child(features, "bind"); !ok {
		return fmt.Errorf("server offers no resource binding: %s", clip(features))
	}
	// Old servers require session establishment; newer ones mark it
	// optional or do not offer it.
	sess, needSession := Child(features, "session")
	if needSession {
		_, optional := Child(sess, "optional")
		needSession = !optional
	}
	bind := "<iq type='set' id='bind'><bind xmlns='" + stanza.NSBind + "'>"
	if a.Resource != "" {
		bind += "<resource>" + escAttr(a.Resource) + "</resource>"
	}
	if err := c.Write([]byte(bind + "</bind></iq>")); err != nil {
		return err
	}
	res, err = c.result("bind")
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if jid, ok := Child(res, "jid"); ok {
		c.JID = strings.TrimSpace(string(Text(jid)))
	}
	if c.JID == "" {
		return fmt.Errorf("bind: no JID in %s", clip(res))
	}
	if needSession {
		if err := c.Write([]byte("<iq type='set' id='sess'><session xmlns='" + stanza.NSSession + "'/></iq>")); err != nil {
			return err
		}
		if _, err := c.result("sess"); err != nil {
			return fmt.Errorf("session: %w", err)
		}
	}
	return nil
}

// open starts a (new) stream and returns the server's features.
func (c *Client) open(domain string) ([]byte, error) {
	hdr := "<?xml version='1.0'?><stream:stream xmlns='" + stanza.NSClient + "' xmlns:stream='" + stanza.NSStream +
		"' to='" + escAttr(domain) + "' version='1.0'>"
	if err := c.Write([]byte(hdr)); err != nil {
		return nil, err
	}
	h, err := c.sc.Header()
	if err != nil {
		return nil, err
	}
	if string(Name(h)) != "stream:stream" {
		return nil, fmt.Errorf("expected a stream header, got %s", clip(h))
	}
	f, err := c.sc.Next()
	if err != nil {
		return nil, err
	}
	if string(Name(f)) != "stream:features" {
		return nil, fmt.Errorf("expected stream features, got %s", clip(f))
	}
	return f, nil
}

// result waits during login for the answer to the IQ with id, skipping
// anything else.
func (c *Client) result(id string) ([]byte, error) {
	for {
		st, err := c.sc.Next()
		if err != nil {
			return nil, err
		}
		switch string(Name(st)) {
		case "stream:error":
			return nil, fmt.Errorf("stream error: %s", clip(st))
		case "iq":
		default:
			continue
		}
		if v, _ := Attr(st, "id"); string(v) != id {
			continue
		}
		if v, _ := Attr(st, "type"); string(v) != "result" {
			return nil, fmt.Errorf("server answered %s", clip(st))
		}
		return st, nil
	}
}

func offersPLAIN(features []byte) bool {
	mechs, ok := Child(features, "mechanisms")
	if !ok {
		return false
	}
	n, _, _ := scanTag(mechs)
	for from := n; ; {
		s, e := findElem(mechs, from, "mechanism")
		if s < 0 {
			return false
		}
		if strings.TrimSpace(string(Text(mechs[s:e]))) == "PLAIN" {
			return true
		}
		from = e
	}
}

// Start runs the reader goroutine, which passes every stanza to h until
// the stream or the connection ends.
func (c *Client) Start(h Handler) {
	c.running.Store(true)
	go func() {
		defer close(c.done)
		for {
			st, err := c.sc.Next()
			if err != nil {
				c.err = err
				return
			}
			if string(Name(st)) == "stream:error" {
				c.err = fmt.Errorf("stream error: %s", clip(st))
				return
			}
			h(st)
		}
	}()
}

// Write sends b; it may be called from several goroutines.
func (c *Client) Write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

// Done is closed when the reader goroutine has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why reading stopped; valid once Done is closed.
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Hangup closes our stream and the connection without waiting for the
// server; Wait then waits for the reader goroutine.
func (c *Client) Hangup() {
	// The deadline also ends a write stuck on a server that stopped
	// reading, which would otherwise hold the lock forever.
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.wmu.Lock()
	_, _ = c.nc.Write([]byte("</stream:stream>"))
	c.wmu.Unlock()
	_ = c.nc.Close()
}

// Close hangs up and waits for the reader goroutine, if started.
func (c *Client) Close() {
	c.Hangup()
	c.Wait()
}

// Wait waits for the reader goroutine to end; it returns at once if Start
// was never called.
func (c *Client) Wait() {
	if c.running.Load() {
		<-c.done
	}
}
