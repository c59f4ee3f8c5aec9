package room

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"chorus/affiliations"
	"chorus/stanza"
	"chorus/store"
)

// stateOf renders everything a stanza may change about a room, for
// before/after comparisons.
func stateOf(t *testing.T, g *Registry, roomJID string) string {
	t.Helper()
	g.mu.Lock()
	r := g.rooms[roomJID]
	g.mu.Unlock()
	if r == nil {
		return "<not in memory>"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := json.Marshal(r.record())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "record %s\nlocked %v closed %v destroyed %v avatar %q stored %v\n", rec, r.locked, r.closed, r.destroyed, r.avatarHash, r.stored)
	for _, j := range sortedKeys(r.affs) {
		fmt.Fprintf(&b, "aff %s %+v\n", j, r.affs[j])
	}
	for _, o := range r.occupants {
		fmt.Fprintf(&b, "occupant %s %s %v %v\n", o.Nick, o.Bare, o.Role, o.Sessions())
	}
	keys := make([]string, 0, len(r.byNick))
	for k, o := range r.byNick {
		keys = append(keys, k+"="+o.Nick)
	}
	for k, o := range r.byReal {
		keys = append(keys, k+"->"+o.Nick)
	}
	sort.Strings(keys)
	fmt.Fprintf(&b, "index %v\n", keys)
	return b.String()
}

// storedOf renders what the store holds of a room.
func storedOf(st *memStore, roomJID string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.rooms[roomJID]
	if s == nil {
		return "<nothing>"
	}
	affs := append([]store.Affiliation(nil), s.Affiliations...)
	sort.Slice(affs, func(i, j int) bool { return affs[i].JID < affs[j].JID })
	return fmt.Sprintf("%s %+v %+v", s.Data, affs, s.Tombstone)
}

const vcardWithPhoto = `<iq type='set' id='v' to='` + room1 + `'><vCard xmlns='vcard-temp'><FN>Verona</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>iVBORw0KGgo=</BINVAL></PHOTO></vCard></iq>`

// TestRefusedWriteChangesNothing: when the store refuses a change, the room
// is exactly as before, nobody is told anything but the sender, and the
// sender gets wait/internal-server-error; once the store is back the same
// stanza succeeds (so each case does change something).
func TestRefusedWriteChangesNothing(t *testing.T) {
	persistent := []string{"muc#roomconfig_persistentroom", "1"}
	for i, tc := range [...]struct {
		cfg    []string // the room's configuration; nil for a temporary room
		setup  func(h *harness)
		from   string
		stanza string
	}{
		0: {cfg: persistent, from: romeo, stanza: config("muc#roomconfig_roomname", "Verona")},
		1: {cfg: persistent, from: romeo, stanza: admin1(`<item affiliation='member' jid='nurse@localhost'/>`)},
		// A ban takes the occupant out of the room.
		2: {cfg: persistent, from: romeo, stanza: admin1(`<item affiliation='outcast' jid='juliet@localhost'><reason>feud</reason></item>`)},
		// Members-only kicks the non-members.
		3: {cfg: persistent, from: romeo, stanza: config("muc#roomconfig_membersonly", "1")},
		4: {cfg: persistent, from: juliet, stanza: `<message type='groupchat' id='s' to='` + room1 + `'><subject>Feud</subject></message>`,
			setup: func(h *harness) { h.send(romeo, config("muc#roomconfig_changesubject", "1")) }},
		5: {cfg: persistent, from: juliet, stanza: `<iq type='set' id='r' to='` + room1 + `'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field><field var='muc#register_roomnick'><value>Jules</value></field></x></query></iq>`,
			setup: func(h *harness) { h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`)) }},
		6: {cfg: persistent, from: romeo, stanza: vcardWithPhoto},
		7: {cfg: persistent, from: romeo, stanza: `<iq type='set' id='d' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/muc#owner'><destroy jid='elsewhere@conference.localhost'><reason>moved</reason></destroy></query></iq>`},
		// XEP-0045 §9.3: an invitation into a members-only room makes the
		// invitee a member.
		8: {cfg: []string{"muc#roomconfig_persistentroom", "1", "muc#roomconfig_membersonly", "1"}, from: romeo,
			stanza: `<message to='` + room1 + `'><x xmlns='http://jabber.org/protocol/muc#user'><invite to='nurse@localhost'/></x></message>`},
		// A temporary room made persistent stays temporary.
		9: {from: romeo, stanza: config("muc#roomconfig_persistentroom", "1", "muc#roomconfig_roomname", "Verona")},
		// A member's registration removed.
		10: {cfg: persistent, from: juliet, stanza: `<iq type='set' id='r' to='` + room1 + `'><query xmlns='jabber:iq:register'><remove/></query></iq>`,
			setup: func(h *harness) {
				h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost' nick='Jules'/>`))
			}},
		// A persistent room made temporary stays stored.
		11: {cfg: persistent, from: romeo, stanza: config("muc#roomconfig_persistentroom", "0")},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			st := newMemStore()
			var errs []error
			h := newStoreHarness(t, st, &errs)
			if tc.cfg == nil {
				h.createRoom()
			} else {
				h.createRoom(tc.cfg...)
			}
			if tc.setup != nil {
				tc.setup(h)
			}
			if !strings.Contains(strings.Join(tc.cfg, " "), "membersonly") {
				h.send(juliet, join("Juliet"))
			}
			before, storedBefore := stateOf(t, h.g, room1), storedOf(st, room1)

			st.fail = true
			out := h.send(tc.from, tc.stanza)
			if len(out) != 1 || out[0].Attr("to") != tc.from || out[0].Attr("type") != "error" ||
				condition(out[0]) != "wait/internal-server-error" {
				t.Fatalf("want one error to the sender, got %v", out)
			}
			if text := errorText(out[0]); text != textNotStored {
				t.Errorf("error text %q", text)
			}
			if after := stateOf(t, h.g, room1); after != before {
				t.Errorf("room changed by a refused write:\nbefore %s\nafter  %s", before, after)
			}
			if got := storedOf(st, room1); got != storedBefore {
				t.Errorf("store changed: %s, was %s", got, storedBefore)
			}
			if len(errs) == 0 {
				t.Error("store error not reported")
			}
			// The room still works: the owner can still read it.
			if out := h.send(romeo, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`); out[0].Attr("type") != "result" {
				t.Errorf("room unusable after a refused write: %v", out)
			}

			st.fail = false
			out = h.send(tc.from, tc.stanza)
			if res := pick(out, tc.from, out[0].Local); len(res) == 0 || res[0].Attr("type") == "error" {
				t.Errorf("change refused with a working store: %v", out)
			}
			if stateOf(t, h.g, room1) == before && storedOf(st, room1) == storedBefore {
				t.Error("the stanza changes nothing: the case tests nothing")
			}
			if later := storedOf(st, room1); tc.cfg == nil && later == "<nothing>" {
				t.Error("room made persistent not stored")
			}
		})
	}
}

// TestRefusedWriteKeepsNothingPending: a change the store refused is not
// written with the next one either.
func TestRefusedWriteKeepsNothingPending(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	st.fail = true
	h.send(romeo, admin1(`<item affiliation='member' jid='juliet@localhost'/>`))
	st.fail = false
	h.send(romeo, admin1(`<item affiliation='member' jid='nurse@localhost'/>`))
	got := map[string]bool{}
	for _, a := range st.rooms[room1].Affiliations {
		got[a.JID] = true
	}
	if got["juliet@localhost"] || !got["nurse@localhost"] {
		t.Errorf("stored affiliations %v", st.rooms[room1].Affiliations)
	}
}

// TestSavedRoomCoversRecord: every field persist writes is put back by
// restore. The mutation below must change every field of record, so a
// field added to record later fails here until save/restore know it.
func TestSavedRoomCoversRecord(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(juliet, join("Juliet"))
	r := h.g.rooms[room1]
	r.mu.Lock()
	defer r.mu.Unlock()
	before, beforeAffs := r.record(), fmt.Sprint(r.affs)
	beforeState := fmt.Sprintf("%v %v %v %q %d", r.locked, r.closed, r.destroyed, r.avatarHash, len(r.occupants))
	s := r.save()

	// Change everything.
	cfg := &r.cfg
	cv := reflect.ValueOf(cfg).Elem()
	for i := range cv.NumField() {
		f := cv.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int:
			f.SetInt(f.Int() + 1)
		case reflect.Uint8:
			f.SetUint(f.Uint() ^ 1)
		default:
			t.Fatalf("Config.%s: no way to change a %s here", cv.Type().Field(i).Name, f.Kind())
		}
	}
	r.subject = subject{text: "t", from: room1 + "/Romeo", oid: "o", at: h.clock()}
	r.vcard = stanza.MustParse(`<vCard xmlns='vcard-temp'><FN>x</FN></vCard>`)
	r.avatarHash = "h"
	r.salt = []byte("another salt")
	r.affs["nurse@localhost"] = affRecord{aff: affiliations.Member, nick: "Nurse"}
	r.locked, r.closed, r.destroyed = true, true, &tombstone{alt: "x"}
	r.remove(r.occupantByNick("Juliet"), statusChange{})
	r.dirtyData = true

	after := r.record()
	rv, av := reflect.ValueOf(before), reflect.ValueOf(after)
	for i := range rv.NumField() {
		if reflect.DeepEqual(rv.Field(i).Interface(), av.Field(i).Interface()) {
			t.Errorf("record.%s is not changed by this test: extend it, and save/restore", rv.Type().Field(i).Name)
		}
	}
	r.restore(s)
	if got := r.record(); !reflect.DeepEqual(got, before) {
		t.Errorf("restored record %+v, want %+v", got, before)
	}
	if got := fmt.Sprint(r.affs); got != beforeAffs {
		t.Errorf("restored affiliations %s, want %s", got, beforeAffs)
	}
	if got := fmt.Sprintf("%v %v %v %q %d", r.locked, r.closed, r.destroyed, r.avatarHash, len(r.occupants)); got != beforeState {
		t.Errorf("restored state %s, want %s", got, beforeState)
	}
	if r.occupantByNick("Juliet") == nil || r.occupantBySession(juliet) == nil || r.dirtyData {
		t.Error("occupant indexes or dirty flag not restored")
	}
}

// TestAdminDestroyPersists: the service administrator's destroy reaches the
// store as an owner's does, also for a room that is not in memory.
func TestAdminDestroyPersists(t *testing.T) {
	for i, tc := range [...]struct {
		restart bool // destroy from a fresh registry: the room is not loaded
	}{
		0: {restart: false},
		1: {restart: true},
	} {
		st := newMemStore()
		h := newStoreHarness(t, st, nil)
		h.createRoom("muc#roomconfig_persistentroom", "1")
		g := h.g
		if tc.restart {
			h.g.Shutdown()
			h.g.Close()
			g = newStoreHarness(t, st, nil).g
		}
		outs, found, err := g.Destroy(room1, "", "closed by the admin")
		if !found || err != nil {
			t.Errorf("%d: Destroy: found %v, err %v", i, found, err)
		}
		if !tc.restart && len(Flatten(outs)) != 1 {
			t.Errorf("%d: occupant not told: %v", i, Flatten(outs))
		}
		if s := st.rooms[room1]; s == nil || s.Tombstone == nil {
			t.Errorf("%d: no tombstone stored: %v", i, storedOf(st, room1))
		}
		h2 := newStoreHarness(t, st, nil)
		if out := h2.send(juliet, join("Juliet")); condition(out[0]) != "cancel/gone" {
			t.Errorf("%d: destroyed room back after a restart: %v", i, out)
		}
		if _, found, _ := h2.g.Destroy(room1, "", ""); found {
			t.Errorf("%d: destroyed twice", i)
		}
	}
}

// TestAdminDestroyRefused: a destroy the store refuses leaves the room.
func TestAdminDestroyRefused(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	h.send(juliet, join("Juliet"))
	before := stateOf(t, h.g, room1)
	st.fail = true
	outs, found, err := h.g.Destroy(room1, "", "")
	if !found || err == nil || len(outs) != 0 {
		t.Fatalf("Destroy: found %v, err %v, outs %v", found, err, Flatten(outs))
	}
	if after := stateOf(t, h.g, room1); after != before {
		t.Errorf("room changed:\n%s\n%s", before, after)
	}
	st.fail = false
	if out := h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>still here</body></message>`); len(out) != 2 {
		t.Errorf("room not usable: %v", out)
	}
}
