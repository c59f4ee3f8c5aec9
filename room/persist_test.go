package room

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"chorus/stanza"
	"chorus/store"
)

// memStore is a Store in memory, for the room's persistence rules; the
// real backends have their own suite in package store.
type memStore struct {
	mu    sync.Mutex
	rooms map[string]*store.RoomState
	list  map[string]store.RoomSummary // what ListRooms shows of live rooms
	msgs  []store.Message
	fail  bool // every write fails
	// failReads makes reads fail too (LoadRoom, ListRooms).
	failReads bool
	// expired records the cutoffs Expire was called with.
	expired []time.Time
}

func newMemStore() *memStore {
	return &memStore{rooms: map[string]*store.RoomState{}, list: map[string]store.RoomSummary{}}
}

var errFail = errors.New("disk full")

func (m *memStore) LoadRoom(_ context.Context, jid string) (*store.RoomState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failReads {
		return nil, errFail
	}
	st := m.rooms[jid]
	if st == nil {
		return nil, nil
	}
	c := *st
	c.Affiliations = append([]store.Affiliation(nil), st.Affiliations...)
	return &c, nil
}

func (m *memStore) UpdateRoom(_ context.Context, u store.RoomUpdate) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errFail
	}
	st := m.rooms[u.JID]
	if st == nil || st.Tombstone != nil {
		st = &store.RoomState{JID: u.JID, Data: []byte("{}")}
		m.rooms[u.JID] = st
	}
	if u.Data != nil {
		st.Data = u.Data
		m.list[u.JID] = store.RoomSummary{JID: u.JID, Name: u.Name, Public: u.Public}
	} else if _, ok := m.list[u.JID]; !ok {
		m.list[u.JID] = store.RoomSummary{JID: u.JID}
	}
	drop := map[string]bool{}
	for _, j := range u.DeleteAffiliations {
		drop[j] = true
	}
	for _, a := range u.SetAffiliations {
		drop[a.JID] = true
	}
	kept := st.Affiliations[:0]
	for _, a := range st.Affiliations {
		if !drop[a.JID] {
			kept = append(kept, a)
		}
	}
	st.Affiliations = append(kept, u.SetAffiliations...)
	return nil
}

func (m *memStore) DeleteRoom(_ context.Context, jid string, t *store.Tombstone) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errFail
	}
	delete(m.list, jid)
	if t == nil {
		delete(m.rooms, jid)
	} else {
		m.rooms[jid] = &store.RoomState{JID: jid, Tombstone: t}
	}
	return nil
}

func (m *memStore) ListRooms(_ context.Context, q store.RoomListQuery) (store.RoomList, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failReads {
		return store.RoomList{}, errFail
	}
	var all []store.RoomSummary
	for _, r := range m.list {
		if r.Public || !q.PublicOnly {
			all = append(all, r)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].JID < all[j].JID })
	n := q.Max
	if n <= 0 {
		n = 100
	}
	lo, hi := 0, len(all)
	for lo < len(all) && q.After != "" && all[lo].JID <= q.After {
		lo++
	}
	for hi > 0 && q.Before != "" && all[hi-1].JID >= q.Before {
		hi--
	}
	if q.Before != "" || q.Last {
		lo = max(lo, hi-n)
	} else {
		hi = min(hi, lo+n)
	}
	l := store.RoomList{Rooms: all[lo:hi], Total: len(all)}
	if hi > lo {
		l.Index = lo
	}
	return l, nil
}

func (m *memStore) Append(_ context.Context, msgs []store.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msgs...)
	return nil
}

func (m *memStore) Query(_ context.Context, q store.Query) (store.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var all []store.Message
	for _, msg := range m.msgs {
		if msg.Room == q.Room && (q.With == "" || msg.From == q.With) && (len(q.IDs) == 0 || slices.Contains(q.IDs, msg.ID)) {
			all = append(all, msg)
		}
	}
	max := q.Max
	if max <= 0 {
		max = 100
	}
	idx := func(id string) int {
		for i, msg := range all {
			if msg.ID == id {
				return i
			}
		}
		return -1
	}
	for _, id := range q.IDs {
		if !slices.ContainsFunc(m.msgs, func(msg store.Message) bool { return msg.Room == q.Room && msg.ID == id }) {
			return store.Page{}, store.ErrNotFound
		}
	}
	from, to := 0, len(all)
	switch {
	case q.After != "":
		if from = idx(q.After) + 1; from == 0 {
			return store.Page{}, store.ErrNotFound
		}
	case q.Before != "":
		if to = idx(q.Before); to < 0 {
			return store.Page{}, store.ErrNotFound
		}
	}
	if q.Before != "" || q.Last {
		lo := max0(to - max)
		return store.Page{Messages: all[lo:to], Complete: lo == 0}, nil
	}
	hi := min(from+max, to)
	return store.Page{Messages: all[from:hi], Complete: hi == len(all)}, nil
}

func max0(n int) int { return max(n, 0) }

func (m *memStore) Latest(_ context.Context, room string, n int) ([]store.Message, error) {
	p, err := m.Query(context.Background(), store.Query{Room: room, Last: true, Max: n})
	return p.Messages, err
}

func (m *memStore) Replace(_ context.Context, room, id string, stanza []byte) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.msgs {
		if m.msgs[i].Room == room && m.msgs[i].ID == id {
			m.msgs[i].Stanza = stanza
			return true, nil
		}
	}
	return false, nil
}

func (m *memStore) Expire(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expired = append(m.expired, before)
	return 0, nil
}
func (m *memStore) Close() error { return nil }

func (m *memStore) Get(_ context.Context, room, id string) (*store.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range m.msgs {
		if msg.Room == room && msg.ID == id {
			return &msg, nil
		}
	}
	return nil, nil
}

func (m *memStore) Bounds(_ context.Context, room string) (first, last *store.Message, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, msg := range m.msgs {
		if msg.Room == room {
			if first == nil {
				first = &msg
			}
			last = &msg
		}
	}
	return first, last, nil
}

// newStoreHarness is a harness whose registry persists to st.
func newStoreHarness(t *testing.T, st store.Store, errs *[]error) *harness {
	return newHarnessWith(t, Options{Store: st}, errs)
}

// newHarnessWith is a harness whose registry has the options o, with the
// harness's domain, admins, clock and ids; store errors go to errs.
func newHarnessWith(t *testing.T, o Options, errs *[]error) *harness {
	h := &harness{t: t, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	n := 0
	var mu sync.Mutex
	o.Domain, o.Admins, o.Now = "conference.localhost", []string{"admin@localhost"}, h.clock
	o.NewID = func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("id%d-%d", n, h.clock().UnixNano())
	}
	o.OnStoreError = func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if errs != nil {
			*errs = append(*errs, err)
		}
	}
	h.g = NewRegistry(o)
	t.Cleanup(h.g.Close)
	return h
}

func TestPersistentRoomSurvivesRestart(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_roomname", "Verona", "muc#roomconfig_membersonly", "1")
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost' nick='Jules'/>`))
	h.send(romeo, admin1(`<item affiliation='outcast' jid='tybalt@localhost'><reason>brawling</reason></item>`))
	h.send(romeo, `<message type='groupchat' to='`+room1+`'><subject>Feud</subject></message>`)
	h.send(romeo, `<message type='groupchat' id='m1' to='`+room1+`'><body>hello</body></message>`)
	h.g.Shutdown()
	h.g.Close()

	// A new registry on the same store: nothing in memory.
	h2 := newStoreHarness(t, st, nil)
	out := h2.send(juliet, join("Jules"))
	self := pick(out, juliet, "presence")
	if len(self) == 0 || codes(self[len(self)-1]) != "170,110" { // 170: the room is archived
		t.Fatalf("member could not rejoin the restored room: %v", out)
	}
	if !strings.Contains(fmtAll(pick(out, juliet, "message")), "hello") || out[len(out)-1].ChildText(NSClient, "subject") != "Feud" {
		t.Errorf("history or subject lost: %v", out)
	}
	if out := h2.send(nurse, join("Nurse")); condition(out[0]) != "auth/registration-required" {
		t.Errorf("members-only lost: %v", out)
	}
	// An outcast of a members-only room hears registration-required, as
	// in Prosody; the outcast list below shows that the ban was kept.
	if out := h2.send("tybalt@localhost/x", join("T")); condition(out[0]) != "auth/registration-required" {
		t.Errorf("outcast admitted: %v", out)
	}
	out = h2.send(romeo, `<iq type='get' id='l' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item affiliation='outcast'/></query></iq>`)
	if !strings.Contains(out[0].String(), "brawling") {
		t.Errorf("ban reason lost: %v", out)
	}
	out = h2.send(romeo, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
	if !strings.Contains(out[0].String(), "name='Verona'") {
		t.Errorf("config lost: %v", out)
	}
}

func TestTemporaryRoomsAreNotStored(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom()
	h.send(romeo, `<message type='groupchat' to='`+room1+`'><body>x</body></message>`)
	h.g.Shutdown()
	if len(st.rooms) != 0 || len(st.msgs) != 0 {
		t.Errorf("temporary room written: %v %v", st.rooms, st.msgs)
	}
	// Persistent, then temporary again: deleted from the store.
	h.send(romeo, config("muc#roomconfig_persistentroom", "1"))
	if len(st.rooms) != 1 {
		t.Fatal("persistent room not stored")
	}
	h.send(romeo, config("muc#roomconfig_persistentroom", "0"))
	if len(st.rooms) != 0 {
		t.Error("room that became temporary still stored")
	}
}

func TestStoreFailureIsNotAcknowledged(t *testing.T) {
	st := newMemStore()
	var errs []error
	h := newStoreHarness(t, st, &errs)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	st.fail = true
	out := h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	res := pick(out, romeo, "iq")
	if len(res) != 1 || condition(res[0]) != "wait/internal-server-error" {
		t.Errorf("failed write acknowledged: %v", out)
	}
	if len(errs) == 0 {
		t.Error("store error not reported")
	}
}

func TestTombstoneIsStored(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(romeo, `<iq type='set' id='d' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='elsewhere@conference.localhost'/></query></iq>`)
	h2 := newStoreHarness(t, st, nil)
	if out := h2.send(juliet, join("Juliet")); condition(out[0]) != "cancel/gone" {
		t.Errorf("tombstone lost over a restart: %v", out)
	}
}

func mamQuery(id, rsm string) string {
	return `<iq type='set' id='` + id + `' to='` + room1 + `'><query xmlns='urn:xmpp:mam:2' queryid='q` + id + `'>` + rsm + `</query></iq>`
}

func TestMAMPaging(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	const total = 10000
	for i := 0; i < total; i++ {
		h.advance(time.Second)
		h.send(romeo, fmt.Sprintf(`<message type='groupchat' id='m%d' to='`+room1+`'><body>%d</body></message>`, i, i))
	}
	// Forward through everything, 250 at a time.
	var seen []string
	after := ""
	for page := 0; ; page++ {
		rsm := `<set xmlns='http://jabber.org/protocol/rsm'><max>250</max>`
		if after != "" {
			rsm += `<after>` + after + `</after>`
		}
		out := h.send(juliet, mamQuery(fmt.Sprint(page), rsm+`</set>`))
		fin := out[len(out)-1]
		if fin.Attr("type") != "result" {
			t.Fatalf("page %d: %v", page, fin)
		}
		for _, m := range out[:len(out)-1] {
			res := m.Child(NSMAM, "result")
			body := child(res, NSForward, "forwarded", NSClient, "message").ChildText(NSClient, "body")
			if body != fmt.Sprint(len(seen)) || res.Attr("queryid") != "q"+fmt.Sprint(page) {
				t.Fatalf("page %d: out of order or wrong query id: %v", page, m)
			}
			seen = append(seen, res.Attr("id"))
		}
		f := fin.Child(NSMAM, "fin")
		after = child(f, NSRSM, "set", NSRSM, "last").Text()
		if f.Attr("complete") == "true" {
			break
		}
		if page > total/250+1 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != total {
		t.Fatalf("paged through %d messages, want %d", len(seen), total)
	}
	// Archive ids are the messages' stanza-ids.
	out := h.send(juliet, mamQuery("last", `<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>`))
	if len(out) != 11 || child(out[9], NSMAM, "result").Attr("id") != seen[total-1] {
		t.Errorf("last page: %d stanzas", len(out))
	}
	fwd := child(out[9], NSMAM, "result", NSForward, "forwarded", NSClient, "message")
	if fwd.Child(NSStanzaID, "stanza-id").Attr("id") != seen[total-1] {
		t.Errorf("stanza-id differs from archive id: %v", fwd)
	}
	if out := h.send(juliet, mamQuery("bad", `<set xmlns='http://jabber.org/protocol/rsm'><after>nope</after></set>`)); condition(out[0]) != "cancel/item-not-found" {
		t.Errorf("unknown id: %v", out)
	}
}

func TestMAMPermissions(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_membersonly", "1")
	if out := h.send(juliet, mamQuery("1", "")); condition(out[0]) != "auth/forbidden" {
		t.Errorf("non-member read a members-only archive: %v", out)
	}
	h.send(romeo, config("muc#roomconfig_enablelogging", "0"))
	if out := h.send(romeo, mamQuery("2", "")); condition(out[0]) != "cancel/service-unavailable" {
		t.Errorf("archive of a room without logging: %v", out)
	}
	h2 := newHarness(t) // no store at all
	h2.createRoom()
	out := h2.send(romeo, `<iq type='set' id='x' to='`+room1+`'><query xmlns='urn:xmpp:mam:2'/></iq>`)
	if len(out) != 1 || out[0].Attr("type") != "error" {
		t.Errorf("query without a store: %v", out)
	}
}

var _ = stanza.New

func TestArchiveExpiryRuns(t *testing.T) {
	st := newMemStore()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	g := NewRegistry(Options{Domain: "conference.localhost", Store: st, ArchiveExpiry: 48 * time.Hour, Now: func() time.Time { return now }})
	deadline := time.Now().Add(5 * time.Second)
	for {
		st.mu.Lock()
		n := len(st.expired)
		st.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.Close()
	if len(st.expired) == 0 || !st.expired[0].Equal(now.Add(-48*time.Hour)) {
		t.Errorf("expiry cutoffs: %v", st.expired)
	}
}
