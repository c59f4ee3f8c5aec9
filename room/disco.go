package room

import (
	"sort"
	"strconv"
	"strings"

	"chorus/forms"
	"chorus/stanza"
)

// discoInfo answers disco#info on the room (XEP-0045 §6.4): identity,
// features from every feature file, and the muc#roominfo form.
func (r *Room) discoInfo(req *request) {
	node := req.st.FirstChild().Attr("node")
	q := stanza.New(NSDiscoInfo, "query", "node", node)
	if node != "" {
		if node == "x-roomuser-item" {
			// XEP-0045 §7.11: the user's reserved nick, if any.
			if nick := r.affs[req.bare].nick; nick != "" {
				q.Add(stanza.New(NSDiscoInfo, "identity", "category", "conference", "type", "text", "name", nick))
			}
			r.send(req.from, iqResult(req.st).Add(q))
			return
		}
		r.replyError(req, errItemNotFound)
		return
	}
	name := r.cfg.Name
	if name == "" {
		name = localOf(r.jid)
	}
	q.Add(stanza.New(NSDiscoInfo, "identity", "category", "conference", "type", "text", "name", name))
	vars := []string{NSMUC, "http://jabber.org/protocol/muc#stable_id", "http://jabber.org/protocol/muc#self-ping-optimization", NSDiscoInfo}
	info := []forms.Field{
		forms.HiddenFormType(forms.RoomInfo),
		{Var: "muc#roominfo_occupants", Label: "Number of occupants", Values: []string{strconv.Itoa(len(r.occupants))}},
	}
	for _, f := range features {
		if f.disco != nil {
			vars = append(vars, f.disco(r)...)
		}
		if f.roomInfo != nil {
			info = append(info, f.roomInfo(r)...)
		}
	}
	for _, v := range vars {
		q.Add(stanza.New(NSDiscoInfo, "feature", "var", v))
	}
	q.Add((&forms.Form{Type: forms.TypeResult, Fields: info}).Element())
	r.send(req.from, iqResult(req.st).Add(q))
}

// discoItems answers disco#items on the room: nothing is listed, since
// occupant lists would reveal who is present (XEP-0045 §6.5 allows this).
func (r *Room) discoItems(req *request) {
	r.send(req.from, iqResult(req.st).Add(stanza.New(NSDiscoItems, "query", "node", req.st.FirstChild().Attr("node"))))
}

func localOf(bare string) string {
	local, _, ok := strings.Cut(bare, "@")
	if !ok {
		return ""
	}
	return local
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
