package component

import (
	"fmt"
	"testing"

	"chorus/room"
	"chorus/stanza"
)

// TestDeferredPresenceIsSentLater: presence updates over the rate are
// held by the room and sent once a token is back, through the link's
// timer; the flooding client never gets an error presence, which clients
// take for removal from the room.
func TestDeferredPresenceIsSentLater(t *testing.T) {
	srv := newFakeServer(t, testDomain, testSecret)
	reg := room.NewRegistry(room.Options{Domain: testDomain,
		Limits: room.Limits{PresenceRate: 5, PresenceBurst: 2}})
	defer reg.Close()
	hs := startRun(t, testConfig(srv), NewRouter(testDomain, reg))
	c := srv.next(t)
	hs.waitState(t, true)

	const occ = "room@" + testDomain + "/alice"
	c.send(t, `<presence from='alice@localhost/a' to='`+occ+`'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	c.send(t, `<iq from='alice@localhost/a' to='room@`+testDomain+`' type='set' id='cfg'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'/></query></iq>`)
	for i := 0; i < 10; i++ {
		c.send(t, fmt.Sprintf(`<presence from='alice@localhost/a' to='%s'><status>s%d</status></presence>`, occ, i))
	}
	// The join spent one token, s0 the other; s1..s9 wait, and only the
	// latest is sent when a token is back.
	var statuses []string
	for len(statuses) == 0 || statuses[len(statuses)-1] != "s9" {
		st := c.read(t)
		if st == nil {
			t.Fatal("stream closed")
		}
		if st.Attr("type") == "error" {
			t.Fatalf("a presence over the rate was answered with an error: %v", st)
		}
		if st.Local == "presence" {
			if s := st.ChildText(stanza.NSClient, "status"); s != "" {
				statuses = append(statuses, s)
			}
		}
	}
	if fmt.Sprint(statuses) != "[s0 s9]" {
		t.Errorf("presences sent: %v, want s0 then the latest, s9", statuses)
	}
}
