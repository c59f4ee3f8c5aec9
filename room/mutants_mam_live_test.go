package room

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"chorus/store"
)

// TestMAMQueryEdges: XEP-0313 query forms and RSM at their edges. A form
// of another FORM_TYPE is refused; exactly maxQueryIDs ids are allowed
// (more: policy-violation); RSM max 0 asks for the count alone (XEP-0059
// §2.6): no item, and complete only when the archive holds none.
func TestMAMQueryEdges(t *testing.T) {
	h := newStoreHarness(t, newMemStore(), nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	sayIn(t, h, romeo, room1, "hello")

	other := mamQuery("f", `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:example:other</value></field></x>`)
	if out := h.send(romeo, other); len(out) != 1 || condition(out[0]) != "modify/bad-request" {
		t.Errorf("form of another type: %v", out)
	}

	ids := make([]string, maxQueryIDs)
	for i := range ids {
		ids[i] = "nope" + strings.Repeat("x", i%3)
	}
	out := h.send(romeo, mamForm("ids", "", "ids", strings.Join(ids, ",")))
	if len(out) == 0 || condition(out[len(out)-1]) == "modify/policy-violation" {
		t.Errorf("%d ids refused as too many: %v", maxQueryIDs, out)
	}
	out = h.send(romeo, mamForm("ids2", "", "ids", strings.Join(append(ids, "one-more"), ",")))
	if len(out) != 1 || condition(out[0]) != "modify/policy-violation" {
		t.Errorf("%d ids: %v", maxQueryIDs+1, out)
	}

	out = h.send(romeo, mamQuery("c", `<set xmlns='http://jabber.org/protocol/rsm'><max>0</max></set>`))
	if len(out) == 0 || out[len(out)-1].Attr("type") != "result" {
		t.Fatalf("RSM max 0: %v", out)
	}
	if ids, fin := resultIDs(out); len(ids) != 0 || fin == nil || fin.Attr("complete") == "true" {
		t.Errorf("RSM max 0 of an archive with a message gave %d messages, fin %v", len(ids), fin)
	}
	// An empty archive: complete.
	e := newStoreHarness(t, newMemStore(), nil)
	e.createRoom("muc#roomconfig_persistentroom", "1")
	out = e.send(romeo, mamQuery("e", `<set xmlns='http://jabber.org/protocol/rsm'><max>0</max></set>`))
	if ids, fin := resultIDs(out); len(ids) != 0 || fin == nil || fin.Attr("complete") != "true" {
		t.Errorf("RSM max 0 of an empty archive gave %d messages, fin %v", len(ids), fin)
	}
}

// TestMaxUsersNoneShown: with no limit of the service, a room without an
// occupant limit shows "none" in its form, not 0.
func TestMaxUsersNoneShown(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_maxusers", "none")
	if got := configValue(h, "muc#roomconfig_maxusers"); got != "none" {
		t.Errorf("maxusers %q, want none", got)
	}
}

// TestRestoreLiveReportsFailures: a room of the live state that cannot be
// read is reported (Restore's error and the store-error hook) and the
// others come back; a clean restore reports nothing.
func TestRestoreLiveReportsFailures(t *testing.T) {
	p := newLiveProbe(t)
	a := newLiveHarness(t, p, "", nil)
	a.createRoom()
	a.send(juliet, join("Juliet"))
	a.tick()
	a.g.Close()

	var errs []error
	b := newLiveHarness(t, p, "", &errs)
	if rooms, _, err := b.g.Restore(context.Background()); err != nil || rooms != 1 || len(errs) != 0 {
		t.Fatalf("clean restore: %d rooms, %v, reported %v", rooms, err, errs)
	}
	b.g.Close()

	bad := store.LiveRoom{JID: room2, Temporary: true, Data: json.RawMessage(`{"config": 7}`),
		Sessions: []store.LiveSession{{FullJID: nurse, Nick: "Nurse", Role: "participant"}}}
	if err := p.live.SaveLive(context.Background(), []store.LiveRoom{bad}, nil); err != nil {
		t.Fatal(err)
	}
	errs = nil
	c := newLiveHarness(t, p, "", &errs)
	rooms, _, err := c.g.Restore(context.Background())
	if err == nil || len(errs) == 0 || !strings.Contains(err.Error(), room2) {
		t.Errorf("unreadable room: error %v, reported %v", err, errs)
	}
	if rooms != 1 {
		t.Errorf("%d rooms came back, want the readable one", rooms)
	}
}

// TestRestoreLiveKeepsPresence: an occupant comes back with the presence
// it had (show and status), as the others saw it.
func TestRestoreLiveKeepsPresence(t *testing.T) {
	p := newLiveProbe(t)
	a := newLiveHarness(t, p, "", nil)
	a.createRoom()
	a.send(juliet, `<presence to='`+room1+`/Juliet'><x xmlns='http://jabber.org/protocol/muc'/><show>away</show><status>brb</status></presence>`)
	a.send(nurse, `<presence to='`+room1+`/Nurse'><x xmlns='http://jabber.org/protocol/muc'/><show>away</show><status>brb</status></presence>`)
	a.tick()
	a.g.Close()
	b := newLiveHarness(t, p, "", nil)
	if _, _, err := b.g.Restore(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"Juliet", "Nurse"} {
		seen := false
		for _, pr := range pick(b.send(mercutio, join("Mercutio")), mercutio, "presence") {
			if pr.Attr("from") == room1+"/"+who {
				seen = true
				if pr.ChildText(NSClient, "show") != "away" || pr.ChildText(NSClient, "status") != "brb" {
					t.Errorf("%s restored as %v", who, pr)
				}
			}
		}
		b.send(mercutio, `<presence type='unavailable' to='`+room1+`/Mercutio'/>`)
		if !seen {
			t.Errorf("%s not in the room after the restore", who)
		}
	}
}
