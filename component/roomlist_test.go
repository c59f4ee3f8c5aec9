package component

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"chorus/room"
	"chorus/stanza"
	"chorus/store"
)

// listRouter is a service with n public rooms named r000...: every other
// one persistent and empty, so that only the store knows it.
func listRouter(t *testing.T, n int) (*Router, []string) {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	reg := room.NewRegistry(room.Options{Domain: "conference.localhost", Store: st})
	t.Cleanup(reg.Close)
	rt := NewRouter("conference.localhost", reg)
	var jids []string
	for i := range n {
		j := fmt.Sprintf("r%03d@conference.localhost", i)
		rt.HandleStanza(stanza.MustParse(`<presence from='o@localhost/r' to='` + j + `/o'><x xmlns='http://jabber.org/protocol/muc'/></presence>`))
		persist := strconv.Itoa(i % 2)
		out := room.Flatten(rt.HandleStanza(stanza.MustParse(`<iq type='set' id='c' from='o@localhost/r' to='` + j + `'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' type='submit'>` +
			`<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field><field var='muc#roomconfig_publicroom'><value>1</value></field>` +
			`<field var='muc#roomconfig_persistentroom'><value>` + persist + `</value></field></x></query></iq>`)))
		if out[0].Attr("type") != "result" {
			t.Fatalf("configure %s: %v", j, out)
		}
		if persist == "1" {
			rt.HandleStanza(stanza.MustParse(`<presence type='unavailable' from='o@localhost/r' to='` + j + `/o'/>`))
		}
		jids = append(jids, j)
	}
	return rt, jids
}

func discoItems(rt *Router, rsm string) *stanza.Element {
	out := room.Flatten(rt.HandleStanza(stanza.MustParse(`<iq type='get' id='i' from='a@localhost/r' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'>` + rsm + `</query></iq>`)))
	if len(out) != 1 {
		return nil
	}
	return out[0]
}

// pageOf reads a disco#items answer: its item JIDs and its RSM set.
func pageOf(res *stanza.Element) (jids []string, first, last string, index, count int, hasSet bool) {
	jids = []string{}
	q := res.FirstChild()
	for _, it := range q.ChildrenNamed(stanza.NSDiscoItems, "item") {
		jids = append(jids, it.Attr("jid"))
	}
	set := q.Child(stanza.NSRSM, "set")
	if set == nil {
		return jids, "", "", -1, -1, false
	}
	index, count = -1, -1
	if f := set.Child(stanza.NSRSM, "first"); f != nil {
		first = f.Text()
		index, _ = strconv.Atoi(f.Attr("index"))
	}
	last = set.ChildText(stanza.NSRSM, "last")
	if c := set.Child(stanza.NSRSM, "count"); c != nil {
		count, _ = strconv.Atoi(c.Text())
	}
	return jids, first, last, index, count, true
}

// TestDiscoItemsRSM: XEP-0045 §6.3 with XEP-0059 paging, over rooms in
// memory and rooms only the store holds.
func TestDiscoItemsRSM(t *testing.T) {
	rt, all := listRouter(t, 7)
	out := room.Flatten(rt.HandleStanza(stanza.MustParse(`<iq type='get' id='f' from='a@localhost/r' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)))
	if !strings.Contains(out[0].String(), "var='"+stanza.NSRSM+"'") {
		t.Errorf("service does not advertise RSM: %v", out[0])
	}
	set := func(s string) string { return `<set xmlns='http://jabber.org/protocol/rsm'>` + s + `</set>` }
	for i, tc := range [...]struct {
		rsm    string
		want   []string
		index  int  // of the first item; -1 when none
		noSet  bool // no <set/> in the answer
		errCnd string
	}{
		0: {rsm: "", want: all, noSet: true},
		1: {rsm: set(`<max>3</max>`), want: all[:3], index: 0},
		2: {rsm: set(`<max>3</max><after>` + all[2] + `</after>`), want: all[3:6], index: 3},
		3: {rsm: set(`<max>3</max><after>` + all[5] + `</after>`), want: all[6:], index: 6},
		4: {rsm: set(`<max>3</max><after>` + all[6] + `</after>`), want: []string{}, index: -1},
		5: {rsm: set(`<max>3</max><before/>`), want: all[4:], index: 4},
		6: {rsm: set(`<max>3</max><before>` + all[4] + `</before>`), want: all[1:4], index: 1},
		7: {rsm: set(`<max>3</max><before>` + all[1] + `</before>`), want: all[:1], index: 0},
		// XEP-0059 §2.7: max 0 asks for the count alone.
		8: {rsm: set(`<max>0</max>`), want: []string{}, index: -1},
		9: {rsm: set(`<after>` + all[4] + `</after>`), want: all[5:], index: 5},
		// An anchor need not name a room: r002x sorts after r002.
		10: {rsm: set(`<max>1</max><after>r002x@conference.localhost</after>`), want: all[3:4], index: 3},
		11: {rsm: set(`<max>x</max>`), errCnd: "bad-request"},
		12: {rsm: set(`<max>1</max><index>2</index>`), errCnd: "feature-not-implemented"},
		13: {rsm: set(`<after>a</after><before>b</before>`), errCnd: "bad-request"},
	} {
		res := discoItems(rt, tc.rsm)
		if res == nil {
			t.Errorf("%d: no single answer", i)
			continue
		}
		if tc.errCnd != "" {
			if res.Attr("type") != "error" || res.Child(stanza.NSClient, "error").Child(stanza.NSStanzas, tc.errCnd) == nil {
				t.Errorf("%d: want %s, got %v", i, tc.errCnd, res)
			}
			continue
		}
		jids, first, last, index, count, hasSet := pageOf(res)
		if !slices.Equal(jids, tc.want) {
			t.Errorf("%d: items %v, want %v", i, jids, tc.want)
		}
		if hasSet == tc.noSet {
			t.Errorf("%d: set present %v: %v", i, hasSet, res)
			continue
		}
		if tc.noSet {
			continue
		}
		if count != len(all) || index != tc.index {
			t.Errorf("%d: count %d index %d, want %d %d: %v", i, count, index, len(all), tc.index, res)
		}
		if len(jids) > 0 && (first != jids[0] || last != jids[len(jids)-1]) {
			t.Errorf("%d: first %q last %q for %v", i, first, last, jids)
		}
		if len(jids) == 0 && (first != "" || last != "") {
			t.Errorf("%d: first/last on an empty page: %v", i, res)
		}
	}
}

// TestDiscoItemsCapped: without a requested page size the answer holds
// defaultRoomPage rooms and says, with a set, that there are more.
func TestDiscoItemsCapped(t *testing.T) {
	rt, all := listRouter(t, defaultRoomPage+1)
	jids, _, last, index, count, hasSet := pageOf(discoItems(rt, ""))
	if len(jids) != defaultRoomPage || !hasSet || count != len(all) || index != 0 || last != all[defaultRoomPage-1] {
		t.Fatalf("%d items, set %v, count %d, index %d, last %s", len(jids), hasSet, count, index, last)
	}
	jids, _, _, index, _, _ = pageOf(discoItems(rt, `<set xmlns='http://jabber.org/protocol/rsm'><after>`+last+`</after></set>`))
	if !slices.Equal(jids, all[defaultRoomPage:]) || index != defaultRoomPage {
		t.Errorf("rest: %v index %d", jids, index)
	}
	if !strings.HasPrefix(all[0], "r000") {
		t.Fatal(all[0])
	}
}
