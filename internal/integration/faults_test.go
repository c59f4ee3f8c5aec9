package integration

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"chorus/component"
	"chorus/internal/prosody"
	"chorus/internal/scansion"
	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// TestProsodyRestartMidTraffic kills and restarts Prosody while two users talk in a
// persistent room. Chorus reconnects by itself; the room and its archive
// are intact; the sessions that died with Prosody are found by the session
// check and removed, so users who come back join a room without ghosts.
func TestProsodyRestartMidTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "chorus.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stop := RunChorus(t, srv.ComponentAddr(), srv.Secret(), st)
	defer stop()

	const roomJID = "hall@" + Service
	romeo := dialFault(ctx, t, srv.C2SAddr(), "romeo@localhost/a")
	juliet := dialFault(ctx, t, srv.C2SAddr(), "juliet@localhost/b")
	romeo.send(t, `<presence to='`+roomJID+`/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	romeo.expect(ctx, t, "subject", func(e *stanza.Element) bool { return e.Child(stanza.NSClient, "subject") != nil })
	romeo.send(t, `<iq type='set' id='cfg' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+
		`<field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>`)
	romeo.expect(ctx, t, "config result", func(e *stanza.Element) bool { return e.Attr("id") == "cfg" && e.Attr("type") == "result" })
	juliet.send(t, `<presence to='`+roomJID+`/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	juliet.expect(ctx, t, "subject", func(e *stanza.Element) bool { return e.Child(stanza.NSClient, "subject") != nil })

	// Talk, restart Prosody in the middle, talk on.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 40; i++ {
			_ = romeo.conn.Send(stanza.MustParse(fmt.Sprintf(`<message type='groupchat' id='t%d' to='%s'><body>before %d</body></message>`, i, roomJID, i)))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	// Killed, not stopped: a clean stop tells the rooms its users left,
	// a crash leaves their sessions in the rooms as ghosts.
	if err := srv.Crash(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	// Chorus reconnects by itself; the users come back with new sessions.
	romeo = dialFault(ctx, t, srv.C2SAddr(), "romeo@localhost/c")
	deadline := time.Now().Add(30 * time.Second)
	for {
		romeo.send(t, `<iq type='get' id='ping' to='`+Service+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		if _, err := romeo.wait(ctx, 2*time.Second, func(e *stanza.Element) bool { return e.Attr("id") == "ping" && e.Attr("type") == "result" }); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Chorus did not reconnect within 30 s")
		}
	}
	// The room, persistent, is still there; the old sessions are gone, so
	// Romeo enters it alone and as its owner.
	romeo.send(t, `<presence to='`+roomJID+`/Romeo'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`)
	var others []string
	self, err := romeo.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		if e.Local == "presence" && e.Attr("type") == "" && !strings.HasSuffix(e.Attr("from"), "/Romeo") {
			others = append(others, e.Attr("from"))
		}
		return e.Local == "presence" && strings.Contains(e.String(), "code='110'")
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(self.String(), "code='201'") || !strings.Contains(self.String(), "affiliation='owner'") {
		t.Errorf("the persistent room was not kept: %v", self)
	}
	if len(others) != 0 {
		t.Errorf("ghosts of sessions that died with Prosody are still in the room: %v", others)
	}
	// The archive kept what was said before the restart.
	romeo.send(t, `<iq type='set' id='mam' to='`+roomJID+`'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max></set></query></iq>`)
	if _, err := romeo.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		return e.Child("urn:xmpp:mam:2", "result") != nil && strings.Contains(e.String(), "before ")
	}); err != nil {
		t.Errorf("archive after the restart: %v", err)
	}
}

// TestHandlerPanicIsContained makes the stanza handler panic on one message:
// the sender gets internal-server-error and the room and the service go on.
func TestHandlerPanicIsContained(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
	if err != nil {
		t.Fatal(err)
	}
	reg := room.NewRegistry(room.Options{Domain: Service})
	defer reg.Close()
	rt := component.NewRouter(Service, reg)
	h := panicky{rt}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan bool, 4)
	go component.Run(ctx, component.Config{Domain: Service, Secret: srv.Secret(), Server: srv.ComponentAddr(),
		Logger: zerolog.Nop(), OnState: func(ok bool) { up <- ok }}, h)
	if !<-up {
		t.Fatal("link not up")
	}
	c := dialFault(ctx, t, srv.C2SAddr(), "romeo@localhost/a")
	c.send(t, `<presence to='den@`+Service+`/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	c.expect(ctx, t, "subject", func(e *stanza.Element) bool { return e.Child(stanza.NSClient, "subject") != nil })
	c.send(t, `<message type='groupchat' id='boom' to='den@`+Service+`'><body>panic now</body></message>`)
	c.expect(ctx, t, "internal-server-error", func(e *stanza.Element) bool {
		return e.Attr("id") == "boom" && e.Attr("type") == "error" && strings.Contains(e.String(), "internal-server-error")
	})
	c.send(t, `<message type='groupchat' id='ok' to='den@`+Service+`'><body>still here</body></message>`)
	c.expect(ctx, t, "the room goes on", func(e *stanza.Element) bool {
		return e.Attr("id") == "ok" && e.Attr("type") == "groupchat"
	})
}

// panicky is a Handler with a bug: it panics on one message body.
type panicky struct{ *component.Router }

func (p panicky) HandleAt(to room.Address, st *stanza.Element) []room.Out {
	if st.ChildText(stanza.NSClient, "body") == "panic now" {
		panic("a handler bug")
	}
	return p.Router.HandleAt(to, st)
}

type faultClient struct{ conn *scansion.Conn }

func dialFault(ctx context.Context, t *testing.T, addr, jid string) *faultClient {
	t.Helper()
	c, err := scansion.Dial(ctx, addr, jid, "pw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &faultClient{conn: c}
}

func (c *faultClient) send(t *testing.T, s string) {
	t.Helper()
	if err := c.conn.Send(stanza.MustParse(s)); err != nil {
		t.Fatal(err)
	}
}

// wait takes stanzas until match accepts one.
func (c *faultClient) wait(ctx context.Context, d time.Duration, match func(*stanza.Element) bool) (*stanza.Element, error) {
	deadline := time.Now().Add(d)
	for {
		e, err := c.conn.Next(ctx, time.Until(deadline))
		if err != nil {
			return nil, err
		}
		if match(e) {
			return e, nil
		}
	}
}

func (c *faultClient) expect(ctx context.Context, t *testing.T, what string, match func(*stanza.Element) bool) {
	t.Helper()
	if _, err := c.wait(ctx, 10*time.Second, match); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
