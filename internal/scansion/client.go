package scansion

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"chorus/stanza"
)

const nsTLS = "urn:ietf:params:xml:ns:xmpp-tls"

// loginTimeout bounds connecting and logging in.
const loginTimeout = 10 * time.Second

// errTimeout is returned by conn.next when nothing arrived in time.
var errTimeout = errors.New("timed out")

// conn is one logged-in client connection. After login a goroutine reads
// stanzas into an unbounded queue, so the server never blocks on us and
// arrival order is kept.
type conn struct {
	nc  net.Conn
	r   *bufio.Reader
	dec *xml.Decoder
	jid string // bound full JID

	mu     sync.Mutex
	queue  []*stanza.Element
	err    error         // why reading stopped; io.EOF when the server closed its stream
	signal chan struct{} // has a token when queue or err changed
	done   chan struct{} // closed when the reader goroutine has exited
}

// account is what a client logs in with.
type account struct {
	domain, local, password, resource string
}

// dial connects to addr and logs in: stream, SASL PLAIN, stream restart,
// resource binding. It sends nothing else.
func dial(ctx context.Context, addr string, acc account) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	// Reads and writes during login end when ctx does.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	c := &conn{nc: nc, r: bufio.NewReader(nc), signal: make(chan struct{}, 1), done: make(chan struct{})}
	err = c.login(acc)
	if !stop() {
		// The deadline was forced: say why login failed.
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("login as %s@%s: %w", acc.local, acc.domain, err)
	}
	_ = nc.SetDeadline(time.Time{})
	go c.read()
	return c, nil
}

func (c *conn) login(acc account) error {
	features, err := c.open(acc.domain)
	if err != nil {
		return err
	}
	if !offersPLAIN(features) {
		if tls := features.Child(nsTLS, "starttls"); tls != nil && tls.Child(nsTLS, "required") != nil {
			return errors.New("server requires TLS, which this runner does not do")
		}
		return fmt.Errorf("server does not offer SASL PLAIN: %s", features)
	}
	creds := base64.StdEncoding.EncodeToString([]byte("\x00" + acc.local + "\x00" + acc.password))
	if err := c.writeString("<auth xmlns='" + stanza.NSSASL + "' mechanism='PLAIN'>" + creds + "</auth>"); err != nil {
		return err
	}
	res, err := c.nextElement()
	if err != nil {
		return err
	}
	if !res.Is(stanza.NSSASL, "success") {
		return fmt.Errorf("authentication failed: %s", res)
	}

	if features, err = c.open(acc.domain); err != nil {
		return err
	}
	if features.Child(stanza.NSBind, "bind") == nil {
		return fmt.Errorf("server offers no resource binding: %s", features)
	}
	bind := stanza.New(stanza.NSBind, "bind")
	if acc.resource != "" {
		bind.Add(stanza.New(stanza.NSBind, "resource").AddText(acc.resource))
	}
	iq := stanza.New(stanza.NSClient, "iq", "type", "set", "id", "bind").Add(bind)
	res, err = c.request(iq)
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if c.jid = strings.TrimSpace(res.Child(stanza.NSBind, "bind").ChildText(stanza.NSBind, "jid")); c.jid == "" {
		return fmt.Errorf("bind: no JID in %s", res)
	}
	// Old servers require session establishment; newer ones mark it
	// optional or do not offer it.
	if s := features.Child(stanza.NSSession, "session"); s != nil && s.Child(stanza.NSSession, "optional") == nil {
		iq := stanza.New(stanza.NSClient, "iq", "type", "set", "id", "session").Add(stanza.New(stanza.NSSession, "session"))
		if _, err := c.request(iq); err != nil {
			return fmt.Errorf("session: %w", err)
		}
	}
	return nil
}

// open starts a (new) stream to domain and returns the server's features.
// Each stream gets a fresh decoder over the shared buffered reader, which
// it reads byte-wise, so nothing of the new stream is lost.
func (c *conn) open(domain string) (*stanza.Element, error) {
	c.dec = xml.NewDecoder(c.r)
	hdr := fmt.Sprintf("<?xml version='1.0'?><stream:stream xmlns='%s' xmlns:stream='%s' to='%s' version='1.0'>",
		stanza.NSClient, stanza.NSStream, xmlEscape(domain))
	if err := c.writeString(hdr); err != nil {
		return nil, err
	}
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return nil, err
		}
		if t, ok := tok.(xml.StartElement); ok {
			if t.Name.Space != stanza.NSStream || t.Name.Local != "stream" {
				return nil, fmt.Errorf("expected a stream header, got <%s>", t.Name.Local)
			}
			break
		}
	}
	f, err := c.nextElement()
	if err != nil {
		return nil, err
	}
	if !f.Is(stanza.NSStream, "features") {
		return nil, fmt.Errorf("expected stream features, got %s", f)
	}
	return f, nil
}

// request sends an IQ during login and returns its successful result.
func (c *conn) request(iq *stanza.Element) (*stanza.Element, error) {
	if err := c.write(iq); err != nil {
		return nil, err
	}
	for {
		res, err := c.nextElement()
		if err != nil {
			return nil, err
		}
		if !res.Is(stanza.NSClient, "iq") || res.Attr("id") != iq.Attr("id") {
			continue
		}
		if res.Attr("type") != "result" {
			return nil, fmt.Errorf("server answered %s", res)
		}
		return res, nil
	}
}

func offersPLAIN(features *stanza.Element) bool {
	for _, m := range features.Child(stanza.NSSASL, "mechanisms").ChildrenNamed(stanza.NSSASL, "mechanism") {
		if strings.TrimSpace(m.Text()) == "PLAIN" {
			return true
		}
	}
	return false
}

// nextElement reads the next top-level element of the stream; io.EOF means
// the server closed its stream.
func (c *conn) nextElement() (*stanza.Element, error) {
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			e, err := stanza.Decode(c.dec, t, stanza.Limits{MaxDepth: 64, MaxBytes: 16 << 20}) // what a client takes
			if err != nil {
				return nil, err
			}
			if e.Is(stanza.NSStream, "error") {
				return e, fmt.Errorf("stream error: %s", e)
			}
			return e, nil
		case xml.EndElement:
			return nil, io.EOF
		}
	}
}

// read queues stanzas until the stream or connection ends. A stream error
// is queued too, so that it shows up among what a client received.
func (c *conn) read() {
	defer close(c.done)
	for {
		e, err := c.nextElement()
		c.mu.Lock()
		if e != nil {
			c.queue = append(c.queue, e)
		}
		if err != nil {
			c.err = err
		}
		c.mu.Unlock()
		select {
		case c.signal <- struct{}{}:
		default:
		}
		if err != nil {
			return
		}
	}
}

// next takes the oldest queued stanza, waiting until deadline. It returns
// errTimeout when none came, or the reason the stream ended.
func (c *conn) next(ctx context.Context, deadline time.Time) (*stanza.Element, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			e := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.mu.Unlock()
			return e, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("the server closed the stream")
			}
			return nil, fmt.Errorf("connection lost: %w", err)
		}
		select {
		case <-c.signal:
		case <-timer.C:
			return nil, errTimeout
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (c *conn) write(e *stanza.Element) error {
	return c.writeString(string(e.Append(nil)))
}

func (c *conn) writeString(s string) error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(loginTimeout))
	_, err := io.WriteString(c.nc, s)
	return err
}

// disconnect closes our stream, waits up to wait for the server to close
// its side, and closes the connection. It reports whether the server did.
func (c *conn) disconnect(wait time.Duration) bool {
	_ = c.writeString("</stream:stream>")
	t := time.NewTimer(wait)
	defer t.Stop()
	closed := false
	select {
	case <-c.done:
		closed = true
	case <-t.C:
	}
	c.close()
	return closed
}

// close drops the connection and waits for the reader goroutine.
func (c *conn) close() {
	_ = c.nc.Close()
	<-c.done
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
