package store

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func saveLive(t testing.TB, s Store, batch []LiveRoom, gone ...string) {
	t.Helper()
	if err := s.(LiveStore).SaveLive(ctx, batch, gone); err != nil {
		t.Fatalf("SaveLive: %v", err)
	}
}

func loadLive(t testing.TB, s Store) []LiveRoom {
	t.Helper()
	rooms, err := s.(LiveStore).LoadLive(ctx)
	if err != nil {
		t.Fatalf("LoadLive: %v", err)
	}
	return rooms
}

// liveRoom makes a room of n sessions; temporary rooms carry a record and
// affiliations.
func liveRoom(jid string, temporary bool, n int) LiveRoom {
	r := LiveRoom{JID: jid, Temporary: temporary}
	if temporary {
		r.Data = json.RawMessage(fmt.Sprintf(`{"config":{"name":%q},"subject":"s"}`, jid))
		r.Affiliations = []Affiliation{
			{JID: "admin@x", Affiliation: "admin", Reason: "trusted"},
			{JID: "owner@x", Affiliation: "owner", Nick: "Boss"},
		}
	}
	for i := range n {
		se := LiveSession{
			// Not in name order: the order given is the order kept.
			FullJID: fmt.Sprintf("user%d@x/res%d", n-i, i),
			Nick:    fmt.Sprintf("nick%d", i),
			Role:    []string{"moderator", "participant", "visitor"}[i%3],
			Joined:  t0.Add(time.Duration(i) * time.Millisecond),
		}
		if i%4 != 3 {
			se.Presence = fmt.Appendf(nil, "<presence from='%s/nick%d'><show>away</show><x xmlns='http://jabber.org/protocol/muc#user'/></presence>", jid, i)
		}
		r.Sessions = append(r.Sessions, se)
	}
	return r
}

func testLiveRoundTrip(t *testing.T, s Store) {
	equal(t, "empty live state", loadLive(t, s), []LiveRoom(nil))
	temp := liveRoom("temp@muc", true, 3)
	pers := liveRoom("pers@muc", false, 2)
	gone := liveRoom("gone@muc", false, 1)
	saveLive(t, s, []LiveRoom{temp, pers, gone})
	equal(t, "live state", loadLive(t, s), []LiveRoom{gone, pers, temp})

	// A room's whole state is replaced: sessions, record and affiliations.
	temp2 := liveRoom("temp@muc", true, 1)
	temp2.Data = json.RawMessage(`{"subject":"new"}`)
	temp2.Affiliations = temp2.Affiliations[1:]
	// The room that has emptied leaves, and gone deletes another.
	empty := LiveRoom{JID: "pers@muc"}
	saveLive(t, s, []LiveRoom{temp2, empty}, "gone@muc", "never@muc")
	equal(t, "after replacing", loadLive(t, s), []LiveRoom{temp2})

	// The last entry of a room counts; batch wins over gone.
	saveLive(t, s, []LiveRoom{pers, liveRoom("temp@muc", true, 2), temp}, "temp@muc")
	equal(t, "after repeats", loadLive(t, s), []LiveRoom{pers, temp})

	saveLive(t, s, nil, "pers@muc", "temp@muc")
	equal(t, "after all went", loadLive(t, s), []LiveRoom(nil))
	for _, table := range []string{"live_rooms", "live_affiliations", "live_sessions"} {
		var n int
		must(t, sqlOf(s).db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n))
		equal(t, table+" rows left", n, 0)
	}

	// A refused batch changes nothing.
	bad := liveRoom("bad@muc", false, 2)
	bad.Sessions[1].FullJID = bad.Sessions[0].FullJID
	if err := s.(LiveStore).SaveLive(ctx, []LiveRoom{pers, bad}, nil); err == nil {
		t.Fatal("SaveLive took a repeated full JID")
	}
	equal(t, "after a refused batch", loadLive(t, s), []LiveRoom(nil))
}

// testLiveBig round-trips 100 rooms of 100 sessions in one call.
func testLiveBig(t *testing.T, s Store) {
	var batch []LiveRoom
	for i := range 100 {
		batch = append(batch, liveRoom(fmt.Sprintf("room%03d@muc", i), i%2 == 0, 100))
	}
	saveLive(t, s, batch)
	equal(t, "100 rooms of 100", loadLive(t, s), batch)
	// Again, half of them gone: the rest stays whole.
	var gone []string
	for _, r := range batch[50:] {
		gone = append(gone, r.JID)
	}
	saveLive(t, s, batch[:50], gone...)
	equal(t, "50 rooms of 100", loadLive(t, s), batch[:50])
}

// BenchmarkSaveLive saves 100 rooms of 20 sessions per call, the rooms'
// state changing each time.
func BenchmarkSaveLive(b *testing.B) {
	s := openSQLiteFile(b).(LiveStore)
	batch := make([]LiveRoom, 100)
	for i := range batch {
		batch[i] = liveRoom(fmt.Sprintf("room%03d@bench", i), i%4 == 0, 20)
	}
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range batch {
			batch[i].Sessions[n%20].Role = fmt.Sprint(n)
		}
		n++
		if err := s.SaveLive(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*len(batch)*20)/b.Elapsed().Seconds(), "sessions/s")
}
