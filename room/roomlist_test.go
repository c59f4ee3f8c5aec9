package room

import (
	"fmt"
	"slices"
	"testing"
)

// makeRoom creates room name@conference.localhost owned by romeo with the
// given configuration; leave empties it afterwards.
func (h *harness) makeRoom(name string, leave bool, fields ...string) {
	h.t.Helper()
	j := name + "@conference.localhost"
	h.send(romeo, `<presence to='`+j+`/Romeo'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	if fields != nil {
		s := `<iq type='set' id='cfg' to='` + j + `'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>`
		for i := 0; i+1 < len(fields); i += 2 {
			s += `<field var='` + fields[i] + `'><value>` + fields[i+1] + `</value></field>`
		}
		if out := h.send(romeo, s+`</x></query></iq>`); out[0].Attr("type") != "result" {
			h.t.Fatalf("configuring %s: %v", name, out)
		}
	}
	if leave {
		h.send(romeo, `<presence type='unavailable' to='`+j+`/Romeo'/>`)
	}
}

func itemJIDs(items []RoomItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.JID)
	}
	return out
}

// TestRoomListFromStore: the public room list holds persistent rooms that
// are not in memory (evicted, or not loaded since a restart) beside the
// live temporary ones; locked and hidden rooms are not in it.
func TestRoomListFromStore(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	pub, persist := []string{"muc#roomconfig_publicroom", "1"}, []string{"muc#roomconfig_persistentroom", "1"}
	h.makeRoom("a-evicted", true, append(pub, append(persist, "muc#roomconfig_roomname", "Evicted")...)...)
	h.makeRoom("b-live", false, append(pub, persist...)...)
	h.makeRoom("c-temporary", false, pub...)
	h.makeRoom("d-hidden", true, "muc#roomconfig_publicroom", "0", "muc#roomconfig_persistentroom", "1")
	h.makeRoom("e-locked", false) // never configured
	h.makeRoom("f-evicted", true, append(pub, persist...)...)
	if _, live := h.g.rooms["a-evicted@conference.localhost"]; live {
		t.Fatal("empty persistent room still in memory: the test needs it evicted")
	}
	want := []string{"a-evicted@conference.localhost", "b-live@conference.localhost", "c-temporary@conference.localhost", "f-evicted@conference.localhost"}
	page, err := h.g.PublicRooms(RoomQuery{Max: 100})
	if err != nil || !slices.Equal(itemJIDs(page.Items), want) || page.Count != 4 || page.Index != 0 {
		t.Fatalf("room list %v count %d index %d err %v, want %v", itemJIDs(page.Items), page.Count, page.Index, err, want)
	}
	if page.Items[0].Name != "Evicted" || page.Items[1].Name != "b-live" {
		t.Errorf("names: %+v", page.Items)
	}
	for i, tc := range [...]struct {
		q     RoomQuery
		want  []string
		index int
	}{
		0: {q: RoomQuery{Max: 2}, want: want[:2]},
		1: {q: RoomQuery{Max: 2, After: want[1]}, want: want[2:], index: 2},
		2: {q: RoomQuery{Max: 1, After: want[1]}, want: want[2:3], index: 2},
		3: {q: RoomQuery{Max: 2, Last: true}, want: want[2:], index: 2},
		4: {q: RoomQuery{Max: 2, Before: want[3]}, want: want[1:3], index: 1},
		5: {q: RoomQuery{Max: 1, Before: want[3]}, want: want[2:3], index: 2},
		6: {q: RoomQuery{Max: 2, After: want[3]}, want: []string{}},
		7: {q: RoomQuery{Max: 0}, want: []string{}},
		8: {q: RoomQuery{Max: 3, After: "b"}, want: want[1:], index: 1},
	} {
		page, err := h.g.PublicRooms(tc.q)
		if err != nil || !slices.Equal(itemJIDs(page.Items), tc.want) || page.Count != 4 || page.Index != tc.index {
			t.Errorf("%d: %+v: %v count %d index %d err %v; want %v index %d", i, tc.q, itemJIDs(page.Items), page.Count, page.Index, err, tc.want, tc.index)
		}
	}

	// After a restart the persistent public rooms are listed before any
	// of them is loaded, and administrators find every stored room.
	h.g.Shutdown()
	h.g.Close()
	h2 := newStoreHarness(t, st, nil)
	page, err = h2.g.PublicRooms(RoomQuery{Max: 100})
	if want := []string{want[0], want[1], want[3]}; err != nil || !slices.Equal(itemJIDs(page.Items), want) || page.Count != 3 {
		t.Errorf("after a restart: %v count %d err %v, want %v", itemJIDs(page.Items), page.Count, err, want)
	}
	all, err := h2.g.RoomJIDs()
	if want := []string{want[0], want[1], "d-hidden@conference.localhost", want[3]}; err != nil || !slices.Equal(all, want) {
		t.Errorf("admin room list %v err %v, want %v", all, err, want)
	}
	// A store that cannot be read is an error, not an empty list.
	st.failReads = true
	if _, err := h2.g.PublicRooms(RoomQuery{Max: 100}); err == nil {
		t.Error("store failure hidden")
	}
	if _, err := h2.g.RoomJIDs(); err == nil {
		t.Error("store failure hidden from the admin list")
	}
}

// TestRoomListPagesThroughEverything: paging forward and backward visits
// each room once, with indexes that count from the start.
func TestRoomListPagesThroughEverything(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("r%02d", i)
		fields := []string{"muc#roomconfig_publicroom", "1"}
		if i%3 != 0 {
			fields = append(fields, "muc#roomconfig_persistentroom", "1")
		}
		h.makeRoom(name, i%3 != 0, fields...)
		want = append(want, name+"@conference.localhost")
	}
	for _, backward := range []bool{false, true} {
		var got []string
		q := RoomQuery{Max: 5, Last: backward}
		for n := 0; ; n++ {
			page, err := h.g.PublicRooms(q)
			if err != nil || page.Count != len(want) {
				t.Fatalf("backward %v: count %d err %v", backward, page.Count, err)
			}
			if len(page.Items) == 0 {
				break
			}
			if want[page.Index] != page.Items[0].JID {
				t.Errorf("backward %v: index %d of %s", backward, page.Index, page.Items[0].JID)
			}
			if backward {
				got = append(itemJIDs(page.Items), got...)
				q = RoomQuery{Max: 5, Before: page.Items[0].JID}
			} else {
				got = append(got, itemJIDs(page.Items)...)
				q = RoomQuery{Max: 5, After: page.Items[len(page.Items)-1].JID}
			}
			if n > len(want) {
				t.Fatal("paging does not end")
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("backward %v: %v, want %v", backward, got, want)
		}
	}
}
