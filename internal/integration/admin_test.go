package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"chorus/cmd/chorus/adminapi"
	"chorus/forms"
	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// The operators' tools against a real Prosody: the chorus binary serves
// its admin socket, "chorus admin" runs as a process of its own, and what
// each command does is checked both in its answer and in what real XMPP
// clients are told; the store is read beside the running service to see
// that a change was written before the command reported success. The same
// service answers XEP-0050 ad-hoc commands from an administrator's client,
// and refuses them to everyone else.

const nsCommands = "http://jabber.org/protocol/commands"

// The command nodes of component/commands.go.
var commandNodes = []string{
	"urn:chorus:muc:admin#rooms",
	"urn:chorus:muc:admin#room",
	"http://prosody.im/protocol/muc#destroy",
	"urn:chorus:muc:admin#affiliation",
	"urn:chorus:muc:admin#ban",
	"urn:chorus:muc:admin#unban",
	"urn:chorus:muc:admin#announce",
}

// adminService is one Prosody and one chorus process with an admin
// socket, shared by the subtests of TestAdmin.
type adminService struct {
	bin, socket, db, c2s string
	reader               store.Store
}

// run runs "chorus admin args..." on the service's socket; as the user
// cred when not nil.
func (s *adminService) run(cred *syscall.Credential, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(s.bin, append([]string{"admin"}, args...)...)
	cmd.Env = append(os.Environ(), "CHORUS_ADMIN_SOCKET="+s.socket)
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		return "", err.Error(), -1
	}
	return out.String(), errb.String(), code
}

// ok runs a command with --json, fails the test unless it succeeds, and
// decodes its result into v (when not nil).
func (s *adminService) ok(t *testing.T, v any, args ...string) {
	t.Helper()
	stdout, stderr, code := s.run(nil, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("chorus admin %s: status %d: %s", strings.Join(args, " "), code, stderr)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(stdout), v); err != nil {
			t.Fatalf("chorus admin %s: %v: %q", strings.Join(args, " "), err, stdout)
		}
	}
}

// text runs a command without --json and fails the test unless it
// succeeds; it returns what it printed.
func (s *adminService) text(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := s.run(nil, args...)
	if code != 0 {
		t.Fatalf("chorus admin %s: status %d: %s", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// stored returns what the store holds of a room, read beside the service.
func (s *adminService) stored(ctx context.Context, t *testing.T, roomJID string) *store.RoomState {
	t.Helper()
	rs, err := s.reader.LoadRoom(ctx, roomJID)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// storedAff is the stored affiliation of user in a room, "" if none.
func (s *adminService) storedAff(ctx context.Context, t *testing.T, roomJID, user string) string {
	t.Helper()
	rs := s.stored(ctx, t, roomJID)
	if rs == nil {
		t.Fatalf("%s is not stored", roomJID)
	}
	for _, a := range rs.Affiliations {
		if a.JID == user {
			return a.Affiliation
		}
	}
	return ""
}

// storedBans are the service bans the store holds.
func (s *adminService) storedBans(ctx context.Context, t *testing.T) map[string]string {
	t.Helper()
	bans, err := s.reader.(store.BanStore).LoadBans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, b := range bans {
		m[b.JID] = b.Reason
	}
	return m
}

// TestAdmin runs the operators' tools on one chorus process against one
// Prosody: the admin socket through "chorus admin", the ad-hoc commands
// through an administrator's client, and what others may not do.
func TestAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	bin := buildChorus(t)
	srv := startDrillProsody(t)
	db := "sqlite://" + filepath.Join(t.TempDir(), "chorus.db")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := startDrillChorus(t, bin, srv, db, "chorus")
	p.waitReady(ctx)
	reader, err := store.OpenReader(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	s := &adminService{bin: bin, socket: drillSocket(t), db: db, c2s: srv.c2s, reader: reader}

	t.Run("CLI", func(t *testing.T) { testAdminCLI(ctx, t, s) })
	t.Run("AdHoc", func(t *testing.T) { testAdminAdHoc(ctx, t, s) })
	t.Run("AdHocRefused", func(t *testing.T) { testAdHocRefused(ctx, t, s) })
	t.Run("AdHocMalformed", func(t *testing.T) { testAdHocMalformed(ctx, t, s) })
	t.Run("CLIMalformed", func(t *testing.T) { testAdminCLIMalformed(ctx, t, s) })
	t.Run("SocketOwnerOnly", func(t *testing.T) { testAdminSocketOwnerOnly(t, s) })
}

// mucUser is the muc#user payload of a stanza, nil if none.
func mucUser(e *stanza.Element) *stanza.Element { return e.Child(stanza.NSMUCUser, "x") }

// hasStatus reports whether a room's stanza carries the status code.
func hasStatus(e *stanza.Element, code string) bool {
	x := mucUser(e)
	if x == nil {
		return false
	}
	for _, s := range x.ChildrenNamed(stanza.NSMUCUser, "status") {
		if s.Attr("code") == code {
			return true
		}
	}
	return false
}

// presenceOf matches the presence of the occupant room/nick with type typ
// ("" for available) that satisfies more, if not nil.
func presenceOf(roomJID, nick, typ string, more func(*stanza.Element) bool) func(*stanza.Element) bool {
	return func(e *stanza.Element) bool {
		return e.Local == "presence" && e.Attr("from") == roomJID+"/"+nick && e.Attr("type") == typ && (more == nil || more(e))
	}
}

// itemAffiliation is the affiliation in a presence's muc#user item.
func itemAffiliation(e *stanza.Element) string {
	if x := mucUser(e); x != nil {
		if it := x.Child(stanza.NSMUCUser, "item"); it != nil {
			return it.Attr("affiliation")
		}
	}
	return ""
}

// fromRoom matches a groupchat message from the room itself with body.
func fromRoom(roomJID, body string) func(*stanza.Element) bool {
	return func(e *stanza.Element) bool {
		return e.Local == "message" && e.Attr("type") == "groupchat" && e.Attr("from") == roomJID &&
			e.ChildText(stanza.NSClient, "body") == body
	}
}

// ask sends an IQ and returns its answer, a result or an error.
func (c *drillClient) ask(ctx context.Context, what, iq string) *stanza.Element {
	c.t.Helper()
	id := stanza.MustParse(iq).Attr("id")
	from := c.mark()
	c.send(iq)
	return c.waitFrom(ctx, from, "answer to "+what, func(e *stanza.Element) bool {
		return e.Local == "iq" && e.Attr("id") == id && (e.Attr("type") == "result" || e.Attr("type") == "error")
	})
}

// joinRefused tries to enter the room and returns the error it gets;
// it fails the test if it gets in.
func (c *drillClient) joinRefused(ctx context.Context) stanza.Error {
	c.t.Helper()
	from := c.mark()
	c.send(`<presence to='` + c.room + `/` + c.nick + `'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	e := c.waitFrom(ctx, from, "answer to a join", func(e *stanza.Element) bool {
		return e.Local == "presence" && e.Attr("from") == c.room+"/"+c.nick && (e.Attr("type") == "error" || hasStatus(e, "110"))
	})
	if e.Attr("type") != "error" {
		c.t.Fatalf("%s entered %s: %s", c.nick, c.room, e)
	}
	return stanza.ErrorOf(e)
}

// archived asks the room's archive (XEP-0313) for everything it holds
// and returns the bodies, oldest first.
func (c *drillClient) archived(ctx context.Context, id string) []string {
	c.t.Helper()
	from := c.mark()
	c.request(ctx, "archive query", `<iq type='set' id='`+id+`' to='`+c.room+`'><query xmlns='urn:xmpp:mam:2' queryid='`+id+`'/></iq>`)
	c.mu.Lock()
	defer c.mu.Unlock()
	bodies := []string{}
	for _, e := range c.got[from:] {
		if r := e.Child("urn:xmpp:mam:2", "result"); e.Local == "message" && r != nil && r.Attr("queryid") == id {
			if m := r.Child("urn:xmpp:forward:0", "forwarded").Child(stanza.NSClient, "message"); m != nil {
				bodies = append(bodies, m.ChildText(stanza.NSClient, "body"))
			}
		}
	}
	return bodies
}

// discoRooms lists the rooms the service shows in its room list.
func (c *drillClient) discoRooms(ctx context.Context) []string {
	c.t.Helper()
	res := c.request(ctx, "room list", `<iq type='get' id='items' to='`+Service+`'><query xmlns='`+stanza.NSDiscoItems+`'/></iq>`)
	var rooms []string
	for _, it := range res.Child(stanza.NSDiscoItems, "query").ChildrenNamed(stanza.NSDiscoItems, "item") {
		rooms = append(rooms, it.Attr("jid"))
	}
	return rooms
}

// say sends a groupchat message and waits for the room's echo.
func (c *drillClient) say(ctx context.Context, body string) {
	c.t.Helper()
	from := c.mark()
	c.send(`<message type='groupchat' id='` + strings.ReplaceAll(body, " ", "-") + `' to='` + c.room + `'><body>` + body + `</body></message>`)
	c.waitFrom(ctx, from, "echo of "+body, said(c.room, body))
}

func testAdminCLI(ctx context.Context, t *testing.T, s *adminService) {
	const lounge, made, other = "lounge@" + Service, "made@" + Service, "other@" + Service
	alice := dialDrill(ctx, t, s.c2s, "alice", lounge, "Alice")
	bob := dialDrill(ctx, t, s.c2s, "bob", lounge, "Bob")
	carol := dialDrill(ctx, t, s.c2s, "carol", lounge, "Carol")
	dave := dialDrill(ctx, t, s.c2s, "dave", other, "Dave")
	alice.join(ctx, map[string]string{"muc#roomconfig_persistentroom": "1"})
	bob.join(ctx, nil)
	carol.join(ctx, nil)
	dave.join(ctx, map[string]string{})
	inLounge := []*drillClient{alice, bob, carol}

	// create: the room exists, unlocked, stored before the answer, and
	// in the room list.
	var created struct{ Room string }
	s.ok(t, &created, "create", made, "--owner", "alice@localhost", "--name", "Made by ops", "--persistent", "--public")
	if created.Room != made {
		t.Errorf("create answered %+v", created)
	}
	if aff := s.storedAff(ctx, t, made, "alice@localhost"); aff != "owner" {
		t.Errorf("the store holds alice as %q of the created room, want owner", aff)
	}
	if rooms := bob.discoRooms(ctx); !slices.Contains(rooms, made) {
		t.Errorf("the room list does not show the created room: %v", rooms)
	}
	info := bob.request(ctx, "disco#info of the created room", `<iq type='get' id='made-info' to='`+made+`'><query xmlns='`+stanza.NSDiscoInfo+`'/></iq>`)
	if id := info.Child(stanza.NSDiscoInfo, "query").Child(stanza.NSDiscoInfo, "identity"); id == nil || id.Attr("name") != "Made by ops" {
		t.Errorf("disco#info of the created room: %s", info)
	}
	if out := s.text(t, "create", "text@"+Service, "--owner", "alice@localhost", "--persistent"); strings.TrimSpace(out) != "created" {
		t.Errorf("create prints %q", out)
	}

	// rooms: every room, with its occupants and flags.
	var rooms []room.RoomInfo
	s.ok(t, &rooms, "rooms")
	byJID := map[string]room.RoomInfo{}
	for _, r := range rooms {
		byJID[r.JID] = r
	}
	if r := byJID[lounge]; r.Occupants != 3 || !r.Persistent {
		t.Errorf("rooms shows the lounge as %+v", r)
	}
	if r := byJID[made]; r.Occupants != 0 || !r.Persistent || !r.Public || r.Name != "Made by ops" {
		t.Errorf("rooms shows the created room as %+v", r)
	}
	if r := byJID[other]; r.Occupants != 1 || r.Persistent {
		t.Errorf("rooms shows the temporary room as %+v", r)
	}
	if out := s.text(t, "rooms"); !strings.Contains(out, "OCCUPANTS") || !strings.Contains(out, made) || !strings.Contains(out, "Made by ops") {
		t.Errorf("rooms prints:\n%s", out)
	}

	// room: configuration, affiliations, occupants.
	var d room.RoomDetail
	s.ok(t, &d, "room", lounge)
	var occ []string
	for _, o := range d.Occupants {
		occ = append(occ, o.Nick+"="+o.JID+"/"+o.Role+"/"+o.Affiliation)
	}
	slices.Sort(occ)
	if want := []string{"Alice=alice@localhost/moderator/owner", "Bob=bob@localhost/participant/none", "Carol=carol@localhost/participant/none"}; !slices.Equal(occ, want) {
		t.Errorf("room shows the occupants %v, want %v", occ, want)
	}
	if !d.Config.Persistent || d.JID != lounge || len(d.Affiliations) != 1 || d.Affiliations[0].JID != "alice@localhost" || d.Affiliations[0].Affiliation != "owner" {
		t.Errorf("room shows %+v", d)
	}
	if out := s.text(t, "room", lounge); !strings.Contains(out, "carol@localhost") || !strings.Contains(out, "persistent") {
		t.Errorf("room prints:\n%s", out)
	}

	// affiliation: occupants see the change; an outcast is removed (301).
	marks := marksOf(inLounge)
	var sent adminapi.Sent
	s.ok(t, &sent, "affiliation", lounge, "bob@localhost", "member", "--reason", "regular")
	for i, c := range inLounge {
		c.waitFrom(ctx, marks[i], "Bob's membership", presenceOf(lounge, "Bob", "", func(e *stanza.Element) bool { return itemAffiliation(e) == "member" }))
	}
	if sent.Stanzas < 3 {
		t.Errorf("affiliation reports %d stanzas sent to 3 occupants", sent.Stanzas)
	}
	if aff := s.storedAff(ctx, t, lounge, "bob@localhost"); aff != "member" {
		t.Errorf("the store holds bob as %q, want member", aff)
	}
	marks = marksOf(inLounge)
	s.ok(t, nil, "affiliation", lounge, "carol@localhost", "outcast", "--reason", "trolling")
	for i, c := range inLounge {
		e := c.waitFrom(ctx, marks[i], "Carol's removal", presenceOf(lounge, "Carol", "unavailable", func(e *stanza.Element) bool { return hasStatus(e, "301") }))
		if c == carol && !hasStatus(e, "110") {
			t.Errorf("Carol is not told it is her own removal: %s", e)
		}
		if r := mucUser(e).Child(stanza.NSMUCUser, "item").ChildText(stanza.NSMUCUser, "reason"); r != "trolling" {
			t.Errorf("%s: the removal gives the reason %q", c.nick, r)
		}
	}
	if aff := s.storedAff(ctx, t, lounge, "carol@localhost"); aff != "outcast" {
		t.Errorf("the store holds carol as %q, want outcast", aff)
	}
	if e := carol.joinRefused(ctx); e.Condition != stanza.Forbidden {
		t.Errorf("an outcast's join is refused with %v, want forbidden", e)
	}
	s.ok(t, nil, "affiliation", lounge, "carol@localhost", "none")
	if aff := s.storedAff(ctx, t, lounge, "carol@localhost"); aff != "" {
		t.Errorf("the store holds carol as %q after none", aff)
	}
	carol.join(ctx, nil)

	// kick: everyone is told, with 307.
	marks = marksOf(inLounge)
	s.ok(t, &sent, "kick", lounge, "Carol", "--reason", "cool down")
	for i, c := range inLounge {
		c.waitFrom(ctx, marks[i], "Carol's kick", presenceOf(lounge, "Carol", "unavailable", func(e *stanza.Element) bool { return hasStatus(e, "307") }))
	}
	carol.join(ctx, nil)

	// ban: service-wide; the occupant is removed with 301, refused
	// entry, and may enter again once unbanned.
	marks = marksOf(inLounge)
	s.ok(t, nil, "ban", "carol@localhost", "--reason", "spam")
	for i, c := range inLounge {
		c.waitFrom(ctx, marks[i], "Carol's ban", presenceOf(lounge, "Carol", "unavailable", func(e *stanza.Element) bool { return hasStatus(e, "301") }))
	}
	if bans := s.storedBans(ctx, t); bans["carol@localhost"] != "spam" {
		t.Errorf("the store holds the bans %v", bans)
	}
	var bans []room.ServiceBan
	s.ok(t, &bans, "bans")
	if len(bans) != 1 || bans[0].JID != "carol@localhost" || bans[0].Reason != "spam" {
		t.Errorf("bans shows %+v", bans)
	}
	if out := s.text(t, "bans"); !strings.Contains(out, "carol@localhost") || !strings.Contains(out, "spam") {
		t.Errorf("bans prints:\n%s", out)
	}
	if e := carol.joinRefused(ctx); e.Condition != stanza.Forbidden {
		t.Errorf("a banned user's join is refused with %v, want forbidden", e)
	}
	if out := s.text(t, "unban", "carol@localhost"); strings.TrimSpace(out) != "unbanned" {
		t.Errorf("unban prints %q", out)
	}
	if bans := s.storedBans(ctx, t); len(bans) != 0 {
		t.Errorf("the store holds the bans %v after unban", bans)
	}
	carol.join(ctx, nil)

	// say: from the room itself; --all to every room with occupants.
	marks = marksOf(inLounge)
	s.ok(t, nil, "say", lounge, "maintenance", "at", "noon")
	for i, c := range inLounge {
		c.waitFrom(ctx, marks[i], "the operators' message", fromRoom(lounge, "maintenance at noon"))
	}
	everyone := append(slices.Clone(inLounge), dave)
	marks = marksOf(everyone)
	s.ok(t, nil, "say", "--all", "back", "soon")
	for i, c := range everyone {
		c.waitFrom(ctx, marks[i], "the announcement", fromRoom(c.room, "back soon"))
	}

	// purge: --before keeps what came after; without it, nothing is left.
	alice.say(ctx, "old news")
	// The archive keeps times to the millisecond: the cut is the next
	// one, and the fresh news is sent once it has passed.
	cut := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	for !time.Now().After(cut) {
		time.Sleep(time.Until(cut) + 100*time.Microsecond)
	}
	alice.say(ctx, "fresh news")
	var purged adminapi.Purged
	s.ok(t, &purged, "purge", lounge, "--before", cut.UTC().Format(time.RFC3339Nano))
	if purged.Messages < 1 {
		t.Errorf("purge --before deleted %d messages", purged.Messages)
	}
	if got := alice.archived(ctx, "mam1"); !slices.Equal(got, []string{"fresh news"}) {
		t.Errorf("after purge --before, the archive holds %q, want only the message after", got)
	}
	if out := s.text(t, "purge", lounge); !strings.Contains(out, "1 archived messages deleted") {
		t.Errorf("purge prints %q", out)
	}
	if got := bob.archived(ctx, "mam2"); len(got) != 0 {
		t.Errorf("after purge, the archive holds %q", got)
	}

	// unused: the empty persistent rooms without messages; --destroy
	// destroys them.
	var unused adminapi.UnusedRooms
	s.ok(t, &unused, "unused", "--days", "1")
	if want := []string{made, "text@" + Service}; !slices.Equal(unused.Rooms, want) || unused.Destroyed {
		t.Errorf("unused lists %+v, want %v", unused, want)
	}
	if s.stored(ctx, t, made) == nil {
		t.Errorf("unused without --destroy removed %s", made)
	}
	s.ok(t, &unused, "unused", "--days", "1", "--destroy")
	if want := []string{made, "text@" + Service}; !slices.Equal(unused.Rooms, want) || !unused.Destroyed {
		t.Errorf("unused --destroy answers %+v, want %v destroyed", unused, want)
	}
	if rs := s.stored(ctx, t, made); rs != nil && rs.Tombstone == nil {
		t.Errorf("the store still holds %s after unused --destroy", made)
	}
	if rooms := bob.discoRooms(ctx); slices.Contains(rooms, made) {
		t.Errorf("the room list still shows %s: %v", made, rooms)
	}

	// destroy: occupants are told the reason and where to go.
	marks = marksOf(inLounge)
	s.ok(t, nil, "destroy", lounge, "--reason", "moving", "--alt", other)
	for i, c := range inLounge {
		e := c.waitFrom(ctx, marks[i], "the room's destruction", presenceOf(lounge, c.nick, "unavailable", nil))
		dst := mucUser(e).Child(stanza.NSMUCUser, "destroy")
		if dst == nil || dst.Attr("jid") != other || dst.ChildText(stanza.NSMUCUser, "reason") != "moving" {
			t.Errorf("%s is told of the destruction: %s", c.nick, e)
		}
	}
	if rs := s.stored(ctx, t, lounge); rs == nil || rs.Tombstone == nil || rs.Tombstone.Alt != other || rs.Tombstone.Reason != "moving" {
		t.Errorf("the store holds the destroyed room as %+v", rs)
	}
	var after []room.RoomInfo
	s.ok(t, &after, "rooms")
	for _, r := range after {
		if r.JID == lounge {
			t.Errorf("rooms still lists the destroyed room: %+v", r)
		}
	}
}

func marksOf(clients []*drillClient) []int {
	m := make([]int, len(clients))
	for i, c := range clients {
		m[i] = c.mark()
	}
	return m
}

// command builds an ad-hoc command request to the service: with fields
// (var, value, var, value...), a submitted form; a var given twice gets
// both values.
func command(id, node string, fields ...string) string {
	if fields == nil {
		return `<iq type='set' id='` + id + `' to='` + Service + `'><command xmlns='` + nsCommands + `' node='` + node + `' action='execute'/></iq>`
	}
	f := &forms.Form{Type: forms.TypeSubmit}
	for i := 0; i+1 < len(fields); i += 2 {
		if fd := f.Field(fields[i]); fd != nil {
			fd.Values = append(fd.Values, fields[i+1])
		} else {
			f.Add(forms.Field{Var: fields[i], Values: []string{fields[i+1]}})
		}
	}
	return `<iq type='set' id='` + id + `' to='` + Service + `'><command xmlns='` + nsCommands + `' node='` + node + `' action='complete'>` +
		f.Element().String() + `</command></iq>`
}

// run executes a command: it gets the form, if the command has one, then
// submits fields in the same session. It returns the completed command.
func (c *drillClient) run(ctx context.Context, node string, fields ...string) *stanza.Element {
	c.t.Helper()
	first := c.request(ctx, "execute "+node, command("x1", node)).Child(nsCommands, "command")
	if fields == nil {
		if first.Attr("status") != "completed" {
			c.t.Fatalf("%s without input: %s", node, first)
		}
		return first
	}
	if first.Attr("status") != "executing" || first.Child(forms.NS, "x") == nil || first.Attr("sessionid") == "" {
		c.t.Fatalf("%s offers no form: %s", node, first)
	}
	form, err := forms.Parse(first.Child(forms.NS, "x"))
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i < len(fields); i += 2 {
		if form.Field(fields[i]) == nil {
			c.t.Fatalf("%s's form has no field %s: %s", node, fields[i], first)
		}
	}
	iq := stanza.MustParse(command("x2", node, fields...))
	iq.Child(nsCommands, "command").SetAttr("sessionid", first.Attr("sessionid"))
	res := c.request(ctx, "submit "+node, iq.String()).Child(nsCommands, "command")
	if res.Attr("status") != "completed" {
		c.t.Fatalf("%s: %s", node, res)
	}
	return res
}

// notes are the texts of a command's notes of type typ.
func notes(cmd *stanza.Element, typ string) string {
	var s []string
	for _, n := range cmd.ChildrenNamed(nsCommands, "note") {
		if n.Attr("type") == typ || (typ == "info" && n.Attr("type") == "") {
			s = append(s, n.Text())
		}
	}
	return strings.Join(s, "\n")
}

func testAdminAdHoc(ctx context.Context, t *testing.T, s *adminService) {
	const hall = "hall@" + Service
	admin := dialDrill(ctx, t, s.c2s, "admin", hall, "Admin")
	erin := dialDrill(ctx, t, s.c2s, "erin", hall, "Erin")
	frank := dialDrill(ctx, t, s.c2s, "frank", hall, "Frank")
	erin.join(ctx, map[string]string{"muc#roomconfig_persistentroom": "1"})
	frank.join(ctx, nil)
	inHall := []*drillClient{erin, frank}

	// The list of commands, in the order of commands.go.
	res := admin.request(ctx, "command list", `<iq type='get' id='cmds' to='`+Service+`'><query xmlns='`+stanza.NSDiscoItems+`' node='`+nsCommands+`'/></iq>`)
	var nodes []string
	for _, it := range res.Child(stanza.NSDiscoItems, "query").ChildrenNamed(stanza.NSDiscoItems, "item") {
		nodes = append(nodes, it.Attr("node"))
		if it.Attr("jid") != Service || it.Attr("name") == "" {
			t.Errorf("command item %s", it)
		}
	}
	if !slices.Equal(nodes, commandNodes) {
		t.Errorf("an administrator is offered %v, want %v", nodes, commandNodes)
	}

	// List rooms: no input; one line per room, starting with its address,
	// in a text field (clients such as Gajim render no tables).
	cmd := admin.run(ctx, "urn:chorus:muc:admin#rooms")
	var listed []string
	if list, err := forms.Parse(cmd.Child(forms.NS, "x")); err == nil {
		if f := list.Field("rooms"); f != nil {
			for _, line := range f.Values {
				listed = append(listed, strings.TrimSuffix(strings.Fields(line)[0], ":"))
			}
		}
	}
	if !slices.Contains(listed, hall) {
		t.Errorf("the room list of the command lacks %s: %v", hall, listed)
	}

	// Room information.
	cmd = admin.run(ctx, "urn:chorus:muc:admin#room", "room", hall)
	detail, err := forms.Parse(cmd.Child(forms.NS, "x"))
	if err != nil {
		t.Fatal(err)
	}
	occ := strings.Join(detail.Field("occupants").Values, "\n")
	if !strings.Contains(occ, "Erin: erin@localhost, moderator, owner") || !strings.Contains(occ, "Frank: frank@localhost, participant, none") ||
		detail.Field("persistent").Value() != "true" && detail.Field("persistent").Value() != "1" {
		t.Errorf("room information: %s", cmd)
	}

	// Set an affiliation: occupants are told, the store holds it.
	marks := marksOf(inHall)
	cmd = admin.run(ctx, "urn:chorus:muc:admin#affiliation", "room", hall, "jid", "frank@localhost", "affiliation", "admin", "reason", "helper")
	for i, c := range inHall {
		c.waitFrom(ctx, marks[i], "Frank's promotion", presenceOf(hall, "Frank", "", func(e *stanza.Element) bool { return itemAffiliation(e) == "admin" }))
	}
	if !strings.Contains(notes(cmd, "info"), "frank@localhost is now admin") {
		t.Errorf("affiliation: %s", cmd)
	}
	if aff := s.storedAff(ctx, t, hall, "frank@localhost"); aff != "admin" {
		t.Errorf("the store holds frank as %q, want admin", aff)
	}

	// Ban from the service, and lift the ban.
	gina := dialDrill(ctx, t, s.c2s, "gina", hall, "Gina")
	gina.join(ctx, nil)
	inHall = append(inHall, gina)
	marks = marksOf(inHall)
	cmd = admin.run(ctx, "urn:chorus:muc:admin#ban", "jid", "gina@localhost", "reason", "flooding")
	for i, c := range inHall {
		c.waitFrom(ctx, marks[i], "Gina's ban", presenceOf(hall, "Gina", "unavailable", func(e *stanza.Element) bool { return hasStatus(e, "301") }))
	}
	if bans := s.storedBans(ctx, t); bans["gina@localhost"] != "flooding" {
		t.Errorf("the store holds the bans %v", bans)
	}
	if e := gina.joinRefused(ctx); e.Condition != stanza.Forbidden {
		t.Errorf("a banned user's join is refused with %v, want forbidden", e)
	}
	first := admin.request(ctx, "unban form", command("ub", "urn:chorus:muc:admin#unban")).Child(nsCommands, "command")
	if !strings.Contains(first.Child(forms.NS, "x").ChildText(forms.NS, "instructions"), "gina@localhost") {
		t.Errorf("the unban form does not name who is banned: %s", first)
	}
	cmd = admin.run(ctx, "urn:chorus:muc:admin#unban", "jid", "gina@localhost")
	if !strings.Contains(notes(cmd, "info"), "gina@localhost is lifted") {
		t.Errorf("unban: %s", cmd)
	}
	if bans := s.storedBans(ctx, t); len(bans) != 0 {
		t.Errorf("the store holds the bans %v after unban", bans)
	}
	gina.join(ctx, nil)

	// Announce: a message of each room with occupants.
	marks = marksOf(inHall)
	admin.run(ctx, "urn:chorus:muc:admin#announce", "text", "Upgrade tonight", "text", "Expect a short pause")
	for i, c := range inHall {
		c.waitFrom(ctx, marks[i], "the announcement", fromRoom(hall, "Upgrade tonight\nExpect a short pause"))
	}

	// Destroy rooms (Prosody's node): the form offers the room, the
	// occupants are told.
	first = admin.request(ctx, "destroy form", command("df", "http://prosody.im/protocol/muc#destroy")).Child(nsCommands, "command")
	form, err := forms.Parse(first.Child(forms.NS, "x"))
	if err != nil || form.Field("rooms") == nil || !slices.ContainsFunc(form.Field("rooms").Options, func(o forms.Option) bool { return o.Value == hall }) {
		t.Errorf("the destroy form does not offer %s: %s", hall, first)
	}
	marks = marksOf(inHall)
	cmd = admin.run(ctx, "http://prosody.im/protocol/muc#destroy", "rooms", hall)
	for i, c := range inHall {
		e := c.waitFrom(ctx, marks[i], "the room's destruction", presenceOf(hall, c.nick, "unavailable", nil))
		if mucUser(e).Child(stanza.NSMUCUser, "destroy") == nil {
			t.Errorf("%s is told: %s", c.nick, e)
		}
	}
	if !strings.Contains(notes(cmd, "info"), hall) {
		t.Errorf("destroy: %s", cmd)
	}
	if rs := s.stored(ctx, t, hall); rs == nil || rs.Tombstone == nil {
		t.Errorf("the store holds the destroyed room as %+v", rs)
	}
}

// testAdHocRefused: someone who is not a service administrator sees no
// command and is refused each one, with or without a filled form, and
// nothing changes.
func testAdHocRefused(ctx context.Context, t *testing.T, s *adminService) {
	const den = "den@" + Service
	owner := dialDrill(ctx, t, s.c2s, "henry", den, "Henry")
	owner.join(ctx, map[string]string{"muc#roomconfig_persistentroom": "1"})
	// Mallory owns a room of her own: owning one gives no right over the
	// service.
	mallory := dialDrill(ctx, t, s.c2s, "mallory", "lair@"+Service, "Mallory")
	mallory.join(ctx, map[string]string{"muc#roomconfig_persistentroom": "1"})

	var before room.RoomDetail
	s.ok(t, &before, "room", den)

	res := mallory.request(ctx, "command list", `<iq type='get' id='cmds' to='`+Service+`'><query xmlns='`+stanza.NSDiscoItems+`' node='`+nsCommands+`'/></iq>`)
	if items := res.Child(stanza.NSDiscoItems, "query").Children(); len(items) != 0 {
		t.Errorf("a user who is not an administrator is offered commands: %s", res)
	}
	for _, node := range commandNodes {
		info := mallory.ask(ctx, "disco#info of "+node, `<iq type='get' id='ci' to='`+Service+`'><query xmlns='`+stanza.NSDiscoInfo+`' node='`+node+`'/></iq>`)
		if strings.Contains(info.String(), "command-node") {
			t.Errorf("%s is described to a user who is not an administrator: %s", node, info)
		}
	}

	filled := map[string][]string{
		"urn:chorus:muc:admin#rooms":             {"x", "y"},
		"urn:chorus:muc:admin#room":              {"room", den},
		"http://prosody.im/protocol/muc#destroy": {"rooms", den},
		"urn:chorus:muc:admin#affiliation":       {"room", den, "jid", "mallory@localhost", "affiliation", "owner"},
		"urn:chorus:muc:admin#ban":               {"jid", "henry@localhost", "reason", "mine now"},
		"urn:chorus:muc:admin#unban":             {"jid", "henry@localhost"},
		"urn:chorus:muc:admin#announce":          {"text", "free coins"},
	}
	from := owner.mark()
	for _, node := range commandNodes {
		for i, iq := range []string{command("m1", node), command("m2", node, filled[node]...)} {
			e := mallory.ask(ctx, node, iq)
			if se := stanza.ErrorOf(e); e.Attr("type") != "error" || se.Condition != stanza.Forbidden || se.Type != stanza.Auth {
				t.Errorf("%s (%s) by a user who is not an administrator: %s", node, []string{"execute", "submit"}[i], e)
			}
			if e.Child(nsCommands, "command") != nil && e.Attr("type") != "error" {
				t.Errorf("%s answered with a command: %s", node, e)
			}
		}
	}
	// Nothing changed: the room, its owner's view, the bans.
	var after room.RoomDetail
	s.ok(t, &after, "room", den)
	if b, _ := json.Marshal(before); string(b) != string(mustJSON(t, after)) {
		t.Errorf("the room changed:\nbefore %s\nafter  %s", b, mustJSON(t, after))
	}
	if aff := s.storedAff(ctx, t, den, "mallory@localhost"); aff != "" {
		t.Errorf("mallory is %s of the room", aff)
	}
	if bans := s.storedBans(ctx, t); len(bans) != 0 {
		t.Errorf("bans: %v", bans)
	}
	owner.selfPing(ctx, "still-here")
	owner.mu.Lock()
	for _, e := range owner.got[from:] {
		if e.Local == "message" || (e.Local == "presence" && e.Attr("from") != den+"/Henry") {
			t.Errorf("the room's occupant was sent %s", e)
		}
	}
	owner.mu.Unlock()
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testAdHocMalformed: an administrator's form filled in wrongly gets an
// error that says what is wrong, and changes nothing.
func testAdHocMalformed(ctx context.Context, t *testing.T, s *adminService) {
	const nook = "nook@" + Service
	admin := dialDrill(ctx, t, s.c2s, "admin", nook, "Admin")
	ivan := dialDrill(ctx, t, s.c2s, "ivan", nook, "Ivan")
	ivan.join(ctx, map[string]string{"muc#roomconfig_persistentroom": "1"})
	var before room.RoomDetail
	s.ok(t, &before, "room", nook)

	for _, tc := range []struct {
		node   string
		fields []string
		cond   stanza.Condition
		text   string
	}{
		{"urn:chorus:muc:admin#room", []string{"x", "y"}, stanza.BadRequest, "The room address is required"},
		{"urn:chorus:muc:admin#room", []string{"room", "not a jid@@"}, stanza.BadRequest, "not the address of a room"},
		{"urn:chorus:muc:admin#room", []string{"room", "gone@" + Service}, stanza.ItemNotFound, "no such room"},
		{"urn:chorus:muc:admin#affiliation", []string{"room", nook, "affiliation", "member"}, stanza.BadRequest, "The user's JID is required"},
		{"urn:chorus:muc:admin#affiliation", []string{"room", nook, "jid", "bad@@jid", "affiliation", "member"}, stanza.BadRequest, "not a JID"},
		{"urn:chorus:muc:admin#affiliation", []string{"room", nook, "jid", "ivan@localhost", "affiliation", "king"}, stanza.BadRequest, "Unknown affiliation"},
		{"urn:chorus:muc:admin#affiliation", []string{"room", nook, "jid", "ivan@localhost", "affiliation", "none"}, stanza.Conflict, "owner"},
		{"urn:chorus:muc:admin#ban", []string{"reason", "no target"}, stanza.BadRequest, "required"},
		{"urn:chorus:muc:admin#ban", []string{"jid", "@@"}, stanza.BadRequest, "not a JID"},
		{"urn:chorus:muc:admin#unban", []string{"jid", "nobody@localhost"}, stanza.ItemNotFound, "not banned"},
		{"urn:chorus:muc:admin#announce", []string{"x", "y"}, stanza.BadRequest, "empty"},
		{"http://prosody.im/protocol/muc#destroy", []string{"x", "y"}, stanza.BadRequest, "at least one room"},
		{"http://prosody.im/protocol/muc#destroy", []string{"rooms", nook, "rooms", "not a jid@@"}, stanza.BadRequest, "not the address of a room"},
	} {
		e := admin.ask(ctx, tc.node, command("bad", tc.node, tc.fields...))
		if se := stanza.ErrorOf(e); e.Attr("type") != "error" || se.Condition != tc.cond || !strings.Contains(se.Text, tc.text) {
			t.Errorf("%s with %q: got %s, want %s saying %q", tc.node, tc.fields, e, tc.cond, tc.text)
		}
	}
	// A destroy of a room that does not exist says so in a note of type
	// error.
	cmd := admin.run(ctx, "http://prosody.im/protocol/muc#destroy", "rooms", "gone@"+Service)
	if !strings.Contains(notes(cmd, "error"), "gone@"+Service) {
		t.Errorf("destroy of a room that does not exist: %s", cmd)
	}
	// A form that is not a submission.
	e := admin.ask(ctx, "result form", `<iq type='set' id='rf' to='`+Service+`'><command xmlns='`+nsCommands+
		`' node='urn:chorus:muc:admin#ban'><x xmlns='jabber:x:data' type='result'/></command></iq>`)
	if se := stanza.ErrorOf(e); se.Condition != stanza.BadRequest || se.Text == "" {
		t.Errorf("a result form submitted: %s", e)
	}
	// An unknown node.
	e = admin.ask(ctx, "unknown node", command("un", "urn:chorus:muc:admin#frobnicate"))
	if se := stanza.ErrorOf(e); se.Condition != stanza.ItemNotFound {
		t.Errorf("an unknown command node: %s", e)
	}

	var after room.RoomDetail
	s.ok(t, &after, "room", nook)
	if b := mustJSON(t, before); string(b) != string(mustJSON(t, after)) {
		t.Errorf("the room changed:\nbefore %s\nafter  %s", b, mustJSON(t, after))
	}
	if bans := s.storedBans(ctx, t); len(bans) != 0 {
		t.Errorf("bans: %v", bans)
	}
}

// testAdminCLIMalformed: a bad command line gets status 2 and says why; a
// request the service refuses gets status 1 and its reason; neither prints
// a result.
func testAdminCLIMalformed(ctx context.Context, t *testing.T, s *adminService) {
	const nest = "nest@" + Service
	judy := dialDrill(ctx, t, s.c2s, "judy", nest, "Judy")
	judy.join(ctx, map[string]string{"muc#roomconfig_persistentroom": "1"})
	var before room.RoomDetail
	s.ok(t, &before, "room", nest)

	for _, tc := range []struct {
		args []string
		code int
		text string
	}{
		{nil, 2, "Usage: chorus admin"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"room"}, 2, "missing ROOM"},
		{[]string{"rooms", "--colour"}, 2, "unknown flag --colour"},
		{[]string{"create", "new@" + Service}, 2, "--owner JID is required"},
		{[]string{"affiliation", nest, "x@localhost", "king"}, 2, `"king" is not owner`},
		{[]string{"kick", nest}, 2, "missing NICK"},
		{[]string{"say", nest}, 2, "missing TEXT"},
		{[]string{"purge", nest, "--before", "last tuesday"}, 2, "neither a date"},
		{[]string{"purge", nest, "--before", "2026-13-45"}, 2, "neither a date"},
		{[]string{"unused"}, 2, "--days N is required"},
		{[]string{"unused", "--days", "0"}, 2, "--days N is required"},
		{[]string{"room", "gone@" + Service}, 1, "no such room"},
		{[]string{"room", "nest@elsewhere.example"}, 1, "not the address of a room"},
		{[]string{"room", "not a jid@@"}, 1, "not the address of a room"},
		{[]string{"destroy", "gone@" + Service}, 1, "no such room"},
		{[]string{"create", nest, "--owner", "judy@localhost", "--persistent"}, 1, "exists already"},
		{[]string{"create", "new@" + Service, "--owner", "bad@@jid", "--persistent"}, 1, "not a JID"},
		{[]string{"affiliation", nest, "bad@@jid", "member"}, 1, "not a JID"},
		{[]string{"affiliation", nest, "judy@localhost", "none"}, 1, "at least one owner"},
		{[]string{"kick", nest, "Nobody"}, 1, "no occupant"},
		{[]string{"ban", "@@"}, 1, "not a JID"},
		{[]string{"ban", AdminJID}, 1, "cannot be banned"},
		{[]string{"unban", "nobody@localhost"}, 1, "not banned"},
		{[]string{"say", "gone@" + Service, "hello"}, 1, "no such room"},
		{[]string{"purge", "gone@" + Service}, 1, "no such room"},
	} {
		stdout, stderr, code := s.run(nil, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.text) || stdout != "" {
			t.Errorf("chorus admin %q: status %d, stderr %q, stdout %q; want status %d saying %q", tc.args, code, stderr, stdout, tc.code, tc.text)
		}
	}
	var after room.RoomDetail
	s.ok(t, &after, "room", nest)
	if b := mustJSON(t, before); string(b) != string(mustJSON(t, after)) {
		t.Errorf("the room changed:\nbefore %s\nafter  %s", b, mustJSON(t, after))
	}
	for _, r := range []string{"gone@" + Service, "new@" + Service} {
		if rs := s.stored(ctx, t, r); rs != nil {
			t.Errorf("%s is stored: %+v", r, rs)
		}
	}
}

// testAdminSocketOwnerOnly: the socket is the service user's alone (mode
// 0600): another user cannot ask anything, even where the directory lets
// them reach it.
func testAdminSocketOwnerOnly(t *testing.T, s *adminService) {
	fi, err := os.Lstat(s.socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("the admin socket has mode %v, want a socket with 0600", fi.Mode())
	}
	if os.Geteuid() != 0 {
		require(t, errors.New("running chorus admin as another user needs root (the CI runs the tests as root)"))
	}
	// Let nobody reach the socket and the binary: only the socket's own
	// mode stands in the way.
	for _, d := range []string{filepath.Dir(s.socket), filepath.Dir(filepath.Dir(s.socket)), filepath.Dir(s.bin), filepath.Dir(filepath.Dir(s.bin))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nobody := &syscall.Credential{Uid: 65534, Gid: 65534}
	stdout, stderr, code := s.run(nobody, "rooms")
	if code != 1 || !strings.Contains(stderr, "permission denied") || stdout != "" {
		t.Errorf("chorus admin rooms as nobody: status %d, stderr %q, stdout %q; want status 1, permission denied", code, stderr, stdout)
	}
	// The check itself: with the socket open to all, nobody gets in.
	if err := os.Chmod(s.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = s.run(nobody, "rooms")
	if err := os.Chmod(s.socket, 0o600); err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("with the socket open to all, nobody still cannot ask (status %d, %s): the test does not test the socket's mode", code, stderr)
	}
}
