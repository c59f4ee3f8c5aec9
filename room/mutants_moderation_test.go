package room

import (
	"fmt"
	"testing"
	"time"

	"chorus/stanza"
)

const askVoice = `<message to='` + room1 + `'><x xmlns='jabber:x:data' type='submit'>` +
	`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>` +
	`<field var='muc#role'><value>participant</value></field></x></message>`

// voiceAnswer is a moderator's answer to a voice request (XEP-0045 §8.6)
// naming the requester by nick and by JID.
func voiceAnswer(nick, jid, allow string) *stanza.Element {
	return stanza.MustParse(`<message to='` + room1 + `' from='` + romeo + `'><x xmlns='jabber:x:data' type='submit'>` +
		`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#request</value></field>` +
		`<field var='muc#role'><value>participant</value></field>` +
		`<field var='muc#jid'><value>` + jid + `</value></field>` +
		`<field var='muc#roomnick'><value>` + nick + `</value></field>` +
		`<field var='muc#request_allow'><value>` + allow + `</value></field></x></message>`)
}

// TestVoiceAnswerFindsRequester: a moderator's approval names the
// requester by nick, or by JID when the nick is no longer in the room
// (the requester changed it meanwhile); an approval that names nobody in
// the room is refused as item-not-found, and a denial does nothing.
func TestVoiceAnswerFindsRequester(t *testing.T) {
	for i, tc := range [...]struct {
		nick, jid, allow string
		voiced           bool
		refused          string
	}{
		0: {"Juliet", "", "true", true, ""},
		1: {"Julia", juliet, "true", true, ""},
		2: {"Julia", "", "true", false, "cancel/item-not-found"},
		3: {"Julia", "nobody@localhost/x", "true", false, "cancel/item-not-found"},
		4: {"Juliet", juliet, "false", false, ""},
	} {
		h := newHarness(t)
		h.createRoom("muc#roomconfig_moderatedroom", "1")
		h.send(juliet, join("Juliet"))
		out := Flatten(h.g.Handle(voiceAnswer(tc.nick, tc.jid, tc.allow)))
		p := pick(out, juliet, "presence")
		if voiced := len(p) == 1 && child(p[0], NSMUCUser, "x", NSMUCUser, "item").Attr("role") == "participant"; voiced != tc.voiced {
			t.Errorf("%d: voiced %v, want %v: %v", i, voiced, tc.voiced, out)
		}
		if tc.refused != "" {
			if e := pick(out, romeo, "message"); len(e) != 1 || condition(e[0]) != tc.refused {
				t.Errorf("%d: want %s to the moderator, got %v", i, tc.refused, out)
			}
		}
	}
}

// TestVoiceRequestMemoryBound: the record of who asked for voice when is
// swept once it is large: requests as old as the interval no longer
// matter and are dropped, recent ones stay.
func TestVoiceRequestMemoryBound(t *testing.T) {
	const every = 300 * time.Second
	for i, tc := range [...]struct {
		age  time.Duration // of the first requests when the last comes
		kept int
	}{
		0: {every - time.Second, minSweep + 1},
		1: {every, 1},
		2: {every + time.Second, 1},
	} {
		h := newLimitedHarness(t, Limits{VoiceRequestInterval: every})
		h.createRoom("muc#roomconfig_moderatedroom", "1")
		for k := range minSweep {
			from := fmt.Sprintf("v%d@localhost/r", k)
			h.send(from, join(fmt.Sprint("V", k)))
			if out := h.send(from, askVoice); len(pick(out, romeo, "message")) != 1 {
				t.Fatalf("%d: request %d not forwarded: %v", i, k, out)
			}
		}
		h.advance(tc.age)
		h.send(juliet, join("Juliet"))
		if out := h.send(juliet, askVoice); len(pick(out, romeo, "message")) != 1 {
			t.Fatalf("%d: last request not forwarded: %v", i, out)
		}
		if n := len(h.g.rooms[room1].voiceAsked); n != tc.kept {
			t.Errorf("%d: %d requests kept, want %d", i, n, tc.kept)
		}
	}
}

// TestDeclineToOccupant: an invitee may decline to the inviter's occupant
// JID in the room (XEP-0045 §7.8.2 lets the decline go to "the inviter");
// the room passes it to that occupant's sessions, and to nobody when the
// nick is not in the room.
func TestDeclineToOccupant(t *testing.T) {
	for i, tc := range [...]struct {
		to   string
		sent int
	}{
		0: {room1 + "/Romeo", 1},
		1: {room1 + "/Nobody", 0},
	} {
		h := newHarness(t)
		h.createRoom()
		out := h.send(juliet, `<message to='`+room1+`'><x xmlns='http://jabber.org/protocol/muc#user'><decline to='`+tc.to+`'><reason>No</reason></decline></x></message>`)
		d := pick(out, romeo, "message")
		if len(d) != tc.sent || len(out) != tc.sent {
			t.Fatalf("%d: %v", i, out)
		}
		if tc.sent == 1 && child(d[0], NSMUCUser, "x", NSMUCUser, "decline").Attr("from") != "juliet@localhost" {
			t.Errorf("%d: decline %v", i, d[0])
		}
	}
}

// TestRoleChangeByJID: a role change may name the occupant by bare JID
// instead of nick (as some clients send it); the room finds the nick.
func TestRoleChangeByJID(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_moderatedroom", "1")
	h.send(juliet, join("Juliet"))
	out := h.send(romeo, admin1(`<item role='participant' jid='juliet@localhost'/>`))
	if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		t.Fatalf("role change by JID: %v", out)
	}
	if p := pick(out, juliet, "presence"); len(p) != 1 || child(p[0], NSMUCUser, "x", NSMUCUser, "item").Attr("role") != "participant" {
		t.Errorf("no voice: %v", out)
	}
}

// TestVoiceRequestWithNoModerator: a voice request in a room with no
// moderator present goes nowhere, and the room hands the component no
// stanza without recipients to encode.
func TestVoiceRequestWithNoModerator(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_moderatedroom", "1", "muc#roomconfig_persistentroom", "1")
	h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
	h.send(juliet, join("Juliet"))
	st := stanza.MustParse(askVoice)
	st.SetAttr("from", juliet)
	for i, o := range h.g.Handle(st) {
		if len(o.To) == 0 {
			t.Errorf("%d: a stanza for nobody: %v", i, o.Stanza)
		}
	}
}
