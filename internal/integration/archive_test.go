package integration

import (
	"context"
	"testing"
	"time"

	"chorus/internal/prosody"
	"chorus/stanza"
	"chorus/store"
)

// TestModerationReachesArchive: on a real server and each store backend, a
// moderator retracts a message that has left the room's in-memory history;
// a device that was offline then learns of it through MAM: the archive's
// metadata ends with the retraction, the message fetched by id is a
// tombstone, and the retraction is the last archived message. Scenarios
// cannot show this, as they cannot name a stanza-id the room chose.
func TestModerationReachesArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			storeURL := b.URL(t)
			srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			st, err := store.Open(ctx, storeURL)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			stop := RunChorus(t, srv.ComponentAddr(), srv.Secret(), st)
			defer stop()

			const roomJID = "court@" + Service
			romeo := dialFault(ctx, t, srv.C2SAddr(), "romeo@localhost/a")
			juliet := dialFault(ctx, t, srv.C2SAddr(), "juliet@localhost/b")
			romeo.createOpen(ctx, t, roomJID, "Romeo", "muc#roomconfig_persistentroom", "1", "muc#roomconfig_historylength", "1")
			juliet.enter(ctx, t, roomJID, "Juliet")

			say := func(c *faultClient, id, body string) string {
				t.Helper()
				c.send(t, `<message type='groupchat' id='`+id+`' to='`+roomJID+`'><body>`+body+`</body></message>`)
				echo, err := c.wait(ctx, 10*time.Second, func(e *stanza.Element) bool { return e.Attr("id") == id })
				if err != nil {
					t.Fatalf("echo of %s: %v", id, err)
				}
				return echo.Child("urn:xmpp:sid:0", "stanza-id").Attr("id")
			}
			rude := say(juliet, "j1", "rude")
			say(romeo, "r1", "later")
			say(romeo, "r2", "latest")

			romeo.send(t, `<iq type='set' id='mod' to='`+roomJID+`'><moderate xmlns='urn:xmpp:message-moderate:1' id='`+rude+
				`'><retract xmlns='urn:xmpp:message-retract:1'/><reason>spam</reason></moderate></iq>`)
			// The result, then the announcement to everyone.
			var announcement string
			acked := false
			if _, err := romeo.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
				if rt := e.Child("urn:xmpp:message-retract:1", "retract"); rt != nil && rt.Attr("id") == rude {
					announcement = e.Child("urn:xmpp:sid:0", "stanza-id").Attr("id")
				}
				if e.Attr("id") == "mod" {
					if e.Attr("type") != "result" {
						t.Fatalf("moderation of a message only in the archive: %v", e)
					}
					acked = true
				}
				return acked && announcement != ""
			}); err != nil {
				t.Fatalf("moderation of a message only in the archive: %v (acknowledged %v, announcement %q)", err, acked, announcement)
			}

			// A device of Juliet's that was offline catches up.
			tablet := dialFault(ctx, t, srv.C2SAddr(), "juliet@localhost/tablet")
			query := func(id, payload string) (results []*stanza.Element, answer *stanza.Element) {
				t.Helper()
				tablet.send(t, `<iq type='`+map[bool]string{true: "get", false: "set"}[id == "md"]+`' id='`+id+`' to='`+roomJID+`'>`+payload+`</iq>`)
				answer, err := tablet.wait(ctx, 10*time.Second, func(e *stanza.Element) bool {
					if r := e.Child("urn:xmpp:mam:2", "result"); r != nil {
						results = append(results, r.Child("urn:xmpp:forward:0", "forwarded").Child(stanza.NSClient, "message"))
					}
					return e.Attr("id") == id
				})
				if err != nil || answer.Attr("type") != "result" {
					t.Fatalf("%s: %v %v", id, err, answer)
				}
				return results, answer
			}
			_, md := query("md", `<metadata xmlns='urn:xmpp:mam:2'/>`)
			if end := md.FirstChild().Child("urn:xmpp:mam:2", "end"); end == nil || end.Attr("id") != announcement {
				t.Errorf("metadata does not end with the retraction %s: %v", announcement, md)
			}
			res, _ := query("ids", `<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' type='submit'>`+
				`<field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field><field var='ids'><value>`+rude+`</value></field></x></query>`)
			if len(res) != 1 || res[0].Child(stanza.NSClient, "body") != nil ||
				res[0].Child("urn:xmpp:message-retract:1", "retracted") == nil ||
				res[0].Child("urn:xmpp:message-retract:1", "retracted").ChildText("urn:xmpp:message-retract:1", "reason") != "spam" {
				t.Errorf("the moderated message is not a tombstone in the archive: %v", res)
			}
			res, _ = query("last", `<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set></query>`)
			if len(res) != 1 || res[0].Child("urn:xmpp:message-retract:1", "retract").Attr("id") != rude {
				t.Errorf("the retraction is not archived: %v", res)
			}
		})
	}
}
