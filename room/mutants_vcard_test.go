package room

import (
	"strings"
	"testing"

	"chorus/stanza"
)

// TestVCardPhotoChecked: a photo that is not base64 is refused with
// bad-request and changes nothing; the room's avatar hash is in its
// disco#info (muc#roominfo_avatarhash) once it has a photo, not before.
func TestVCardPhotoChecked(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	info := `<iq type='get' id='i' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`
	if s := h.send(romeo, info)[0].String(); strings.Contains(s, "muc#roominfo_avatarhash") {
		t.Errorf("avatar hash without a photo: %s", s)
	}
	bad := `<iq type='set' id='v' to='` + room1 + `'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>not*base64!</BINVAL></PHOTO></vCard></iq>`
	if out := h.send(romeo, bad); len(out) != 1 || condition(out[0]) != "modify/bad-request" {
		t.Fatalf("bad photo: %v", out)
	}
	if h.g.rooms[room1].vcard != nil {
		t.Error("a refused vCard was kept")
	}
	h.send(romeo, `<iq type='set' id='v' to='`+room1+`'><vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard></iq>`)
	const hash = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" // sha1("hello")
	if s := h.send(romeo, info)[0].String(); !strings.Contains(s, "muc#roominfo_avatarhash") || !strings.Contains(s, hash) {
		t.Errorf("avatar hash not in disco#info: %s", s)
	}
}

// TestReadOnlyClassification: what may be answered while a change to the
// room waits for the store. Private messages between occupants only read
// the room; an error from an occupant may remove it, and a groupchat
// message or subject to the room changes what is kept.
func TestReadOnlyClassification(t *testing.T) {
	for i, tc := range [...]struct {
		nick, raw string
		want      bool
	}{
		0: {"Juliet", `<message type='chat'><body>psst</body></message>`, true},
		1: {"Juliet", `<message><body>psst</body></message>`, true},
		2: {"Juliet", `<message type='error'/>`, false},
		3: {"Juliet", `<message type='groupchat'><body>x</body></message>`, false},
		4: {"", `<message type='groupchat'><body>x</body></message>`, true},
		5: {"", `<message type='groupchat'><subject>x</subject></message>`, false},
		6: {"", `<iq type='get'/>`, true},
		7: {"", `<iq type='set'/>`, false},
		8: {"Juliet", `<presence/>`, false},
	} {
		st := stanza.MustParse(tc.raw)
		if got := readOnly(&request{st: st, typ: st.Attr("type"), nick: tc.nick}); got != tc.want {
			t.Errorf("%d: %s to %q: read-only %v, want %v", i, tc.raw, tc.nick, got, tc.want)
		}
	}
}
