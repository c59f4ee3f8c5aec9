package component

import (
	"strconv"
	"strings"
	"sync/atomic"

	"mellium.im/xmpp/jid"

	"chorus/forms"
	"chorus/room"
	"chorus/stanza"
)

// Ad-hoc commands (XEP-0050) offered to service administrators.
const (
	nsCommands = "http://jabber.org/protocol/commands"
	// nodeDestroy is Prosody's node for destroying rooms, kept so that
	// admin tools written for Prosody's MUC work unchanged.
	nodeDestroy = "http://prosody.im/protocol/muc#destroy"
)

var commandSession atomic.Uint64

// command handles an XEP-0050 execution request on the service.
func (rt *Router) command(st, cmd *stanza.Element) []room.Out {
	from, err := jid.Parse(st.Attr("from"))
	if err != nil || !rt.rooms.IsAdmin(from.Bare().String()) {
		return rt.errorReply(st, stanza.Auth, stanza.Forbidden)
	}
	if cmd.Attr("node") != nodeDestroy {
		return rt.errorReply(st, stanza.Cancel, stanza.ItemNotFound)
	}
	sid := cmd.Attr("sessionid")
	if sid == "" {
		sid = "destroy-" + strconv.FormatUint(commandSession.Add(1), 10)
	}
	reply := stanza.New(nsCommands, "command", "node", nodeDestroy, "sessionid", sid)
	if cmd.Attr("action") == "cancel" {
		return rt.result(st, reply.SetAttr("status", "canceled"))
	}
	x := cmd.Child(forms.NS, "x")
	if x == nil {
		// First step: the form listing the rooms there are.
		f := &forms.Form{Type: forms.TypeForm, Title: "Destroy rooms", Instructions: "Select the rooms to destroy"}
		list := forms.Field{Var: "rooms", Type: forms.ListMulti, Label: "Rooms to destroy", Required: true}
		rooms, err := rt.rooms.RoomJIDs()
		if err != nil {
			return rt.errorReply(st, stanza.Wait, stanza.InternalServerError)
		}
		for _, j := range rooms {
			list.Options = append(list.Options, forms.Option{Label: j, Value: j})
		}
		f.Add(forms.HiddenFormType(nodeDestroy), list)
		reply.SetAttr("status", "executing")
		reply.Add(stanza.New(nsCommands, "actions", "execute", "complete").Add(stanza.New(nsCommands, "complete")))
		return rt.result(st, reply.Add(f.Element()))
	}
	form, err := forms.Parse(x)
	if err != nil || (form.Type != forms.TypeSubmit && form.Type != "") {
		return rt.errorReply(st, stanza.Modify, stanza.BadRequest)
	}
	var outs []room.Out
	var destroyed, failed []string
	for _, v := range form.Field("rooms").Values {
		rj, err := jid.Parse(strings.TrimSpace(v))
		if err != nil {
			continue
		}
		o, ok, err := rt.rooms.Destroy(rj.Bare().String(), "", "")
		switch {
		case err != nil:
			// The room is as it was; the administrator may try again.
			failed = append(failed, rj.Bare().String())
		case ok:
			outs = append(outs, o...)
			destroyed = append(destroyed, rj.Bare().String())
		}
	}
	note := stanza.New(nsCommands, "note", "type", "info").
		AddText("The following rooms were destroyed:\n" + strings.Join(destroyed, "\n"))
	reply.SetAttr("status", "completed").Add(note)
	if len(failed) > 0 {
		reply.Add(stanza.New(nsCommands, "note", "type", "error").
			AddText("The following rooms could not be destroyed, the change could not be stored; try again:\n" + strings.Join(failed, "\n")))
	}
	return append(outs, rt.result(st, reply)...)
}
