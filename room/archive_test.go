package room

import (
	"strings"
	"testing"

	"chorus/internal/xmlel"
)

// archived returns the stanzas the store holds for room1, in order.
func archived(t *testing.T, h *harness, st *memStore) []*xmlel.Element {
	t.Helper()
	h.g.archive.sync()
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*xmlel.Element
	for _, m := range st.msgs {
		if m.Room == room1 {
			out = append(out, xmlel.MustParse(string(m.Stanza)))
		}
	}
	return out
}

// TestHistoricMessages: which groupchat messages go to the history and the
// archive (the list in historic, after Prosody's muc-message-is-historic).
func TestHistoricMessages(t *testing.T) {
	for i, tc := range [...]struct {
		payload string
		kept    bool
	}{
		0:  {`<body>hi</body>`, true},
		1:  {`<reactions xmlns='urn:xmpp:reactions:0' id='x'><reaction>👍</reaction></reactions><store xmlns='urn:xmpp:hints'/>`, true},
		2:  {`<reactions xmlns='urn:xmpp:reactions:0' id='x'><reaction>👍</reaction></reactions>`, false},
		3:  {`<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/>`, true},
		4:  {`<received xmlns='urn:xmpp:chat-markers:0' id='x'/>`, true},
		5:  {`<encryption xmlns='urn:xmpp:eme:0' namespace='urn:xmpp:omemo:2'/>`, true},
		6:  {`<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted>`, true},
		7:  {`<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/></encrypted>`, true},
		8:  {`<openpgp xmlns='urn:xmpp:openpgp:0'>BASE64</openpgp>`, true},
		9:  {`<body>hi</body><no-store xmlns='urn:xmpp:hints'/>`, false},
		10: {`<body>hi</body><no-permanent-store xmlns='urn:xmpp:hints'/>`, false},
		11: {`<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/><no-store xmlns='urn:xmpp:hints'/>`, false},
		12: {`<active xmlns='http://jabber.org/protocol/chatstates'/>`, false},
		13: {`<store xmlns='urn:xmpp:hints'/><no-permanent-store xmlns='urn:xmpp:hints'/>`, false},
	} {
		st := newMemStore()
		h := newStoreHarness(t, st, nil)
		h.createRoom("muc#roomconfig_persistentroom", "1")
		h.send(romeo, `<message type='groupchat' id='m`+string(rune('a'+i))+`' to='`+room1+`'>`+tc.payload+`</message>`)
		inArchive := len(archived(t, h, st)) == 1
		out := h.send(juliet, join("Juliet"))
		inHistory := strings.Contains(fmtAll(pick(out, juliet, "message")), "urn:xmpp:delay")
		if inArchive != tc.kept || inHistory != tc.kept {
			t.Errorf("case %d: archived %v, in history %v, want %v", i, inArchive, inHistory, tc.kept)
		}
	}
}
