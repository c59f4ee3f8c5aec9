package room

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"chorus/affiliations"
	"chorus/stanza"
	"chorus/store"
)

// newSQLHarness is a harness over a private SQLite database in memory,
// which keeps bans and can purge.
func newSQLHarness(t *testing.T) (*harness, store.Store) {
	st, err := store.Open(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := newHarnessWith(t, Options{Store: st, Bans: st.(store.BanStore), Purger: st.(store.Purger)}, nil)
	return h, st
}

// roomWithJuliet is room1, persistent, owned by romeo, with juliet in it
// as Juliet.
func roomWithJuliet(h *harness) {
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(juliet, join("Juliet"))
}

func TestAdminRooms(t *testing.T) {
	h, _ := newSQLHarness(t)
	roomWithJuliet(h)
	h.send(juliet, `<message to='`+room1+`' type='groupchat'><body>hi</body></message>`)
	if _, err := h.g.AdminCreate("quiet@conference.localhost", "nurse@localhost", CreateOptions{Name: "Quiet", Persistent: true, Public: true}); err != nil {
		t.Fatal(err)
	}
	rooms, err := h.g.AdminRooms()
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != 2 {
		t.Fatalf("rooms = %+v", rooms)
	}
	quiet, busy := rooms[0], rooms[1]
	if quiet.JID != "quiet@conference.localhost" || quiet.Name != "Quiet" || !quiet.Persistent || !quiet.Public || quiet.Occupants != 0 || !quiet.LastMessage.IsZero() {
		t.Errorf("stored room = %+v", quiet)
	}
	if busy.JID != room1 || busy.Occupants != 2 || !busy.LastMessage.Equal(h.clock()) {
		t.Errorf("live room = %+v (now %v)", busy, h.clock())
	}
}

func TestAdminRoom(t *testing.T) {
	h := newHarness(t)
	roomWithJuliet(h)
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'><reason>friend</reason></item>`))
	d, err := h.g.AdminRoom(room1)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Affiliations) != 2 || d.Affiliations[0].JID != "juliet@localhost" || d.Affiliations[0].Reason != "friend" ||
		d.Affiliations[1].Affiliation != "owner" {
		t.Errorf("affiliations = %+v", d.Affiliations)
	}
	if len(d.Occupants) != 2 || d.Occupants[1].Nick != "Juliet" || d.Occupants[1].Sessions[0] != juliet || d.Occupants[1].Role != "participant" {
		t.Errorf("occupants = %+v", d.Occupants)
	}
	if !d.Config.Persistent {
		t.Errorf("config = %+v", d.Config)
	}
}

// TestAdminRefusals: every operation on a room names the room it could
// not find, and refuses what is not an address of the service.
func TestAdminRefusals(t *testing.T) {
	h, _ := newSQLHarness(t)
	roomWithJuliet(h)
	none := "nowhere@conference.localhost"
	for _, tc := range []struct {
		name string
		op   func() error
		want error  // errors.Is, when set
		text string // in the message, when want is nil
	}{
		{"room of unknown", func() error { _, err := h.g.AdminRoom(none); return err }, nil, "no such room"},
		{"room of a foreign domain", func() error { _, err := h.g.AdminRoom("x@elsewhere"); return err }, nil, "not the address of a room"},
		{"room of an occupant JID", func() error { _, err := h.g.AdminRoom(room1 + "/Juliet"); return err }, nil, "not the address of a room"},
		{"affiliation in unknown", func() error {
			_, err := h.g.AdminSetAffiliation(none, "juliet@localhost", affiliations.Member, "")
			return err
		}, nil, "no such room"},
		{"last owner", func() error {
			_, err := h.g.AdminSetAffiliation(room1, "romeo@localhost", affiliations.Member, "")
			return err
		}, ErrLastOwner, ""},
		{"service admin", func() error {
			_, err := h.g.AdminSetAffiliation(room1, "admin@localhost", affiliations.Outcast, "")
			return err
		}, nil, "service administrators"},
		{"member needs a user", func() error {
			_, err := h.g.AdminSetAffiliation(room1, "localhost", affiliations.Member, "")
			return err
		}, nil, "user's bare JID"},
		{"full JID", func() error {
			_, err := h.g.AdminSetAffiliation(room1, juliet, affiliations.Member, "")
			return err
		}, nil, "bare JID is expected"},
		{"kick nobody", func() error { _, err := h.g.AdminKick(room1, "Tybalt", ""); return err }, ErrNoOccupant, ""},
		{"kick in unknown", func() error { _, err := h.g.AdminKick(none, "Juliet", ""); return err }, nil, "no such room"},
		{"create existing", func() error {
			_, err := h.g.AdminCreate(room1, "nurse@localhost", CreateOptions{Persistent: true})
			return err
		}, ErrRoomExists, ""},
		{"create temporary", func() error {
			_, err := h.g.AdminCreate(none, "nurse@localhost", CreateOptions{})
			return err
		}, nil, "create it persistent"},
		{"create without owner", func() error {
			_, err := h.g.AdminCreate(none, "", CreateOptions{Persistent: true})
			return err
		}, nil, "not a JID"},
		{"say in unknown", func() error { _, err := h.g.Say(none, "hello"); return err }, nil, "no such room"},
		{"say nothing", func() error { _, err := h.g.Say(room1, " "); return err }, nil, "nothing to say"},
		{"purge unknown", func() error { _, err := h.g.Purge(none, time.Time{}); return err }, nil, "no such room"},
		{"ban an admin", func() error { _, err := h.g.Ban("admin@localhost", ""); return err }, nil, "cannot be banned"},
		{"ban a full JID", func() error { _, err := h.g.Ban(juliet, ""); return err }, nil, "bare JID is expected"},
		{"unban who is not", func() error { return h.g.Unban("tybalt@localhost") }, nil, "not banned"},
		{"unused zero days", func() error { _, _, err := h.g.Unused(0, false); return err }, nil, "at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			switch {
			case err == nil:
				t.Fatal("no error")
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			case tc.want == nil && !strings.Contains(err.Error(), tc.text):
				t.Fatalf("err = %v, want one saying %q", err, tc.text)
			}
			var unknown *UnknownRoomError
			if tc.text == "no such room" && (!errors.As(err, &unknown) || unknown.Room != none) {
				t.Fatalf("err = %#v, want an UnknownRoomError for %s", err, none)
			}
		})
	}
}

func TestAdminCreate(t *testing.T) {
	h, st := newSQLHarness(t)
	const quiet = "quiet@conference.localhost"
	if _, err := h.g.AdminCreate(quiet, "nurse@localhost", CreateOptions{Name: "Quiet", Persistent: true, MembersOnly: true}); err != nil {
		t.Fatal(err)
	}
	if s, err := st.LoadRoom(context.Background(), quiet); err != nil || s == nil || len(s.Affiliations) != 1 || s.Affiliations[0].JID != "nurse@localhost" {
		t.Fatalf("stored = %+v, %v", s, err)
	}
	// Unlocked, and members-only: the owner enters, nobody else does.
	out := h.send("nurse@localhost/kitchen", `<presence to='`+quiet+`/Nurse'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	if p := pick(out, "nurse@localhost/kitchen", "presence"); len(p) != 1 || p[0].Attr("type") != "" || strings.Contains(codes(p[0]), "201") {
		t.Fatalf("owner's join = %v", out)
	}
	out = h.send(romeo, `<presence to='`+quiet+`/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	if p := pick(out, romeo, "presence"); len(p) != 1 || condition(p[0]) != "auth/registration-required" {
		t.Fatalf("stranger's join = %v", out)
	}
}

func TestAdminSetAffiliationAndKick(t *testing.T) {
	for _, tc := range []struct {
		name  string
		op    func(h *harness) ([]Out, error)
		codes string // of Juliet's own unavailable presence; "" if she stays
		aff   string // hers afterwards, seen by AdminRoom
	}{
		{"member", func(h *harness) ([]Out, error) {
			return h.g.AdminSetAffiliation(room1, "juliet@localhost", affiliations.Member, "friend")
		}, "", "member"},
		{"outcast", func(h *harness) ([]Out, error) {
			return h.g.AdminSetAffiliation(room1, "juliet@localhost", affiliations.Outcast, "spam")
		}, "301", "outcast"},
		{"domain outcast", func(h *harness) ([]Out, error) {
			return h.g.AdminSetAffiliation(room1, "localhost", affiliations.Outcast, "spam")
		}, "301", ""},
		{"second owner", func(h *harness) ([]Out, error) {
			return h.g.AdminSetAffiliation(room1, "juliet@localhost", affiliations.Owner, "")
		}, "", "owner"},
		{"kick", func(h *harness) ([]Out, error) { return h.g.AdminKick(room1, "Juliet", "go") }, "307", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			roomWithJuliet(h)
			outs, err := tc.op(h)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			for _, p := range pick(Flatten(outs), juliet, "presence") {
				if p.Attr("type") == "unavailable" {
					got = strings.TrimSuffix(codes(p), ",110")
				}
			}
			if got != tc.codes {
				t.Fatalf("Juliet's unavailable codes = %q, want %q (%v)", got, tc.codes, Flatten(outs))
			}
			d, err := h.g.AdminRoom(room1)
			if err != nil {
				t.Fatal(err)
			}
			aff := ""
			for _, a := range d.Affiliations {
				if a.JID == "juliet@localhost" {
					aff = a.Affiliation
				}
			}
			if aff != tc.aff {
				t.Fatalf("Juliet's affiliation = %q, want %q", aff, tc.aff)
			}
		})
	}
}

func TestServiceBan(t *testing.T) {
	h, st := newSQLHarness(t)
	roomWithJuliet(h)
	outs, err := h.g.Ban("localhost", "spam wave")
	if err != nil {
		t.Fatal(err)
	}
	// Both occupants are of localhost: both go, with 301 and the reason.
	for _, who := range []string{romeo, juliet} {
		ps := pick(Flatten(outs), who, "presence")
		var self *stanza.Element
		for _, p := range ps {
			if p.Attr("type") == "unavailable" && strings.Contains(codes(p), "110") {
				self = p
			}
		}
		if self == nil || !strings.Contains(codes(self), "301") ||
			self.Child(NSMUCUser, "x").Child(NSMUCUser, "item").ChildText(NSMUCUser, "reason") != "spam wave" {
			t.Fatalf("%s got %v", who, ps)
		}
	}
	if n := h.g.Refusals().ServiceBan; n != 2 {
		t.Errorf("service bans applied after removing two occupants: %d", n)
	}
	// Refused in every room, existing or not, as an outcast is.
	for _, to := range []string{room1 + "/Juliet", "new@conference.localhost/Juliet"} {
		out := h.send(juliet, `<presence to='`+to+`'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
		if p := pick(out, juliet, "presence"); len(p) != 1 || condition(p[0]) != "auth/forbidden" {
			t.Fatalf("join %s = %v", to, out)
		}
	}
	if n := h.g.Refusals().ServiceBan; n != 4 {
		t.Errorf("service bans applied after two refused joins: %d", n)
	}
	// A service admin is never banned.
	out := h.send(admin, `<presence to='`+room1+`/Admin'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	if p := pick(out, admin, "presence"); len(p) == 0 || p[0].Attr("type") == "error" {
		t.Fatalf("admin's join = %v", out)
	}

	// Stored: a new registry on the same store knows the ban.
	g2 := NewRegistry(Options{Domain: "conference.localhost", Store: st, Bans: st.(store.BanStore)})
	t.Cleanup(g2.Close)
	if err := g2.LoadBans(context.Background()); err != nil {
		t.Fatal(err)
	}
	if bans, _ := g2.Bans(); len(bans) != 1 || bans[0].JID != "localhost" || bans[0].Reason != "spam wave" {
		t.Fatalf("bans after restart = %+v", bans)
	}

	if err := h.g.Unban("localhost"); err != nil {
		t.Fatal(err)
	}
	out = h.send(juliet, join("Juliet"))
	if p := pick(out, juliet, "presence"); len(p) == 0 || p[len(p)-1].Attr("type") == "error" {
		t.Fatalf("join after unban = %v", out)
	}
	if bans, _ := h.g.Bans(); len(bans) != 0 {
		t.Fatalf("bans after unban = %+v", bans)
	}
}

func TestSayAndPurge(t *testing.T) {
	h, st := newSQLHarness(t)
	roomWithJuliet(h)
	outs, err := h.g.Say(room1, "maintenance at noon")
	if err != nil {
		t.Fatal(err)
	}
	m := pick(Flatten(outs), juliet, "message")
	if len(m) != 1 || m[0].Attr("from") != room1 || m[0].Attr("type") != "groupchat" || m[0].ChildText(NSClient, "body") != "maintenance at noon" {
		t.Fatalf("say = %v", Flatten(outs))
	}
	h.advance(time.Hour)
	outs, err = h.g.SayAll("back soon")
	if err != nil {
		t.Fatal(err)
	}
	if m := pick(Flatten(outs), romeo, "message"); len(m) != 1 {
		t.Fatalf("say all = %v", Flatten(outs))
	}
	// Both are archived, from the room.
	h.g.archive.sync()
	page, err := st.Query(context.Background(), store.Query{Room: room1})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].From != room1 {
		t.Fatalf("archive = %+v, %v", page, err)
	}

	n, err := h.g.Purge(room1, h.clock().Add(-time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("purge before = %d, %v", n, err)
	}
	// The history a joiner gets lost it too.
	out := h.send(nurse, join("Nurse"))
	if hist := pick(out, nurse, "message"); len(hist) != 2 || hist[0].ChildText(NSClient, "body") != "back soon" {
		t.Fatalf("history after purge = %v", hist)
	}
	if n, err := h.g.Purge(room1, time.Time{}); err != nil || n != 1 {
		t.Fatalf("purge all = %d, %v", n, err)
	}
	if _, err := newHarness(t).g.Purge(room1, time.Time{}); err == nil {
		t.Fatal("purge without a store: no error")
	}
}

func TestUnused(t *testing.T) {
	h, _ := newSQLHarness(t)
	roomWithJuliet(h)
	h.send(juliet, `<message to='`+room1+`' type='groupchat'><body>hi</body></message>`)
	const quiet = "quiet@conference.localhost"
	if _, err := h.g.AdminCreate(quiet, "nurse@localhost", CreateOptions{Persistent: true}); err != nil {
		t.Fatal(err)
	}
	h.advance(40 * 24 * time.Hour)
	// room1 has occupants: never unused.
	got, _, err := h.g.Unused(30, false)
	if err != nil || len(got) != 1 || got[0] != quiet {
		t.Fatalf("unused = %v, %v", got, err)
	}
	h.send(romeo, `<presence to='`+room1+`/Romeo' type='unavailable'/>`)
	h.send(juliet, `<presence to='`+room1+`/Juliet' type='unavailable'/>`)
	if got, _, _ := h.g.Unused(60, false); len(got) != 1 {
		t.Fatalf("unused for 60 days = %v", got)
	}
	got, _, err = h.g.Unused(30, true)
	if err != nil || len(got) != 2 {
		t.Fatalf("destroyed = %v, %v", got, err)
	}
	if _, err := h.g.AdminRoom(quiet); err == nil {
		t.Fatal("destroyed room still there")
	}
}
