package component

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"mellium.im/xmpp/jid"

	"chorus/affiliations"
	"chorus/forms"
	"chorus/room"
	"chorus/stanza"
)

// Ad-hoc commands (XEP-0050) offered to service administrators: the
// operators' operations of room/adminops.go from an XMPP client. Each is
// one data form (XEP-0004): executing it returns the form (or, for a
// command that needs no input, the result at once), submitting it runs
// the operation.
const (
	nsCommands = "http://jabber.org/protocol/commands"
	// nodeDestroy is Prosody's node for destroying rooms, kept so that
	// admin tools written for Prosody's MUC work unchanged.
	nodeDestroy = "http://prosody.im/protocol/muc#destroy"
	// nodePrefix starts the nodes of Chorus's own commands.
	nodePrefix = "urn:chorus:muc:admin#"
)

var commandSession atomic.Uint64

// adminCommand is one ad-hoc command. form is the form execution offers;
// nil when the command takes no input and runs at once. run does the
// operation with the submitted form (nil for a command without one).
type adminCommand struct {
	key, node, name string
	form            func(rt *Router) (*forms.Form, error)
	run             func(rt *Router, f *forms.Form) (commandDone, error)
}

// commandDone is what a completed command sends: outs to occupants, and
// to the administrator notes and, optionally, a result form.
type commandDone struct {
	outs   []room.Out
	notes  []*stanza.Element
	result *forms.Form
}

func infoNote(text string) *stanza.Element {
	return stanza.New(nsCommands, "note", "type", "info").AddText(text)
}

// adminCommands are the service's commands, in the order they are listed.
var adminCommands = []adminCommand{
	{key: "rooms", node: nodePrefix + "rooms", name: "List rooms", run: (*Router).cmdRooms},
	{key: "room", node: nodePrefix + "room", name: "Room information", form: roomInfoForm, run: (*Router).cmdRoom},
	{key: "destroy", node: nodeDestroy, name: "Destroy rooms", form: destroyForm, run: (*Router).cmdDestroy},
	{key: "affiliation", node: nodePrefix + "affiliation", name: "Set an affiliation", form: affiliationForm, run: (*Router).cmdAffiliation},
	{key: "ban", node: nodePrefix + "ban", name: "Ban from the service", form: banForm, run: (*Router).cmdBan},
	{key: "unban", node: nodePrefix + "unban", name: "Lift a service ban", form: unbanForm, run: (*Router).cmdUnban},
	{key: "announce", node: nodePrefix + "announce", name: "Announce to all rooms", form: announceForm, run: (*Router).cmdAnnounce},
}

func findCommand(node string) *adminCommand {
	for i := range adminCommands {
		if adminCommands[i].node == node {
			return &adminCommands[i]
		}
	}
	return nil
}

// command handles an XEP-0050 execution request on the service. Only
// service administrators may run any; others are refused (forbidden)
// whatever the node, so that the commands' existence tells them nothing.
func (rt *Router) command(st, cmd *stanza.Element) []room.Out {
	if !rt.fromAdmin(st) {
		return rt.errorReply(st, stanza.Auth, stanza.Forbidden)
	}
	c := findCommand(cmd.Attr("node"))
	if c == nil {
		return rt.errorReply(st, stanza.Cancel, stanza.ItemNotFound)
	}
	sid := cmd.Attr("sessionid")
	if sid == "" {
		sid = c.key + "-" + strconv.FormatUint(commandSession.Add(1), 10)
	}
	reply := stanza.New(nsCommands, "command", "node", c.node, "sessionid", sid)
	if cmd.Attr("action") == "cancel" {
		return rt.result(st, reply.SetAttr("status", "canceled"))
	}
	var form *forms.Form
	x := cmd.Child(forms.NS, "x")
	switch {
	case x == nil && c.form != nil:
		// First step: the form to fill in.
		f, err := c.form(rt)
		if err != nil {
			return rt.commandError(st, err)
		}
		f.Type = forms.TypeForm
		reply.SetAttr("status", "executing")
		reply.Add(stanza.New(nsCommands, "actions", "execute", "complete").Add(stanza.New(nsCommands, "complete")))
		return rt.result(st, reply.Add(f.Element()))
	case x != nil:
		var err error
		form, err = forms.Parse(x)
		if err == nil && form.Type == forms.TypeCancel {
			return rt.result(st, reply.SetAttr("status", "canceled"))
		}
		if err != nil || (form.Type != forms.TypeSubmit && form.Type != "") {
			return rt.errorText(st, stanza.Modify, stanza.BadRequest, "A submitted data form is expected")
		}
	}
	done, err := c.run(rt, form)
	if err != nil {
		return rt.commandError(st, err)
	}
	reply.SetAttr("status", "completed")
	for _, n := range done.notes {
		reply.Add(n)
	}
	if done.result != nil {
		done.result.Type = forms.TypeResult
		reply.Add(done.result.Element())
	}
	return append(done.outs, rt.result(st, reply)...)
}

// commandList lists the service's ad-hoc commands (XEP-0050 §2.2), to
// administrators only.
func (rt *Router) commandList(st *stanza.Element) []room.Out {
	q := stanza.New(stanza.NSDiscoItems, "query", "node", nsCommands)
	if rt.fromAdmin(st) {
		for _, c := range adminCommands {
			q.Add(stanza.New(stanza.NSDiscoItems, "item", "jid", rt.domain, "node", c.node, "name", c.name))
		}
	}
	return rt.result(st, q)
}

// fromAdmin reports whether st comes from a service administrator.
func (rt *Router) fromAdmin(st *stanza.Element) bool {
	from, err := jid.Parse(st.Attr("from"))
	return err == nil && rt.rooms.IsAdmin(from.Bare().String())
}

// isCommandNode reports whether node is a command st's sender may run;
// to others the nodes do not exist.
func (rt *Router) isCommandNode(st *stanza.Element, node string) bool {
	return findCommand(node) != nil && rt.fromAdmin(st)
}

// commandInfo describes a command (XEP-0050 §2.3).
func (rt *Router) commandInfo(st *stanza.Element, node string) []room.Out {
	q := stanza.New(stanza.NSDiscoInfo, "query", "node", node)
	q.Add(stanza.New(stanza.NSDiscoInfo, "identity", "category", "automation", "type", "command-node", "name", findCommand(node).name))
	for _, f := range []string{nsCommands, forms.NS} {
		q.Add(stanza.New(stanza.NSDiscoInfo, "feature", "var", f))
	}
	return rt.result(st, q)
}

// badInput is the error of a form filled in wrongly.
func badInput(format string, args ...any) error {
	return stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest, Text: fmt.Sprintf(format, args...)}
}

// commandError answers a command whose operation failed, with the error
// condition its cause calls for and the cause as text.
func (rt *Router) commandError(st *stanza.Element, err error) []room.Out {
	var e stanza.Error
	var unknown *room.UnknownRoomError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &unknown), errors.Is(err, room.ErrNotBanned):
		e = stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: err.Error()}
	case errors.Is(err, room.ErrNotStored):
		e = stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError,
			Text: "The change could not be stored, nothing was done; try again"}
	case errors.Is(err, room.ErrLastOwner):
		e = stanza.Error{Type: stanza.Cancel, Condition: stanza.Conflict, Text: err.Error()}
	default:
		e = stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest, Text: err.Error()}
	}
	return rt.errorWith(st, e)
}

// fieldValue is the trimmed value of a submitted field; required ones
// must be there.
func fieldValue(f *forms.Form, v, label string, required bool) (string, error) {
	var s string
	if f != nil {
		s = strings.TrimSpace(f.Field(v).Value())
	}
	if s == "" && required {
		return "", badInput("%s is required", label)
	}
	return s, nil
}

// submitted is the values of a submitted field, none when it is
// missing.
func submitted(f *forms.Form, v string) []string {
	if fd := f.Field(v); fd != nil {
		return fd.Values
	}
	return nil
}

// Field builders of the commands' forms.

func jidField(v, label string) forms.Field {
	return forms.Field{Var: v, Type: forms.JIDSingle, Label: label, Required: true}
}

func reasonField() forms.Field {
	return forms.Field{Var: "reason", Type: forms.TextSingle, Label: "Reason"}
}

func textField(v, label, value string) forms.Field {
	f := forms.Field{Var: v, Type: forms.TextSingle, Label: label}
	if value != "" {
		f.Values = []string{value}
	}
	return f
}

func boolField(v, label string, b bool) forms.Field {
	return forms.Field{Var: v, Type: forms.Boolean, Label: label, Values: []string{forms.Bool(b)}}
}

func linesField(v, label string, lines []string) forms.Field {
	return forms.Field{Var: v, Type: forms.TextMulti, Label: label, Values: lines}
}

// cmdRooms lists every room, stored or in memory, one line each. A
// table (XEP-0004 §3.4, <reported/> and <item/>) would be the natural
// shape, but Gajim 1.7, the desktop client most administrators use,
// cannot show one as a command's result (it fails and stays on
// "Executing…"); a text-multi field reads well everywhere.
func (rt *Router) cmdRooms(*forms.Form) (commandDone, error) {
	rooms, err := rt.rooms.AdminRooms()
	if err != nil {
		return commandDone{}, stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError, Text: "The rooms could not be read: " + err.Error()}
	}
	lines := make([]string, 0, len(rooms))
	for _, r := range rooms {
		line := r.JID
		if r.Name != "" {
			line += " (" + r.Name + ")"
		}
		occupants := "1 occupant"
		if r.Occupants != 1 {
			occupants = strconv.Itoa(r.Occupants) + " occupants"
		}
		line += ": " + occupants
		if r.Persistent {
			line += ", persistent"
		}
		if r.Public {
			line += ", public"
		}
		lines = append(lines, line)
	}
	count := "1 room"
	if len(rooms) != 1 {
		count = strconv.Itoa(len(rooms)) + " rooms"
	}
	f := (&forms.Form{Title: "Rooms"}).Add(linesField("rooms", "Rooms", lines))
	return commandDone{notes: []*stanza.Element{infoNote(count)}, result: f}, nil
}

func roomInfoForm(*Router) (*forms.Form, error) {
	return (&forms.Form{Title: "Room information"}).Add(jidField("room", "Room address")), nil
}

// cmdRoom describes one room: configuration, affiliations, occupants.
func (rt *Router) cmdRoom(f *forms.Form) (commandDone, error) {
	addr, err := fieldValue(f, "room", "The room address", true)
	if err != nil {
		return commandDone{}, err
	}
	d, err := rt.rooms.AdminRoom(addr)
	if err != nil {
		return commandDone{}, err
	}
	affs := make([]string, 0, len(d.Affiliations))
	for _, a := range d.Affiliations {
		line := a.JID + ": " + a.Affiliation
		if a.Reason != "" {
			line += " (" + a.Reason + ")"
		}
		affs = append(affs, line)
	}
	occs := make([]string, 0, len(d.Occupants))
	for _, o := range d.Occupants {
		occs = append(occs, fmt.Sprintf("%s: %s, %s, %s", o.Nick, o.JID, o.Role, o.Affiliation))
	}
	c := d.Config
	res := (&forms.Form{Title: "Room " + d.JID}).Add(
		forms.Field{Var: "jid", Type: forms.JIDSingle, Label: "Address", Values: []string{d.JID}},
		textField("name", "Name", c.Name),
		textField("description", "Description", c.Description),
		textField("subject", "Subject", d.Subject),
		boolField("persistent", "Persistent", c.Persistent),
		boolField("public", "Public", c.Public),
		boolField("members-only", "Members only", c.MembersOnly),
		boolField("moderated", "Moderated", c.Moderated),
		boolField("password", "Password protected", d.PasswordProtected),
		textField("whois", "Real JIDs shown to", c.Whois),
		textField("max-users", "Most occupants (0: no limit)", strconv.Itoa(c.MaxUsers)),
		boolField("logging", "Archived", c.Logging),
		textField("slow-mode", "Slow mode (seconds)", strconv.Itoa(c.SlowMode)),
		linesField("affiliations", "Affiliations", affs),
		linesField("occupants", "Occupants", occs),
	)
	return commandDone{result: res}, nil
}

func destroyForm(rt *Router) (*forms.Form, error) {
	f := &forms.Form{Title: "Destroy rooms", Instructions: "Select the rooms to destroy"}
	list := forms.Field{Var: "rooms", Type: forms.ListMulti, Label: "Rooms to destroy", Required: true}
	rooms, err := rt.rooms.RoomJIDs()
	if err != nil {
		return nil, stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError}
	}
	for _, j := range rooms {
		list.Options = append(list.Options, forms.Option{Label: j, Value: j})
	}
	return f.Add(forms.HiddenFormType(nodeDestroy), list), nil
}

// cmdDestroy destroys the rooms selected, as their owner would. A value
// that is not a room address of the service refuses the whole request, so
// that a typo destroys nothing; rooms that do not exist are reported.
func (rt *Router) cmdDestroy(f *forms.Form) (commandDone, error) {
	var rooms []string
	if f != nil {
		for _, v := range submitted(f, "rooms") {
			v = strings.TrimSpace(v)
			a, ok := room.ParseAddress(v)
			if !ok || a.Local() == "" || a.Resource() != "" || a.Domain() != rt.domain {
				return commandDone{}, badInput("%q is not the address of a room of %s: nothing was destroyed", v, rt.domain)
			}
			rooms = append(rooms, a.String())
		}
	}
	if len(rooms) == 0 {
		return commandDone{}, badInput("Select at least one room to destroy")
	}
	var done commandDone
	var destroyed, unknown, failed []string
	for _, j := range rooms {
		o, ok, err := rt.rooms.Destroy(j, "", "")
		switch {
		case err != nil:
			// The room is as it was; the administrator may try again.
			failed = append(failed, j)
		case ok:
			done.outs = append(done.outs, o...)
			destroyed = append(destroyed, j)
		default:
			unknown = append(unknown, j)
		}
	}
	if len(destroyed) > 0 {
		done.notes = append(done.notes, infoNote("The following rooms were destroyed:\n"+strings.Join(destroyed, "\n")))
	}
	if len(unknown) > 0 {
		done.notes = append(done.notes, stanza.New(nsCommands, "note", "type", "error").
			AddText("The following rooms do not exist:\n"+strings.Join(unknown, "\n")))
	}
	if len(failed) > 0 {
		done.notes = append(done.notes, stanza.New(nsCommands, "note", "type", "error").
			AddText("The following rooms could not be destroyed, the change could not be stored; try again:\n"+strings.Join(failed, "\n")))
	}
	return done, nil
}

// affiliationNames are the affiliations an administrator may set.
var affiliationNames = []string{"owner", "admin", "member", "outcast", "none"}

func affiliationForm(*Router) (*forms.Form, error) {
	list := forms.Field{Var: "affiliation", Type: forms.ListSingle, Label: "Affiliation", Required: true}
	for _, a := range affiliationNames {
		list.Options = append(list.Options, forms.Option{Label: a, Value: a})
	}
	return (&forms.Form{Title: "Set an affiliation", Instructions: "An outcast may be a whole domain"}).Add(
		jidField("room", "Room address"), jidField("jid", "User (bare JID)"), list, reasonField()), nil
}

// cmdAffiliation changes an affiliation in a room, as an owner does.
func (rt *Router) cmdAffiliation(f *forms.Form) (commandDone, error) {
	addr, err := fieldValue(f, "room", "The room address", true)
	if err != nil {
		return commandDone{}, err
	}
	user, err := fieldValue(f, "jid", "The user's JID", true)
	if err != nil {
		return commandDone{}, err
	}
	name, err := fieldValue(f, "affiliation", "The affiliation", true)
	if err != nil {
		return commandDone{}, err
	}
	aff, ok := affiliations.ParseAffiliation(name)
	if !ok {
		return commandDone{}, badInput("Unknown affiliation %q: one of %s", name, strings.Join(affiliationNames, ", "))
	}
	reason, _ := fieldValue(f, "reason", "", false)
	outs, err := rt.rooms.AdminSetAffiliation(addr, user, aff, reason)
	if err != nil {
		return commandDone{}, err
	}
	return commandDone{outs: outs, notes: []*stanza.Element{infoNote(user + " is now " + aff.String() + " of " + addr)}}, nil
}

func banForm(*Router) (*forms.Form, error) {
	return (&forms.Form{Title: "Ban from the service",
		Instructions: "The user, or every user of the domain, is removed from every room and refused entry"}).Add(
		jidField("jid", "User (bare JID) or domain"), reasonField()), nil
}

// cmdBan bans a user or a domain from every room of the service.
func (rt *Router) cmdBan(f *forms.Form) (commandDone, error) {
	target, err := fieldValue(f, "jid", "The JID or domain", true)
	if err != nil {
		return commandDone{}, err
	}
	reason, _ := fieldValue(f, "reason", "", false)
	outs, err := rt.rooms.Ban(target, reason)
	if err != nil {
		return commandDone{}, err
	}
	return commandDone{outs: outs, notes: []*stanza.Element{infoNote(target + " is banned from every room of the service")}}, nil
}

func unbanForm(rt *Router) (*forms.Form, error) {
	bans, err := rt.rooms.Bans()
	if err != nil {
		return nil, stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError}
	}
	f := &forms.Form{Title: "Lift a service ban", Instructions: "Nobody is banned"}
	if len(bans) > 0 {
		lines := make([]string, 0, len(bans))
		for _, b := range bans {
			lines = append(lines, b.JID)
		}
		f.Instructions = "Banned now: " + strings.Join(lines, ", ")
	}
	return f.Add(jidField("jid", "User (bare JID) or domain")), nil
}

// cmdUnban lifts a service-wide ban.
func (rt *Router) cmdUnban(f *forms.Form) (commandDone, error) {
	target, err := fieldValue(f, "jid", "The JID or domain", true)
	if err != nil {
		return commandDone{}, err
	}
	if err := rt.rooms.Unban(target); err != nil {
		return commandDone{}, err
	}
	return commandDone{notes: []*stanza.Element{infoNote("The ban of " + target + " is lifted")}}, nil
}

func announceForm(*Router) (*forms.Form, error) {
	return (&forms.Form{Title: "Announce to all rooms", Instructions: "Sent by each room with occupants, as a message of the room"}).Add(
		forms.Field{Var: "text", Type: forms.TextMulti, Label: "Announcement", Required: true}), nil
}

// cmdAnnounce sends a message to every room that has occupants.
func (rt *Router) cmdAnnounce(f *forms.Form) (commandDone, error) {
	var text string
	if f != nil {
		text = strings.Join(submitted(f, "text"), "\n")
	}
	if strings.TrimSpace(text) == "" {
		return commandDone{}, badInput("The announcement is empty")
	}
	outs, err := rt.rooms.SayAll(text)
	if err != nil {
		return commandDone{}, err
	}
	return commandDone{outs: outs, notes: []*stanza.Element{infoNote("Announced in every room with occupants")}}, nil
}
