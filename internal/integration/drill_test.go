package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"chorus/internal/ejabberd"
	"chorus/internal/prosody"
	"chorus/internal/scansion"
	"chorus/internal/serverproc"
	"chorus/stanza"
	"chorus/store"
)

// The drills run the chorus binary against a real server, stop it the ways
// operations and accidents stop it, and check what users notice: nobody is
// told they left, each finds themselves still joined (XEP-0410 self-ping),
// and talk goes on. Their timeouts only bound waiting.

// drillServer is the XMPP server a drill runs against.
type drillServer struct {
	c2s, component, secret string
}

func startDrillProsody(t *testing.T) drillServer {
	t.Helper()
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service, LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	return drillServer{srv.C2SAddr(), srv.ComponentAddr(), srv.Secret()}
}

func startDrillEjabberd(t *testing.T) drillServer {
	t.Helper()
	require(t, ejabberd.Available())
	srv, err := ejabberd.Start(t, ejabberd.Options{Host: Host, Component: Service, LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	return drillServer{srv.C2SAddr(), srv.ComponentAddr(), srv.Secret()}
}

// drillChorus is one chorus process, with its HTTP listener on a port of
// its own and its log kept for the test.
type drillChorus struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	http string
	log  *lockedBuffer
	done chan struct{}
	code int // exit status, once done is closed
}

// drillSockets holds one admin socket path per test: the instances of a
// drill share it as instances on one host with one configuration do, so a
// deposed instance still holding it must not keep the next from serving.
var drillSockets sync.Map

func drillSocket(t *testing.T) string {
	// Keyed by the test itself, not its name: with -count=N each run has
	// a temporary directory of its own.
	if p, ok := drillSockets.Load(t); ok {
		return p.(string)
	}
	p, _ := drillSockets.LoadOrStore(t, filepath.Join(t.TempDir(), "admin.sock"))
	return p.(string)
}

func startDrillChorus(t *testing.T, bin string, srv drillServer, storeURL, name string) *drillChorus {
	t.Helper()
	ports, err := serverproc.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	p := &drillChorus{t: t, name: name, http: fmt.Sprintf("127.0.0.1:%d", ports[0]), log: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin)
	p.cmd.Env = append(os.Environ(), "CHORUS_DOMAIN="+Service, "CHORUS_SECRET="+srv.secret,
		"CHORUS_SERVER="+srv.component, "CHORUS_STORE="+storeURL, "CHORUS_HTTP_ADDR="+p.http,
		"CHORUS_LOG_LEVEL=info", "CHORUS_ADMINS="+AdminJID,
		"CHORUS_ADMIN_SOCKET="+drillSocket(t))
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.signal(syscall.SIGKILL)
		<-p.done
		if t.Failed() {
			t.Logf("%s's log:\n%s", p.name, tail(p.log.String(), 40))
		}
	})
	return p
}

func (p *drillChorus) signal(sig syscall.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// exit waits for the process to end and returns its exit status (-1 for
// a signal).
func (p *drillChorus) exit(ctx context.Context) int {
	p.t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-ctx.Done():
		p.t.Fatalf("%s did not exit", p.name)
		return 0
	}
}

// stop sends SIGTERM and returns the exit status.
func (p *drillChorus) stop(ctx context.Context) int {
	p.signal(syscall.SIGTERM)
	return p.exit(ctx)
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *drillChorus) kill() {
	p.signal(syscall.SIGKILL)
	<-p.done
}

// get returns the status and body of one of its HTTP endpoints, 0 when it
// does not answer.
func (p *drillChorus) get(path string) (int, string) {
	c := http.Client{Timeout: 2 * time.Second}
	res, err := c.Get("http://" + p.http + path)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitHTTP polls path until ok accepts what it answers.
func (p *drillChorus) waitHTTP(ctx context.Context, path, what string, ok func(code int, body string) bool) {
	p.t.Helper()
	for {
		code, body := p.get(path)
		if ok(code, body) {
			return
		}
		select {
		case <-p.done:
			p.t.Fatalf("%s exited (status %d) while waiting until %s", p.name, p.code, what)
		case <-ctx.Done():
			p.t.Fatalf("%s: not %s: %s answers %d %q", p.name, what, path, code, body)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitReady waits until its component link is up.
func (p *drillChorus) waitReady(ctx context.Context) {
	p.t.Helper()
	p.waitHTTP(ctx, "/readyz", "ready", func(code int, _ string) bool { return code == http.StatusOK })
}

// waitStandby waits until it answers as a standby.
func (p *drillChorus) waitStandby(ctx context.Context) {
	p.t.Helper()
	p.waitHTTP(ctx, "/readyz", "in standby", func(code int, body string) bool {
		return code == http.StatusServiceUnavailable && strings.Contains(body, "standby")
	})
}

// logged returns the fields of its first log line with message msg.
func (p *drillChorus) logged(msg string) map[string]any {
	for _, line := range strings.Split(p.log.String(), "\n") {
		var f map[string]any
		if json.Unmarshal([]byte(line), &f) == nil && f["message"] == msg {
			return f
		}
	}
	return nil
}

// drillClient is a logged-in user in one room. It keeps everything it
// receives, and answers pings to itself as a client does.
type drillClient struct {
	t    *testing.T
	room string // bare JID
	nick string
	conn *scansion.Conn

	mu     sync.Mutex
	got    []*stanza.Element
	notify chan struct{} // closed and replaced at each stanza
}

func dialDrill(ctx context.Context, t *testing.T, c2s, user, room, nick string) *drillClient {
	t.Helper()
	conn, err := scansion.Dial(ctx, c2s, user+"@"+Host+"/drill", "pw")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	c := &drillClient{t: t, room: room, nick: nick, conn: conn, notify: make(chan struct{})}
	go c.read(ctx)
	return c
}

func (c *drillClient) read(ctx context.Context) {
	for {
		st, err := c.conn.Next(ctx, time.Hour)
		if err != nil {
			return
		}
		if st.Local == "iq" && st.Attr("type") == "get" && st.Child("urn:xmpp:ping", "ping") != nil {
			c.conn.Send(stanza.New(stanza.NSClient, "iq", "type", "result", "id", st.Attr("id"), "to", st.Attr("from")))
		}
		c.mu.Lock()
		c.got = append(c.got, st)
		close(c.notify)
		c.notify = make(chan struct{})
		c.mu.Unlock()
	}
}

func (c *drillClient) send(s string) {
	c.t.Helper()
	if err := c.conn.Send(stanza.MustParse(s)); err != nil {
		c.t.Fatalf("%s: %v", c.nick, err)
	}
}

// mark is where waitFrom starts looking: at stanzas received from now on.
func (c *drillClient) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// waitFrom returns the first stanza from index from on that match accepts.
func (c *drillClient) waitFrom(ctx context.Context, from int, what string, match func(*stanza.Element) bool) *stanza.Element {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := from; ; {
		c.mu.Lock()
		got, notify := c.got, c.notify
		c.mu.Unlock()
		for ; i < len(got); i++ {
			if match(got[i]) {
				return got[i]
			}
		}
		select {
		case <-notify:
		case <-ctx.Done():
			c.t.Fatalf("%s: no %s", c.nick, what)
			return nil
		}
	}
}

// join enters the room; with config, the first to enter configures it
// (an owner's form with these fields, none for an instant room).
func (c *drillClient) join(ctx context.Context, config map[string]string) {
	c.t.Helper()
	from := c.mark()
	c.send(`<presence to='` + c.room + `/` + c.nick + `'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`)
	c.waitFrom(ctx, from, "self-presence", func(e *stanza.Element) bool {
		return e.Local == "presence" && e.Attr("from") == c.room+"/"+c.nick && strings.Contains(e.String(), "code='110'")
	})
	c.waitFrom(ctx, from, "subject", func(e *stanza.Element) bool {
		return e.Local == "message" && e.Child(stanza.NSClient, "subject") != nil
	})
	if config == nil {
		return
	}
	fields := ""
	for k, v := range config {
		fields += `<field var='` + k + `'><value>` + v + `</value></field>`
	}
	c.request(ctx, "configure the room", `<iq type='set' id='cfg' to='`+c.room+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+fields+`</x></query></iq>`)
}

// request sends an IQ and fails the test unless it gets a result.
func (c *drillClient) request(ctx context.Context, what, iq string) *stanza.Element {
	c.t.Helper()
	id := stanza.MustParse(iq).Attr("id")
	from := c.mark()
	c.send(iq)
	res := c.waitFrom(ctx, from, "answer to "+what, func(e *stanza.Element) bool {
		return e.Local == "iq" && e.Attr("id") == id && (e.Attr("type") == "result" || e.Attr("type") == "error")
	})
	if res.Attr("type") != "result" {
		c.t.Fatalf("%s: %s: %s", c.nick, what, res)
	}
	return res
}

// selfPing asks the room whether this client is still an occupant
// (XEP-0410): a result says it is.
func (c *drillClient) selfPing(ctx context.Context, id string) {
	c.t.Helper()
	c.request(ctx, "self-ping", `<iq type='get' id='`+id+`' to='`+c.room+`/`+c.nick+`'><ping xmlns='urn:xmpp:ping'/></iq>`)
}

// said matches the room's message with body.
func said(room, body string) func(*stanza.Element) bool {
	return func(e *stanza.Element) bool {
		return e.Local == "message" && e.Attr("type") == "groupchat" && strings.HasPrefix(e.Attr("from"), room+"/") &&
			e.ChildText(stanza.NSClient, "body") == body
	}
}

// talk has each client say something and waits until everyone in its room
// has it, its sender included (the room's echo).
func talk(ctx context.Context, clients []*drillClient, tag string) {
	for _, c := range clients {
		marks := make([]int, len(clients))
		for i, o := range clients {
			marks[i] = o.mark()
		}
		body := tag + " from " + c.nick
		c.send(`<message type='groupchat' id='` + strings.ReplaceAll(body, " ", "-") + `' to='` + c.room + `'><body>` + body + `</body></message>`)
		for i, o := range clients {
			if o.room == c.room {
				o.waitFrom(ctx, marks[i], fmt.Sprintf("%q", body), said(c.room, body))
			}
		}
	}
}

// noneLeft fails the test if any client was told that anyone left a room.
func noneLeft(t *testing.T, clients []*drillClient) {
	t.Helper()
	for _, c := range clients {
		c.mu.Lock()
		for _, e := range c.got {
			_, rest, _ := strings.Cut(e.Attr("from"), "@")
			if domain, _, _ := strings.Cut(rest, "/"); e.Local == "presence" && e.Attr("type") == "unavailable" && domain == Service {
				t.Errorf("%s was told someone left: %s", c.nick, e)
			}
		}
		c.mu.Unlock()
	}
}

// occupantsSeen joins c and returns the nicknames it is shown, itself
// excluded, in order.
func (c *drillClient) occupantsSeen(ctx context.Context) []string {
	c.t.Helper()
	from := c.mark()
	c.join(ctx, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	var nicks []string
	for _, e := range c.got[from:] {
		if e.Local == "presence" && e.Attr("type") == "" && strings.HasPrefix(e.Attr("from"), c.room+"/") {
			if nick := strings.TrimPrefix(e.Attr("from"), c.room+"/"); nick != c.nick {
				nicks = append(nicks, nick)
			}
		}
	}
	slices.Sort(nicks)
	return nicks
}

// waitLive waits until the store's live state holds n sessions: the
// occupancy a crash must not lose has been written.
func waitLive(ctx context.Context, t *testing.T, st store.Store, n int) {
	t.Helper()
	live, ok := st.(store.LiveStore)
	if !ok {
		t.Fatalf("store %T keeps no live state", st)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		rooms, err := live.LoadLive(ctx)
		if err != nil {
			t.Fatalf("live state: %v", err)
		}
		have := 0
		for _, r := range rooms {
			have += len(r.Sessions)
		}
		if have == n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the live state holds %d sessions, want %d", have, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// drillRooms puts two clients in a persistent room and two in a temporary
// one and returns them.
func drillRooms(ctx context.Context, t *testing.T, c2s string) []*drillClient {
	t.Helper()
	const kept, temp = "kept@" + Service, "temp@" + Service
	clients := []*drillClient{
		dialDrill(ctx, t, c2s, "alice", kept, "Alice"), dialDrill(ctx, t, c2s, "bob", kept, "Bob"),
		dialDrill(ctx, t, c2s, "carol", temp, "Carol"), dialDrill(ctx, t, c2s, "dave", temp, "Dave"),
	}
	clients[0].join(ctx, map[string]string{"muc#roomconfig_persistentroom": "1"})
	clients[1].join(ctx, nil)
	clients[2].join(ctx, map[string]string{})
	clients[3].join(ctx, nil)
	talk(ctx, clients, "before")
	return clients
}

// startDrill runs chorus on storeURL, puts the clients of drillRooms in
// their rooms and opens a reader of the store beside it.
func startDrill(ctx context.Context, t *testing.T, bin string, srv drillServer, storeURL string) (*drillChorus, []*drillClient, store.Store) {
	t.Helper()
	p := startDrillChorus(t, bin, srv, storeURL, "chorus")
	p.waitReady(ctx)
	clients := drillRooms(ctx, t, srv.c2s)
	reader, err := store.OpenReader(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	return p, clients, reader
}

// keepSending calls send(0), send(1), ... every interval until the returned
// stop is called, which returns once sending has ended.
func keepSending(every time.Duration, send func(i int)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(every):
			}
			send(i)
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// stillThere checks that every client is still an occupant and can talk.
func stillThere(ctx context.Context, clients []*drillClient, tag string) {
	for _, c := range clients {
		c.selfPing(ctx, "ping-"+tag)
	}
	talk(ctx, clients, tag)
}

// TestDrillRestart stops Chorus with SIGTERM and starts it again on the same
// store, on Prosody and on ejabberd: nobody is told they left, each still
// finds themselves joined, talk goes on, and a newcomer sees who was there.
func TestDrillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("drills skipped in -short mode")
	}
	bin := buildChorus(t)
	for _, server := range []struct {
		name  string
		start func(*testing.T) drillServer
	}{{"prosody", startDrillProsody}, {"ejabberd", startDrillEjabberd}} {
		t.Run(server.name, func(t *testing.T) {
			srv := server.start(t)
			db := "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			p, clients, reader := startDrill(ctx, t, bin, srv, db)
			waitLive(ctx, t, reader, len(clients))

			if code := p.stop(ctx); code != 0 {
				t.Fatalf("chorus exited with status %d after SIGTERM", code)
			}
			p = startDrillChorus(t, bin, srv, db, "chorus again")
			p.waitReady(ctx)
			if f := p.logged("occupancy restored"); f != nil {
				t.Logf("restored %v rooms, %v sessions in %v ms", f["rooms"], f["sessions"], f["took"])
			}
			stillThere(ctx, clients, "after")
			for i, room := range []struct {
				jid  string
				want []string
			}{{clients[0].room, []string{"Alice", "Bob"}}, {clients[2].room, []string{"Carol", "Dave"}}} {
				newcomer := dialDrill(ctx, t, srv.c2s, fmt.Sprintf("erin%d", i), room.jid, "Erin")
				if got := newcomer.occupantsSeen(ctx); !slices.Equal(got, room.want) {
					t.Errorf("%s: a newcomer sees %v, want %v", room.jid, got, room.want)
				}
			}
			noneLeft(t, clients)
		})
	}
}

// crashDrillRounds is how many times TestDrillCrash kills Chorus.
const crashDrillRounds = 20

// TestDrillCrash kills Chorus with SIGKILL while one user talks, round after
// round: each time the occupants are still there and talk goes on, and
// every message the room echoed before the kill (once the archive has
// shown it: it is written behind, README, Storage) is still archived.
func TestDrillCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("drills skipped in -short mode")
	}
	bin := buildChorus(t)
	srv := startDrillProsody(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p, clients, reader := startDrill(ctx, t, bin, srv, db)

	alice := clients[0]
	acknowledged := map[string]bool{}
	for round := 0; round < crashDrillRounds; round++ {
		// Traffic: Alice talks until the kill; what the room echoes is
		// acknowledged.
		from := alice.mark()
		stop := keepSending(20*time.Millisecond, func(i int) {
			alice.conn.Send(stanza.MustParse(fmt.Sprintf(`<message type='groupchat' id='traffic-%d-%d' to='%s'><body>traffic-%d-%d</body></message>`, round, i, alice.room, round, i)))
		})
		talk(ctx, clients, fmt.Sprintf("round %d", round))
		waitLive(ctx, t, reader, len(clients))
		echoed := map[string]bool{}
		alice.mu.Lock()
		for _, e := range alice.got[from:] {
			if b := e.ChildText(stanza.NSClient, "body"); e.Local == "message" && e.Attr("type") == "groupchat" && strings.HasPrefix(b, "traffic-") {
				echoed[b] = true
			}
		}
		alice.mu.Unlock()
		if err := waitArchived(ctx, reader, alice.room, echoed); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		p.kill()
		stop()
		for b := range echoed {
			acknowledged[b] = true
		}
		p = startDrillChorus(t, bin, srv, db, fmt.Sprintf("chorus after kill %d", round+1))
		p.waitReady(ctx)
		for _, c := range clients {
			c.selfPing(ctx, fmt.Sprintf("ping-%d", round))
		}
	}
	stillThere(ctx, clients, "after the kills")
	if err := waitArchived(ctx, reader, alice.room, acknowledged); err != nil {
		t.Errorf("after %d kills: %v", crashDrillRounds, err)
	}
	if len(acknowledged) == 0 {
		t.Fatal("nothing was acknowledged: the drill checked nothing")
	}
	t.Logf("%d kills, %d messages acknowledged, none lost", crashDrillRounds, len(acknowledged))
	noneLeft(t, clients)
}

// TestDrillFailover runs two Chorus instances for one domain on one
// PostgreSQL: one serves, the other waits as a hot standby; killing the
// active one hands the rooms to the standby with their occupants; an active
// one that loses its database connection stops serving at once, and none
// of its writes lands once another instance has taken over.
func TestDrillFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("drills skipped in -short mode")
	}
	base := os.Getenv(PostgresEnv)
	if base == "" {
		require(t, fmt.Errorf("failover drill skipped: set %s=postgres://...", PostgresEnv))
	}
	url := freshSchema(t, base)
	bin := buildChorus(t)
	srv := startDrillProsody(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	a, clients, reader := startDrill(ctx, t, bin, srv, url)
	b := startDrillChorus(t, bin, srv, url, "chorus B")
	b.waitStandby(ctx)
	if code, _ := b.get("/healthz"); code != http.StatusOK {
		t.Errorf("a standby's /healthz answers %d", code)
	}
	if code, _ := a.get("/readyz"); code != http.StatusOK {
		t.Fatalf("the active instance's /readyz answers %d beside a standby", code)
	}
	waitLive(ctx, t, reader, len(clients))

	// Kill the active one under traffic; the takeover time is until the
	// first message sent after the kill reaches Bob.
	alice, bob := clients[0], clients[1]
	var sent sync.Map // body -> when
	stop := keepSending(10*time.Millisecond, func(i int) {
		body := fmt.Sprintf("ft-%d", i)
		sent.Store(body, time.Now())
		alice.conn.Send(stanza.MustParse(`<message type='groupchat' id='` + body + `' to='` + alice.room + `'><body>` + body + `</body></message>`))
	})
	time.Sleep(200 * time.Millisecond)
	from := bob.mark()
	a.kill()
	killed := time.Now()
	first := bob.waitFrom(ctx, from, "message after the takeover", func(e *stanza.Element) bool {
		when, ok := sent.Load(e.ChildText(stanza.NSClient, "body"))
		return e.Local == "message" && e.Attr("type") == "groupchat" && ok && when.(time.Time).After(killed)
	})
	takeover := time.Since(killed)
	stop()
	t.Logf("takeover: %v from SIGKILL of the active instance to the first message delivered (%s)",
		takeover.Round(time.Millisecond), first.ChildText(stanza.NSClient, "body"))
	b.waitReady(ctx)
	if f := b.logged("occupancy restored"); f != nil {
		t.Logf("standby restored %v rooms, %v sessions in %v ms", f["rooms"], f["sessions"], f["took"])
	}
	stillThere(ctx, clients, "after the takeover")

	// A third instance waits; B loses its database connection while
	// frozen, so that it goes on as if still active when it resumes.
	c := startDrillChorus(t, bin, srv, url, "chorus C")
	c.waitStandby(ctx)
	schema := schemaOf(t, url)
	b.signal(syscall.SIGSTOP)
	terminateLease(ctx, t, base, schema, Service)
	c.waitHTTP(ctx, "/readyz", "active", func(_ int, body string) bool { return !strings.Contains(body, "standby") })
	// A configuration change the deposed instance may still read.
	from = alice.mark()
	alice.send(`<iq type='set' id='deposed' to='` + alice.room + `'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='muc#roomconfig_roomname'><value>Written by the deposed</value></field></x></query></iq>`)
	for i := 0; i < 10; i++ {
		alice.send(fmt.Sprintf(`<message type='groupchat' id='frozen-%d' to='%s'><body>frozen-%d</body></message>`, i, alice.room, i))
	}
	time.Sleep(100 * time.Millisecond) // let them reach B's socket
	b.signal(syscall.SIGCONT)
	if code := b.exit(ctx); code == 0 {
		t.Errorf("the deposed instance exited with status 0, want non-zero")
	}
	t.Logf("log lines of the deposed instance about fenced writes: %d", strings.Count(b.log.String(), "fenced"))
	c.waitReady(ctx)
	stillThere(ctx, clients, "after the second takeover")
	answer := "none"
	alice.mu.Lock()
	for _, e := range alice.got[from:] {
		if e.Local == "iq" && e.Attr("id") == "deposed" {
			answer = e.String()
			if e.Attr("type") == "result" {
				t.Errorf("the deposed instance acknowledged a change: %s", e)
			}
		}
	}
	alice.mu.Unlock()
	t.Logf("the change sent to the deposed instance was answered: %s", answer)
	rs, err := reader.LoadRoom(ctx, alice.room)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(rs.Data), "Written by the deposed") {
		t.Errorf("a write of the deposed instance landed: %s", rs.Data)
	}
	archived, err := reader.Latest(ctx, alice.room, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range archived {
		if b := archivedBody(m.Stanza); strings.HasPrefix(b, "frozen-") {
			t.Errorf("a message archived by the deposed instance landed: %s", b)
		}
	}
	noneLeft(t, clients)

	// A standby stops at once when told, and the active one cleanly.
	d := startDrillChorus(t, bin, srv, url, "chorus D")
	d.waitStandby(ctx)
	if code := d.stop(ctx); code != 0 {
		t.Errorf("a standby exited with status %d after SIGTERM", code)
	}
	if code := c.stop(ctx); code != 0 {
		t.Errorf("the active instance exited with status %d after SIGTERM", code)
	}
}

// schemaOf is the schema freshSchema put first on url's search path.
func schemaOf(t *testing.T, url string) string {
	t.Helper()
	_, after, ok := strings.Cut(url, "search_path=")
	if !ok {
		t.Fatalf("no search_path in %s", url)
	}
	schema, _, _ := strings.Cut(after, "&")
	return schema
}

// terminateLease ends the PostgreSQL session that holds the domain's lease
// (its advisory lock, keyed as store.Acquire keys it), as a lost database
// connection would.
func terminateLease(ctx context.Context, t *testing.T, base, schema, domain string) {
	t.Helper()
	conn := pgConnect(ctx, t, base)
	defer conn.Close(ctx)
	var n int
	err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
		AND ((classid::bigint << 32) | objid::bigint) = hashtextextended('chorus:' || $1 || ':' || $2, 0)`,
		schema, domain).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d sessions hold the lease of %s, want 1", n, domain)
	}
}

// pgConnect opens a connection of the test's own to PostgreSQL.
func pgConnect(ctx context.Context, t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
