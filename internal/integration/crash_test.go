package integration

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"chorus/internal/fakehost"
	"chorus/internal/scansion"
	"chorus/stanza"
	"chorus/store"
)

// crashRounds is how many times Chorus is killed in TestCrashKeepsAcknowledged.
const crashRounds = 20

// TestCrashKeepsAcknowledged kills the chorus process with SIGKILL while a
// client changes affiliations and talks, restarts it on the same store, and
// checks that every acknowledged change survived, round after round.
//
// Affiliations are written before they are acknowledged, so every
// acknowledged one must survive. Messages are archived behind the echo, by
// a queue flushed every few milliseconds that a crash may lose (README,
// Storage); so before each kill the test picks the messages echoed so far,
// waits until the store shows them all (the flush it can observe, while
// traffic goes on), and requires exactly those after the restart.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	bin := buildChorus(t)
	h, err := fakehost.Start(fakehost.Options{Domain: Host, ComponentDomain: Service, Secret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	db := "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := dialCrashClient(ctx, h.C2SAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.conn.Close()

	const roomJID = "crash@" + Service
	members := map[string]bool{}  // acknowledged memberships
	messages := map[string]bool{} // messages seen in the archive before a kill
	var st store.Store            // the same file, read beside Chorus
	for round := 0; round < crashRounds; round++ {
		proc := startChorus(t, bin, h, db)
		if st == nil {
			// A reader: the running Chorus holds the database's lock.
			var err error
			if st, err = store.OpenReader(ctx, db); err != nil {
				t.Fatal(err)
			}
			defer st.Close()
		}
		if err := c.join(ctx, roomJID, round == 0); err != nil {
			proc.kill()
			t.Fatalf("round %d: join: %v", round, err)
		}
		if round > 0 {
			c.verify(ctx, t, round, roomJID, members, messages)
		}
		// Traffic until a random moment, then SIGKILL.
		stop := keepSending(2*time.Millisecond, func(i int) {
			member := fmt.Sprintf("m%d-%d@localhost", round, i)
			c.send(stanza.MustParse(fmt.Sprintf(`<iq type='set' id='aff-%s' to='%s'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member' jid='%s'/></query></iq>`, member, roomJID, member)))
			c.send(stanza.MustParse(fmt.Sprintf(`<message type='groupchat' id='msg-%d-%d' to='%s'><body>r%d-%d</body></message>`, round, i, roomJID, round, i)))
		})
		time.Sleep(time.Duration(400+rand.IntN(400)) * time.Millisecond)
		flushed := c.echoed()
		if err := waitArchived(ctx, st, roomJID, flushed); err != nil {
			proc.kill()
			t.Fatalf("round %d: %v", round, err)
		}
		proc.kill()
		stop()
		if err := h.WaitComponent(ctx, false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // let stanzas in flight arrive
		for _, m := range c.takeAcks() {
			members[m] = true
		}
		for body := range flushed {
			messages[body] = true
		}
		t.Logf("round %d: %d memberships and %d messages acknowledged so far", round, len(members), len(messages))
	}
	proc := startChorus(t, bin, h, db)
	defer proc.kill()
	if err := c.join(ctx, roomJID, false); err != nil {
		t.Fatal(err)
	}
	c.verify(ctx, t, crashRounds, roomJID, members, messages)
	if len(members) == 0 || len(messages) == 0 {
		t.Fatal("no traffic was acknowledged: the test checked nothing")
	}
}

func buildChorus(t *testing.T) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "chorus")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/chorus")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type chorusProc struct {
	cmd  *exec.Cmd
	once sync.Once
}

func startChorus(t *testing.T, bin string, h *fakehost.Host, db string) *chorusProc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "CHORUS_DOMAIN="+Service, "CHORUS_SECRET=secret",
		"CHORUS_SERVER="+h.ComponentAddr(), "CHORUS_STORE="+db, "CHORUS_LOG_LEVEL=warn",
		"CHORUS_ADMIN_SOCKET="+filepath.Join(t.TempDir(), "admin.sock"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &chorusProc{cmd: cmd}
	t.Cleanup(p.kill) // never leave one behind, whatever happens
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.WaitComponent(ctx, true); err != nil {
		p.kill()
		t.Fatalf("chorus did not connect: %v", err)
	}
	return p
}

func (p *chorusProc) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	})
}

// crashClient reads everything its connection receives and files it:
// IQ answers by id, MAM results, echoes of its own messages.
type crashClient struct {
	conn *scansion.Conn

	mu      sync.Mutex
	waiting map[string]chan *stanza.Element
	acks    []string        // member JIDs whose change was acknowledged
	echoes  map[string]bool // message bodies echoed by the room
	results []string        // bodies from MAM results
	joined  chan struct{}
}

func dialCrashClient(ctx context.Context, addr string) (*crashClient, error) {
	conn, err := scansion.Dial(ctx, addr, "owner@localhost/crash", "pw")
	if err != nil {
		return nil, err
	}
	c := &crashClient{conn: conn, waiting: map[string]chan *stanza.Element{}, echoes: map[string]bool{}}
	go c.read(ctx)
	return c, nil
}

func (c *crashClient) send(st *stanza.Element) { _ = c.conn.Send(st) }

func (c *crashClient) read(ctx context.Context) {
	for {
		st, err := c.conn.Next(ctx, time.Hour)
		if err != nil {
			return
		}
		c.mu.Lock()
		id := st.Attr("id")
		switch {
		case st.Local == "iq" && strings.HasPrefix(id, "aff-"):
			if st.Attr("type") == "result" {
				c.acks = append(c.acks, strings.TrimPrefix(id, "aff-"))
			}
		case st.Local == "iq":
			if ch := c.waiting[id]; ch != nil {
				ch <- st
				delete(c.waiting, id)
			}
		case st.Local == "message" && strings.HasPrefix(id, "msg-") && st.Attr("type") == "groupchat":
			c.echoes[st.ChildText(stanza.NSClient, "body")] = true
		case st.Local == "message" && st.Child("urn:xmpp:mam:2", "result") != nil:
			m := st.Child("urn:xmpp:mam:2", "result").Child("urn:xmpp:forward:0", "forwarded").Child(stanza.NSClient, "message")
			c.results = append(c.results, m.ChildText(stanza.NSClient, "body"))
		case st.Local == "presence" && c.joined != nil && strings.Contains(st.String(), "code='110'"):
			close(c.joined)
			c.joined = nil
		}
		c.mu.Unlock()
	}
}

// takeAcks returns the acknowledged memberships and forgets them and the
// echoes seen so far.
func (c *crashClient) takeAcks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.acks
	c.acks, c.echoes = nil, map[string]bool{}
	return a
}

// echoed returns the bodies of the messages echoed so far.
func (c *crashClient) echoed() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.echoes)
}

// waitArchived waits until the store holds every message in bodies: the
// archive queue's flush, seen from outside the process. The timeout only
// bounds the wait.
func waitArchived(ctx context.Context, st store.Store, roomJID string, bodies map[string]bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		msgs, err := st.Latest(ctx, roomJID, 1<<20)
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		missing := len(bodies)
		for _, m := range msgs {
			if b := archivedBody(m.Stanza); bodies[b] {
				missing--
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d echoed messages never reached the archive", missing, len(bodies))
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// archivedBody is the body of an archived message stanza.
func archivedBody(raw []byte) string {
	m, err := stanza.Parse(string(raw))
	if err != nil {
		return ""
	}
	for _, c := range m.Children() {
		if c.Local == "body" {
			return c.Text()
		}
	}
	return ""
}

// request sends an IQ and waits for its answer.
func (c *crashClient) request(ctx context.Context, iq string) (*stanza.Element, error) {
	st := stanza.MustParse(iq)
	ch := make(chan *stanza.Element, 1)
	c.mu.Lock()
	c.waiting[st.Attr("id")] = ch
	c.mu.Unlock()
	c.send(st)
	select {
	case res := <-ch:
		if res.Attr("type") != "result" {
			return nil, fmt.Errorf("error answer: %v", res)
		}
		return res, nil
	case <-time.After(20 * time.Second):
		return nil, fmt.Errorf("no answer to %s", st.Attr("id"))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// join enters the room (after a restart the old occupancy is gone) and,
// the first time, makes it persistent.
func (c *crashClient) join(ctx context.Context, roomJID string, create bool) error {
	joined := make(chan struct{})
	c.mu.Lock()
	c.joined = joined
	c.mu.Unlock()
	c.send(stanza.MustParse(`<presence to='` + roomJID + `/Owner'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`))
	select {
	case <-joined:
	case <-time.After(20 * time.Second):
		return fmt.Errorf("no self-presence")
	}
	if !create {
		return nil
	}
	_, err := c.request(ctx, `<iq type='set' id='cfg' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`+
		`<field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>`)
	return err
}

// verify checks the member list and the archive against what was
// acknowledged.
func (c *crashClient) verify(ctx context.Context, t *testing.T, round int, roomJID string, members, messages map[string]bool) {
	t.Helper()
	res, err := c.request(ctx, fmt.Sprintf(`<iq type='get' id='list-%d' to='%s'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='member'/></query></iq>`, round, roomJID))
	if err != nil {
		t.Fatalf("round %d: member list: %v", round, err)
	}
	have := map[string]bool{}
	for _, it := range res.FirstChild().Children() {
		have[it.Attr("jid")] = true
	}
	for m := range members {
		if !have[m] {
			t.Fatalf("round %d: acknowledged membership of %s lost after a crash", round, m)
		}
	}
	c.mu.Lock()
	c.results = nil
	c.mu.Unlock()
	after := ""
	for page := 0; ; page++ {
		rsm := "<max>1000</max>"
		if after != "" {
			rsm += "<after>" + after + "</after>"
		}
		res, err := c.request(ctx, fmt.Sprintf(`<iq type='set' id='mam-%d-%d' to='%s'><query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'>%s</set></query></iq>`, round, page, roomJID, rsm))
		if err != nil {
			t.Fatalf("round %d: archive query: %v", round, err)
		}
		fin := res.Child("urn:xmpp:mam:2", "fin")
		if fin.Attr("complete") == "true" {
			break
		}
		after = fin.Child("http://jabber.org/protocol/rsm", "set").ChildText("http://jabber.org/protocol/rsm", "last")
	}
	c.mu.Lock()
	archived := map[string]bool{}
	for _, b := range c.results {
		archived[b] = true
	}
	c.mu.Unlock()
	for body := range messages {
		if !archived[body] {
			t.Fatalf("round %d: message %q, in the archive before a crash, is lost", round, body)
		}
	}
}
