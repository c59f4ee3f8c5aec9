package component

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// BenchmarkStoredRoom is the hot path of a room as deployed: persistent,
// on a SQLite file, with the live state (who is in the room, written
// behind every 250 ms so that restarts keep occupants) off and on. The
// ratio of the two is what keeping occupancy costs a message, a presence
// update and a join with its leave, in a room of 100.
func BenchmarkStoredRoom(b *testing.B) {
	for _, live := range []bool{false, true} {
		b.Run(fmt.Sprintf("live=%v", live), func(b *testing.B) {
			st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(b.TempDir(), "chorus.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			o := room.Options{Domain: "conference.localhost", Store: st}
			if live {
				o.Live = st.(store.LiveStore)
			}
			reg := room.NewRegistry(o)
			defer reg.Close()
			rt := NewRouter("conference.localhost", reg)
			for i := 0; i < 100; i++ {
				rt.HandleStanza(stanza.MustParse(fmt.Sprintf(`<presence from='u%d@localhost/r' to='bench@conference.localhost/n%d'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`, i, i)))
				if i == 0 {
					rt.HandleStanza(stanza.MustParse(`<iq type='set' id='c' from='u0@localhost/r' to='bench@conference.localhost'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_persistentroom'><value>1</value></field></x></query></iq>`))
				}
			}
			msg := stanza.MustParse(`<message type='groupchat' from='u0@localhost/r' to='bench@conference.localhost'><body>Hello, this is a message of ordinary length for a chat room.</body></message>`)
			upd := stanza.MustParse(`<presence from='u5@localhost/r' to='bench@conference.localhost/n5'><show>away</show></presence>`)
			join := stanza.MustParse(`<presence from='new@localhost/r' to='bench@conference.localhost/newbie'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>`)
			leave := stanza.MustParse(`<presence type='unavailable' from='new@localhost/r' to='bench@conference.localhost/newbie'/>`)
			buf := make([]byte, 0, 4096)
			if n := encode(rt.HandleStanza(msg.ShallowCopy()), &buf); n != 100 {
				b.Fatalf("%d deliveries, want 100: the room is not set up", n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := msg.ShallowCopy()
				m.SetAttr("id", "")
				encode(rt.HandleStanza(m), &buf)
				encode(rt.HandleStanza(upd.ShallowCopy()), &buf)
				encode(rt.HandleStanza(join.ShallowCopy()), &buf)
				encode(rt.HandleStanza(leave.ShallowCopy()), &buf)
			}
		})
	}
}
