package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"chorus/internal/prosody"
	"chorus/stanza"
)

// TestLookAlikeNickAttack: while Romeo is in a room, an attacker on the
// same Prosody tries to enter under nicks that would pass for his, or that
// show as nothing. Each try is refused with the right condition and a text
// that names the nickname, and Romeo's own traffic goes on untouched: he
// hears nothing of the tries and his messages reach the room as before.
//
// Prosody prepares the 'to' of every client stanza (Resourceprep, not
// strict) before routing it, so some tries reach Chorus changed or not at
// all; the table says what Chorus sees. Prosody maps a fullwidth nick to
// ASCII (NFKC) and drops zero-width characters (RFC 3454 table B.1); it
// refuses itself an empty resourcepart and one that breaks the bidi rule,
// with jid-malformed and "The destination address is invalid", from the
// address it could not prepare: those never reach Chorus.
func TestLookAlikeNickAttack(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
	if err != nil {
		t.Fatal(err)
	}
	StartChorus(t, srv.ComponentAddr(), srv.Secret())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const roomJID = "verona@" + Service
	romeo := dialFault(ctx, t, srv.C2SAddr(), "romeo@localhost/a")
	romeo.send(t, `<presence to='`+roomJID+`/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	romeo.expect(ctx, t, "subject", func(e *stanza.Element) bool { return e.Child(stanza.NSClient, "subject") != nil })
	romeo.send(t, `<iq type='set' id='cfg' to='`+roomJID+`'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	romeo.expect(ctx, t, "instant room", func(e *stanza.Element) bool { return e.Attr("id") == "cfg" && e.Attr("type") == "result" })

	mallory := dialFault(ctx, t, srv.C2SAddr(), "mallory@localhost/x")
	for i, tc := range [...]struct {
		nick      string
		condition string
		text      string // what the error text contains
	}{
		// What reaches Chorus, and Chorus refuses.
		0: {"ROMEO", "conflict", "nickname"},
		1: {"romeo", "conflict", "nickname"},
		2: {"Romeo ", "conflict", "nickname"},
		3: {" Romeo", "conflict", "nickname"},
		4: {"Ｒｏｍｅｏ", "conflict", "nickname"},                   // reaches Chorus as Romeo
		5: {"Rom\u200beo", "conflict", "nickname"},             // reaches Chorus as Romeo
		6: {"\u0301\u0302\u0303", "jid-malformed", "nickname"}, // combining marks only
		7: {"\u3164", "jid-malformed", "nickname"},             // Hangul filler
		8: {"Romeo\u0378", "jid-malformed", "nickname"},        // unassigned: strict Resourceprep refuses
		// What Prosody refuses itself.
		9:  {"", "jid-malformed", "The destination address is invalid"},
		10: {"\u05d0 12", "jid-malformed", "The destination address is invalid"},
	} {
		to := roomJID + "/" + tc.nick
		p := stanza.New(stanza.NSClient, "presence", "to", to, "id", "try")
		p.Add(stanza.New("http://jabber.org/protocol/muc", "x"))
		if err := mallory.conn.Send(p); err != nil {
			t.Fatal(err)
		}
		e, err := mallory.wait(ctx, 10*time.Second, func(e *stanza.Element) bool { return e.Local == "presence" })
		if err != nil {
			t.Fatalf("%d: %q: %v", i, tc.nick, err)
		}
		t.Logf("%d: %q: %v", i, tc.nick, e)
		if e.Attr("type") != "error" {
			t.Errorf("%d: %q: the attacker got in: %v", i, tc.nick, e)
			continue
		}
		if s := e.String(); !strings.Contains(s, "<"+tc.condition+" ") || !strings.Contains(s, tc.text) {
			t.Errorf("%d: %q: want %s with %q, got %v", i, tc.nick, tc.condition, tc.text, e)
		}
		// Chorus answers a nick it refuses as invalid from the room, and a
		// conflict from the address that was taken.
		from := e.Attr("from")
		switch {
		case tc.text != "nickname":
			// Prosody's router answers these itself, from the address it
			// could not prepare and without 'by'; Chorus never sees them.
			if e.Child(stanza.NSClient, "error").Attr("by") != "" {
				t.Errorf("%d: %q: reached Chorus: %v", i, tc.nick, e)
			}
		case tc.condition == "jid-malformed" && from != roomJID,
			tc.condition == "conflict" && !strings.HasPrefix(from, roomJID+"/"):
			t.Errorf("%d: %q: error from %q", i, tc.nick, from)
		}
	}

	// Romeo heard nothing of it, and talks on: his message comes back to
	// him from his own nick, and nothing came before it.
	romeo.send(t, `<message type='groupchat' id='after' to='`+roomJID+`'><body>still here</body></message>`)
	var before []string
	echo, err := romeo.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
		if e.Attr("id") == "after" {
			return true
		}
		before = append(before, e.String())
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if echo.Attr("type") != "groupchat" || echo.Attr("from") != roomJID+"/Romeo" || echo.ChildText(stanza.NSClient, "body") != "still here" {
		t.Errorf("Romeo's message: %v", echo)
	}
	if len(before) != 0 {
		t.Errorf("Romeo was told of the attempts: %v", before)
	}
	// And private messages to a look-alike of his nick still reach him.
	juliet := dialFault(ctx, t, srv.C2SAddr(), "juliet@localhost/b")
	juliet.send(t, `<presence to='`+roomJID+`/Juliet'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	juliet.expect(ctx, t, "subject", func(e *stanza.Element) bool { return e.Child(stanza.NSClient, "subject") != nil })
	juliet.send(t, `<message type='chat' id='pm' to='`+roomJID+`/ROMEO'><body>it is I</body></message>`)
	romeo.expect(ctx, t, "private message", func(e *stanza.Element) bool {
		return e.Attr("id") == "pm" && e.Attr("from") == roomJID+"/Juliet" && e.ChildText(stanza.NSClient, "body") == "it is I"
	})
}
