package store

import (
	"testing"
	"time"
)

var timeZero time.Time

func testBans(t *testing.T, s Store) {
	bs := s.(BanStore)
	if bans, err := bs.LoadBans(ctx); err != nil || len(bans) != 0 {
		t.Fatalf("LoadBans of an empty store = %v, %v", bans, err)
	}
	must(t, bs.SaveBan(ctx, ServiceBan{JID: "spam.example", Reason: "spam", At: t0}))
	must(t, bs.SaveBan(ctx, ServiceBan{JID: "troll@example.com", At: t0}))
	// Saving again replaces the reason.
	must(t, bs.SaveBan(ctx, ServiceBan{JID: "spam.example", Reason: "still spam", At: t0.Add(1e9)}))
	bans, err := bs.LoadBans(ctx)
	must(t, err)
	equal(t, "bans", bans, []ServiceBan{
		{JID: "spam.example", Reason: "still spam", At: t0.Add(1e9)},
		{JID: "troll@example.com", At: t0},
	})
	ok, err := bs.DeleteBan(ctx, "spam.example")
	must(t, err)
	if !ok {
		t.Fatal("DeleteBan of a ban: false")
	}
	if ok, err := bs.DeleteBan(ctx, "spam.example"); err != nil || ok {
		t.Fatalf("DeleteBan of no ban = %v, %v", ok, err)
	}
	bans, err = bs.LoadBans(ctx)
	must(t, err)
	equal(t, "bans after delete", len(bans), 1)
}

func testPurgeRoom(t *testing.T, s Store) {
	p := s.(Purger)
	must(t, s.Append(ctx, msgs("a@x", 0, 10)))
	must(t, s.Append(ctx, msgs("b@x", 0, 10)))
	n, err := p.PurgeRoom(ctx, "a@x", t0.Add(4*1e9))
	must(t, err)
	equal(t, "purged", n, int64(4))
	page := query(t, s, Query{Room: "a@x"})
	equal(t, "left", ids(page.Messages), ids(msgs("a@x", 4, 10)))
	// Another room keeps its archive; a zero time purges everything.
	n, err = p.PurgeRoom(ctx, "b@x", timeZero)
	must(t, err)
	equal(t, "purged all", n, int64(10))
	equal(t, "a@x untouched", len(query(t, s, Query{Room: "a@x"}).Messages), 6)
}
