package component

import (
	"strings"
	"testing"

	"chorus/forms"
	"chorus/room"
	"chorus/stanza"
)

const (
	cmdAdmin = "admin@localhost/r"
	cmdOwner = "o@localhost/r"
	cmdUser  = "j@localhost/r"
	cmdRoom  = "room@conference.localhost"
)

// commandsHarness is a service with one administrator and one room,
// owned by o@localhost (nick o), with j@localhost (nick j) in it.
type commandsHarness struct {
	t   *testing.T
	reg *room.Registry
	rt  *Router
}

func newCommandsHarness(t *testing.T) *commandsHarness {
	reg := room.NewRegistry(room.Options{Domain: "conference.localhost", Admins: []string{"admin@localhost"}})
	t.Cleanup(reg.Close)
	h := &commandsHarness{t: t, reg: reg, rt: NewRouter("conference.localhost", reg)}
	h.send(`<presence from='` + cmdOwner + `' to='` + cmdRoom + `/o'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	h.send(`<iq type='set' id='c' from='` + cmdOwner + `' to='` + cmdRoom + `'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_roomname'><value>Lobby</value></field>` +
		`<field var='muc#roomconfig_publicroom'><value>1</value></field></x></query></iq>`)
	h.send(`<presence from='` + cmdUser + `' to='` + cmdRoom + `/j'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	return h
}

func (h *commandsHarness) send(s string) []*stanza.Element {
	h.t.Helper()
	return room.Flatten(h.rt.HandleStanza(stanza.MustParse(s)))
}

// exec runs node as from: without fields, the execution request alone;
// with fields (var, value, var, value...), a submitted form.
func (h *commandsHarness) exec(from, node string, fields ...string) []*stanza.Element {
	h.t.Helper()
	cmd := stanza.New(nsCommands, "command", "node", node, "action", "execute")
	if fields != nil {
		cmd.SetAttr("action", "complete")
		f := &forms.Form{Type: forms.TypeSubmit}
		for i := 0; i+1 < len(fields); i += 2 {
			f.Add(forms.Field{Var: fields[i], Values: []string{fields[i+1]}})
		}
		cmd.Add(f.Element())
	}
	iq := stanza.New(stanza.NSClient, "iq", "type", "set", "id", "x", "from", from, "to", "conference.localhost").Add(cmd)
	return room.Flatten(h.rt.HandleStanza(iq))
}

// answer is the iq answering the command, the last stanza sent.
func (h *commandsHarness) answer(out []*stanza.Element) *stanza.Element {
	h.t.Helper()
	if len(out) == 0 || out[len(out)-1].Local != "iq" {
		h.t.Fatalf("no iq answer: %v", out)
	}
	return out[len(out)-1]
}

// completed checks the command completed, and returns its element.
func (h *commandsHarness) completed(out []*stanza.Element) *stanza.Element {
	h.t.Helper()
	iq := h.answer(out)
	cmd := iq.Child(nsCommands, "command")
	if iq.Attr("type") != "result" || cmd.Attr("status") != "completed" {
		h.t.Fatalf("not completed: %v", iq)
	}
	return cmd
}

// sentTo lists what went to addr, of the given kind.
func sentTo(out []*stanza.Element, addr, local string) []*stanza.Element {
	var got []*stanza.Element
	for _, e := range out {
		if e.Attr("to") == addr && e.Local == local {
			got = append(got, e)
		}
	}
	return got
}

func fieldValues(x *stanza.Element, v string) []string {
	f, err := forms.Parse(x)
	if err != nil {
		return nil
	}
	return f.Field(v).Values
}

func commandNodes() []string {
	nodes := make([]string, 0, len(adminCommands))
	for _, c := range adminCommands {
		nodes = append(nodes, c.node)
	}
	return nodes
}

// TestCommandsAdminsOnly: others are shown no command, and any command
// they execute, with or without a form, is refused and does nothing.
func TestCommandsAdminsOnly(t *testing.T) {
	h := newCommandsHarness(t)
	list := `<iq type='get' id='l' from='%s' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/></iq>`
	items := h.answer(h.send(strings.Replace(list, "%s", cmdAdmin, 1))).FirstChild().Children()
	if len(items) != len(adminCommands) {
		t.Fatalf("admin's list: %v", items)
	}
	for i, node := range commandNodes() {
		if items[i].Attr("node") != node || items[i].Attr("jid") != "conference.localhost" || items[i].Attr("name") == "" {
			t.Errorf("item %d: %v", i, items[i])
		}
	}
	for _, who := range []string{cmdOwner, cmdUser, "conference.localhost"} {
		if items := h.answer(h.send(strings.Replace(list, "%s", who, 1))).FirstChild().Children(); len(items) != 0 {
			t.Errorf("%s sees commands: %v", who, items)
		}
	}
	for _, node := range append(commandNodes(), nodePrefix+"nonexistent") {
		for _, fields := range [][]string{nil, {"room", cmdRoom, "rooms", cmdRoom, "jid", "j@localhost", "affiliation", "outcast", "text", "hi"}} {
			out := h.exec(cmdOwner, node, fields...)
			if len(out) != 1 || stanza.ErrorOf(out[0]).Condition != stanza.Forbidden {
				t.Errorf("%s ran by the room owner: %v", node, out)
			}
		}
	}
	if bans, _ := h.reg.Bans(); len(bans) != 0 || len(roomJIDs(t, h.reg)) != 1 {
		t.Errorf("refused commands had an effect: bans %v", bans)
	}
	// Each command describes itself to administrators (XEP-0050 §2.3),
	// and to others is no node at all.
	info := `<iq type='get' id='i' from='%s' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info' node='` + nodePrefix + `ban'/></iq>`
	q := h.answer(h.send(strings.Replace(info, "%s", cmdAdmin, 1))).FirstChild()
	if id := q.Child(stanza.NSDiscoInfo, "identity"); id.Attr("category") != "automation" || id.Attr("type") != "command-node" || q.Attr("node") != nodePrefix+"ban" {
		t.Errorf("command info: %v", q)
	}
	if out := h.send(strings.Replace(info, "%s", cmdOwner, 1)); stanza.ErrorOf(h.answer(out)).Condition != stanza.ServiceUnavailable {
		t.Errorf("command info to the owner: %v", out)
	}
	out := h.exec(cmdAdmin, nodePrefix+"nonexistent")
	if len(out) != 1 || stanza.ErrorOf(out[0]).Condition != stanza.ItemNotFound {
		t.Errorf("unknown command: %v", out)
	}
}

// TestCommandListRooms: one line per room in a plain result form, which
// every client shows (Gajim 1.7 cannot show a table as a result).
func TestCommandListRooms(t *testing.T) {
	h := newCommandsHarness(t)
	cmd := h.completed(h.exec(cmdAdmin, nodePrefix+"rooms"))
	x := cmd.Child(forms.NS, "x")
	if x.Attr("type") != "result" || x.Child(forms.NS, "reported") != nil || x.Child(forms.NS, "item") != nil {
		t.Fatalf("rooms: %v", cmd)
	}
	want := cmdRoom + " (Lobby): 2 occupants, public"
	if got := fieldValues(x, "rooms"); len(got) != 1 || got[0] != want {
		t.Errorf("rooms = %q, want [%q]", got, want)
	}
	if note := cmd.ChildText(nsCommands, "note"); note != "1 room" {
		t.Errorf("note = %q", note)
	}
}

func TestCommandRoomInfo(t *testing.T) {
	h := newCommandsHarness(t)
	iq := h.answer(h.exec(cmdAdmin, nodePrefix+"room"))
	cmd := iq.Child(nsCommands, "command")
	if cmd.Attr("status") != "executing" || cmd.Attr("sessionid") == "" || cmd.Child(forms.NS, "x").Attr("type") != "form" {
		t.Fatalf("first step: %v", iq)
	}
	x := h.completed(h.exec(cmdAdmin, nodePrefix+"room", "room", cmdRoom)).Child(forms.NS, "x")
	for v, want := range map[string]string{
		"jid": cmdRoom, "name": "Lobby", "persistent": "0", "public": "1", "password": "0",
		"affiliations": "o@localhost: owner",
		"occupants":    "j: j@localhost, participant, none\no: o@localhost, moderator, owner",
	} {
		got := strings.Join(fieldValues(x, v), "\n")
		if v == "occupants" {
			// In the room's order, whichever that is.
			lines := fieldValues(x, v)
			if len(lines) == 2 && lines[0] > lines[1] {
				lines[0], lines[1] = lines[1], lines[0]
			}
			got = strings.Join(lines, "\n")
		}
		if got != want {
			t.Errorf("%s = %q, want %q", v, got, want)
		}
	}
}

func TestCommandSetAffiliation(t *testing.T) {
	h := newCommandsHarness(t)
	out := h.exec(cmdAdmin, nodePrefix+"affiliation")
	if x := h.answer(out).Child(nsCommands, "command").Child(forms.NS, "x"); len(x.ChildrenNamed(forms.NS, "field")) != 4 {
		t.Fatalf("form: %v", x)
	}
	out = h.exec(cmdAdmin, nodePrefix+"affiliation", "room", cmdRoom, "jid", "j@localhost", "affiliation", "outcast", "reason", "spam")
	cmd := h.completed(out)
	if !strings.Contains(cmd.ChildText(nsCommands, "note"), "outcast") {
		t.Errorf("note: %v", cmd)
	}
	var banned bool
	for _, p := range sentTo(out, cmdUser, "presence") {
		if p.Attr("type") == "unavailable" && strings.Contains(p.String(), "code='301'") && strings.Contains(p.String(), "spam") {
			banned = true
		}
	}
	if !banned {
		t.Errorf("the outcast was not told with 301: %v", out)
	}
	h.completed(h.exec(cmdAdmin, nodePrefix+"affiliation", "room", cmdRoom, "jid", "k@localhost", "affiliation", "member"))
	d, err := h.reg.AdminRoom(cmdRoom)
	if err != nil {
		t.Fatal(err)
	}
	affs := map[string]string{}
	for _, a := range d.Affiliations {
		affs[a.JID] = a.Affiliation
	}
	if affs["j@localhost"] != "outcast" || affs["k@localhost"] != "member" {
		t.Errorf("affiliations: %v", affs)
	}
}

func TestCommandBanUnban(t *testing.T) {
	h := newCommandsHarness(t)
	out := h.exec(cmdAdmin, nodePrefix+"ban", "jid", "j@localhost", "reason", "spam wave")
	h.completed(out)
	self := sentTo(out, cmdUser, "presence")
	if len(self) == 0 || !strings.Contains(self[0].String(), "code='301'") || !strings.Contains(self[0].String(), "spam wave") {
		t.Errorf("the banned user was not removed with 301: %v", out)
	}
	if len(sentTo(out, cmdOwner, "presence")) == 0 {
		t.Errorf("the room was not told: %v", out)
	}
	if n := h.reg.Refusals().ServiceBan; n != 1 {
		t.Errorf("bans applied: %d", n)
	}
	join := `<presence from='` + cmdUser + `' to='` + cmdRoom + `/j'><x xmlns='http://jabber.org/protocol/muc'/></presence>`
	if p := h.send(join); len(p) != 1 || stanza.ErrorOf(p[0]).Condition != stanza.Forbidden {
		t.Errorf("banned join: %v", p)
	}
	// The unban form shows who is banned.
	x := h.answer(h.exec(cmdAdmin, nodePrefix+"unban")).Child(nsCommands, "command").Child(forms.NS, "x")
	if !strings.Contains(x.ChildText(forms.NS, "instructions"), "j@localhost") {
		t.Errorf("unban form: %v", x)
	}
	h.completed(h.exec(cmdAdmin, nodePrefix+"unban", "jid", "j@localhost"))
	if p := h.send(join); len(p) == 0 || p[len(p)-1].Attr("type") == "error" {
		t.Errorf("join after unban: %v", p)
	}
	out = h.exec(cmdAdmin, nodePrefix+"unban", "jid", "j@localhost")
	if e := stanza.ErrorOf(h.answer(out)); e.Condition != stanza.ItemNotFound || !strings.Contains(e.Text, "not banned") {
		t.Errorf("unban of nobody: %v", out)
	}
	// A domain, too.
	h.completed(h.exec(cmdAdmin, nodePrefix+"ban", "jid", "spam.example"))
	if bans, _ := h.reg.Bans(); len(bans) != 1 || bans[0].JID != "spam.example" {
		t.Errorf("bans: %v", bans)
	}
}

func TestCommandAnnounce(t *testing.T) {
	h := newCommandsHarness(t)
	out := h.exec(cmdAdmin, nodePrefix+"announce", "text", "Maintenance at noon")
	h.completed(out)
	for _, who := range []string{cmdOwner, cmdUser} {
		m := sentTo(out, who, "message")
		if len(m) != 1 || m[0].Attr("from") != cmdRoom || m[0].Attr("type") != "groupchat" ||
			m[0].ChildText(stanza.NSClient, "body") != "Maintenance at noon" {
			t.Errorf("%s got %v", who, m)
		}
	}
}

func TestCommandDestroyKept(t *testing.T) {
	h := newCommandsHarness(t)
	out := h.exec(cmdAdmin, nodeDestroy, "rooms", cmdRoom)
	cmd := h.completed(out)
	if !strings.Contains(cmd.ChildText(nsCommands, "note"), cmdRoom) || len(roomJIDs(t, h.reg)) != 0 {
		t.Errorf("destroy: %v", out)
	}
	if !strings.HasPrefix(cmd.Attr("sessionid"), "destroy-") {
		t.Errorf("session id: %v", cmd)
	}
}

// TestCommandDestroyUnknown: a room that does not exist is reported as
// such in a note of type error, beside the rooms that were destroyed.
func TestCommandDestroyUnknown(t *testing.T) {
	h := newCommandsHarness(t)
	out := h.exec(cmdAdmin, nodeDestroy, "rooms", "nowhere@conference.localhost")
	cmd := h.completed(out)
	notes := cmd.ChildrenNamed(nsCommands, "note")
	if len(notes) != 1 || notes[0].Attr("type") != "error" || !strings.Contains(notes[0].Text(), "do not exist:\nnowhere@conference.localhost") {
		t.Errorf("destroy of an unknown room: %v", cmd)
	}
	if len(roomJIDs(t, h.reg)) != 1 {
		t.Errorf("rooms: %v", roomJIDs(t, h.reg))
	}
}

// TestCommandsMalformed: input that cannot be acted on gets an error
// saying why, and changes nothing.
func TestCommandsMalformed(t *testing.T) {
	h := newCommandsHarness(t)
	for i, tc := range [...]struct {
		node   string
		fields []string
		cond   stanza.Condition
		text   string
	}{
		0:  {nodePrefix + "room", []string{"x", "y"}, stanza.BadRequest, "required"},
		1:  {nodePrefix + "room", []string{"room", "not a jid@@"}, stanza.BadRequest, "not the address of a room"},
		2:  {nodePrefix + "room", []string{"room", "room@elsewhere.example"}, stanza.BadRequest, "not the address of a room"},
		3:  {nodePrefix + "room", []string{"room", "nobody@conference.localhost"}, stanza.ItemNotFound, "no such room"},
		4:  {nodePrefix + "affiliation", []string{"room", cmdRoom, "jid", "k@localhost", "affiliation", "king"}, stanza.BadRequest, "Unknown affiliation"},
		5:  {nodePrefix + "affiliation", []string{"room", cmdRoom, "affiliation", "member"}, stanza.BadRequest, "required"},
		6:  {nodePrefix + "affiliation", []string{"room", cmdRoom, "jid", "k@localhost/res", "affiliation", "member"}, stanza.BadRequest, "bare JID"},
		7:  {nodePrefix + "affiliation", []string{"room", "nobody@conference.localhost", "jid", "k@localhost", "affiliation", "member"}, stanza.ItemNotFound, "no such room"},
		8:  {nodePrefix + "affiliation", []string{"room", cmdRoom, "jid", "o@localhost", "affiliation", "none"}, stanza.Conflict, "owner"},
		9:  {nodePrefix + "ban", []string{"reason", "r"}, stanza.BadRequest, "required"},
		10: {nodePrefix + "ban", []string{"jid", "@@"}, stanza.BadRequest, "not a JID"},
		11: {nodePrefix + "ban", []string{"jid", "admin@localhost"}, stanza.BadRequest, "cannot be banned"},
		12: {nodePrefix + "unban", []string{"jid", ""}, stanza.BadRequest, "required"},
		13: {nodePrefix + "announce", []string{"text", "  "}, stanza.BadRequest, "empty"},
		14: {nodeDestroy, []string{"rooms", "not a jid@@"}, stanza.BadRequest, "not the address of a room"},
		15: {nodeDestroy, []string{"rooms", "room@elsewhere.example"}, stanza.BadRequest, "not the address of a room"},
		16: {nodeDestroy, []string{"x", "y"}, stanza.BadRequest, "at least one room"},
		17: {nodePrefix + "announce", []string{"x", "y"}, stanza.BadRequest, "empty"},
	} {
		out := h.exec(cmdAdmin, tc.node, tc.fields...)
		if len(out) != 1 {
			t.Errorf("%d: %v", i, out)
			continue
		}
		if e := stanza.ErrorOf(out[0]); e.Condition != tc.cond || !strings.Contains(e.Text, tc.text) {
			t.Errorf("%d: got %v, want %s with %q", i, out[0], tc.cond, tc.text)
		}
	}
	// A form that is not a submission.
	iq := `<iq type='set' id='f' from='` + cmdAdmin + `' to='conference.localhost'><command xmlns='http://jabber.org/protocol/commands' node='` + nodePrefix +
		`ban'><x xmlns='jabber:x:data' type='result'/></command></iq>`
	if out := h.send(iq); len(out) != 1 || stanza.ErrorOf(out[0]).Condition != stanza.BadRequest {
		t.Errorf("result form submitted: %v", out)
	}
	if bans, _ := h.reg.Bans(); len(bans) != 0 {
		t.Errorf("bans: %v", bans)
	}
	if rooms := roomJIDs(t, h.reg); len(rooms) != 1 {
		t.Errorf("rooms after malformed requests: %v", rooms)
	}
	// Canceling answers canceled, whether by action or by form.
	for _, s := range []string{
		`<command xmlns='http://jabber.org/protocol/commands' node='` + nodePrefix + `ban' action='cancel'/>`,
		`<command xmlns='http://jabber.org/protocol/commands' node='` + nodePrefix + `ban'><x xmlns='jabber:x:data' type='cancel'/></command>`,
	} {
		out := h.send(`<iq type='set' id='c' from='` + cmdAdmin + `' to='conference.localhost'>` + s + `</iq>`)
		if len(out) != 1 || out[0].Child(nsCommands, "command").Attr("status") != "canceled" {
			t.Errorf("cancel: %v", out)
		}
	}
}
