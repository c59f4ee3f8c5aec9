package room

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"chorus/stanza"
)

// archived returns the stanzas the store holds for room1, in order.
func archived(t *testing.T, h *harness, st *memStore) []*stanza.Element {
	t.Helper()
	h.g.archive.sync()
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*stanza.Element
	for _, m := range st.msgs {
		if m.Room == room1 {
			out = append(out, stanza.MustParse(string(m.Stanza)))
		}
	}
	return out
}

// TestHistoricMessages: which groupchat messages go to the history and the
// archive (the list in historic, after Prosody's muc-message-is-historic).
func TestHistoricMessages(t *testing.T) {
	for i, tc := range [...]struct {
		payload string
		kept    bool
	}{
		0:  {`<body>hi</body>`, true},
		1:  {`<reactions xmlns='urn:xmpp:reactions:0' id='x'><reaction>👍</reaction></reactions><store xmlns='urn:xmpp:hints'/>`, true},
		2:  {`<reactions xmlns='urn:xmpp:reactions:0' id='x'><reaction>👍</reaction></reactions>`, false},
		3:  {`<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/>`, true},
		4:  {`<received xmlns='urn:xmpp:chat-markers:0' id='x'/>`, true},
		5:  {`<encryption xmlns='urn:xmpp:eme:0' namespace='urn:xmpp:omemo:2'/>`, true},
		6:  {`<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/></encrypted>`, true},
		7:  {`<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/></encrypted>`, true},
		8:  {`<openpgp xmlns='urn:xmpp:openpgp:0'>BASE64</openpgp>`, true},
		9:  {`<body>hi</body><no-store xmlns='urn:xmpp:hints'/>`, false},
		10: {`<body>hi</body><no-permanent-store xmlns='urn:xmpp:hints'/>`, false},
		11: {`<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/><no-store xmlns='urn:xmpp:hints'/>`, false},
		12: {`<active xmlns='http://jabber.org/protocol/chatstates'/>`, false},
		13: {`<store xmlns='urn:xmpp:hints'/><no-permanent-store xmlns='urn:xmpp:hints'/>`, false},
		14: {`<retract xmlns='urn:xmpp:message-retract:1' id='x'/>`, true},
	} {
		st := newMemStore()
		h := newStoreHarness(t, st, nil)
		h.createRoom("muc#roomconfig_persistentroom", "1")
		h.send(romeo, `<message type='groupchat' id='m`+string(rune('a'+i))+`' to='`+room1+`'>`+tc.payload+`</message>`)
		inArchive := len(archived(t, h, st)) == 1
		out := h.send(juliet, join("Juliet"))
		inHistory := strings.Contains(fmtAll(pick(out, juliet, "message")), "urn:xmpp:delay")
		if inArchive != tc.kept || inHistory != tc.kept {
			t.Errorf("case %d: archived %v, in history %v, want %v", i, inArchive, inHistory, tc.kept)
		}
	}
}

// sayIn has from post body to a room and returns the stanza-id the room
// gave the message.
func sayIn(t *testing.T, h *harness, from, roomJID, body string) string {
	t.Helper()
	out := h.send(from, `<message type='groupchat' id='c-`+body+`' to='`+roomJID+`'><body>`+body+`</body><origin-id xmlns='urn:xmpp:sid:0' id='o-`+body+`'/></message>`)
	for _, m := range out {
		if sid := m.Child(NSStanzaID, "stanza-id"); sid != nil {
			return sid.Attr("id")
		}
	}
	t.Fatalf("message not broadcast: %v", out)
	return ""
}

func moderateReq(roomJID, id, reason string) string {
	return `<iq type='set' id='mod' to='` + roomJID + `'><moderate xmlns='urn:xmpp:message-moderate:1' id='` + id +
		`'><retract xmlns='urn:xmpp:message-retract:1'/><reason>` + reason + `</reason></moderate></iq>`
}

// TestModerateArchivedMessage: a moderator retracts a message that has
// left the in-memory history (XEP-0425); the archive keeps the tombstone
// XEP-0424 and XEP-0425 describe, and the announcement is archived too.
func TestModerateArchivedMessage(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_historylength", "1")
	h.send(juliet, join("Juliet"))
	old := sayIn(t, h, juliet, room1, "rude")
	sayIn(t, h, romeo, room1, "later")
	sayIn(t, h, romeo, room1, "latest")
	if h.g.rooms[room1].historyIndex(old) >= 0 {
		t.Fatal("the message is still in the history; the test needs it gone")
	}
	// Another room's message cannot be moderated from here.
	h.send(romeo, strings.Replace(join("Romeo"), room1, "other@conference.localhost", 1))
	h.send(romeo, strings.Replace(config("muc#roomconfig_persistentroom", "1"), room1, "other@conference.localhost", 1))
	foreign := sayIn(t, h, romeo, "other@conference.localhost", "elsewhere")

	for i, tc := range [...]struct {
		from, id, want string
	}{
		0: {juliet, old, "auth/forbidden"},
		1: {romeo, "nope", "cancel/item-not-found"},
		2: {romeo, foreign, "cancel/item-not-found"},
		3: {romeo, "", "cancel/item-not-found"},
	} {
		if out := h.send(tc.from, moderateReq(room1, tc.id, "x")); len(out) != 1 || condition(out[0]) != tc.want {
			t.Errorf("case %d: %v, want %s", i, out, tc.want)
		}
	}

	info := h.send(juliet, `<iq type='get' id='i' to='`+room1+`'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)[0].String()
	if !strings.Contains(info, "'"+NSRetract+"'") || !strings.Contains(info, "'"+NSRetract+"#tombstone'") {
		t.Errorf("retraction and tombstones not advertised: %s", info)
	}

	out := h.send(romeo, moderateReq(room1, old, "spam"))
	if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		t.Fatalf("moderation of an archived message: %v", out)
	}
	r := h.g.rooms[room1]
	romeoOID, julietOID := r.occupantID("romeo@localhost"), r.occupantID("juliet@localhost")
	ann := pick(out, juliet, "message")
	if len(ann) != 1 {
		t.Fatalf("announcement: %v", out)
	}
	mod := child(ann[0], NSRetract, "retract", NSModerate, "moderated")
	if child(ann[0], NSRetract, "retract").Attr("id") != old || mod.Attr("by") != room1+"/Romeo" ||
		mod.Child(NSOccupantID, "occupant-id").Attr("id") != romeoOID ||
		child(ann[0], NSRetract, "retract", NSRetract, "reason").Text() != "spam" {
		t.Errorf("announcement: %v", ann[0])
	}
	annID := ann[0].Child(NSStanzaID, "stanza-id").Attr("id")

	var tomb, last *stanza.Element
	h.g.archive.sync()
	st.mu.Lock()
	for _, m := range st.msgs {
		if m.ID == old {
			tomb = stanza.MustParse(string(m.Stanza))
		}
	}
	lastMsg := st.msgs[len(st.msgs)-1]
	last = stanza.MustParse(string(lastMsg.Stanza))
	st.mu.Unlock()

	// XEP-0424, XEP-0425 (Tombstones): content gone; retracted with stamp,
	// moderated (by, moderator's occupant id) and reason; the author's
	// occupant id, the stanza-id and the origin-id kept.
	ret := tomb.Child(NSRetract, "retracted")
	switch {
	case tomb.Child(NSClient, "body") != nil:
		t.Errorf("tombstone keeps the body: %v", tomb)
	case ret == nil || ret.Attr("stamp") != "2026-01-02T03:04:05Z":
		t.Errorf("tombstone without a stamped <retracted/>: %v", tomb)
	case child(ret, NSModerate, "moderated").Attr("by") != room1+"/Romeo" ||
		child(ret, NSModerate, "moderated", NSOccupantID, "occupant-id").Attr("id") != romeoOID:
		t.Errorf("tombstone does not name the moderator: %v", tomb)
	case ret.ChildText(NSRetract, "reason") != "spam":
		t.Errorf("tombstone without the reason: %v", tomb)
	case tomb.Child(NSOccupantID, "occupant-id").Attr("id") != julietOID ||
		tomb.Child(NSStanzaID, "stanza-id").Attr("id") != old ||
		tomb.Child(NSStanzaID, "origin-id").Attr("id") != "o-rude" ||
		tomb.Attr("from") != room1+"/Juliet" || tomb.Attr("id") != "c-rude":
		t.Errorf("tombstone lost the message's ids: %v", tomb)
	}
	// XEP-0424 (Business Rules): the retraction is archived, under its own stanza-id.
	if lastMsg.ID != annID || last.Child(NSRetract, "retract").Attr("id") != old {
		t.Errorf("announcement not archived: %s %v", lastMsg.ID, last)
	}
	// And MAM shows it to clients that were offline.
	out = h.send(juliet, mamQuery("m", `<set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set>`))
	if len(out) != 2 || child(out[0], NSMAM, "result", NSForward, "forwarded", NSClient, "message", NSRetract, "retract").Attr("id") != old {
		t.Errorf("MAM does not show the retraction: %v", out)
	}
}

// TestAuthorRetractsArchivedMessage: an author's retraction of a message
// that left the history still leaves a tombstone in the archive, and
// nobody else may retract it (XEP-0424, Business Rules).
func TestAuthorRetractsArchivedMessage(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_historylength", "1")
	h.send(juliet, join("Juliet"))
	old := sayIn(t, h, juliet, room1, "oops")
	sayIn(t, h, romeo, room1, "later")
	// An occupant's retraction does not flush the archive queue (anyone
	// may send one); the message has reached the store here.
	h.g.archive.sync()
	retract := `<message type='groupchat' to='` + room1 + `'><retract xmlns='urn:xmpp:message-retract:1' id='` + old + `'/><store xmlns='urn:xmpp:hints'/></message>`
	if out := h.send(romeo, retract); len(out) != 1 || condition(out[0]) != "auth/forbidden" {
		t.Errorf("retraction by another: %v", out)
	}
	h.send(juliet, retract)
	var tomb *stanza.Element
	for _, m := range archived(t, h, st) {
		if sid := m.Child(NSStanzaID, "stanza-id"); sid != nil && sid.Attr("id") == old {
			tomb = m
		}
	}
	if tomb == nil || tomb.Child(NSClient, "body") != nil || tomb.Child(NSRetract, "retracted") == nil {
		t.Errorf("archive after the author's retraction: %v", tomb)
	}
}

// mamForm is a MAM query with a form of fields (var, value, var, value...)
// and extra elements (RSM, flip-page) after it.
func mamForm(id string, extra string, fields ...string) string {
	x := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>urn:xmpp:mam:2</value></field>`
	for i := 0; i+1 < len(fields); i += 2 {
		x += `<field var='` + fields[i] + `'><value>` + strings.Join(strings.Split(fields[i+1], ","), `</value><value>`) + `</value></field>`
	}
	return mamQuery(id, x+`</x>`+extra)
}

// resultIDs returns the archive ids of a MAM answer's results, in the order
// sent, and the <fin/>.
func resultIDs(out []*stanza.Element) (ids []string, fin *stanza.Element) {
	for _, m := range out {
		if res := m.Child(NSMAM, "result"); res != nil {
			ids = append(ids, res.Attr("id"))
		}
		if f := m.Child(NSMAM, "fin"); f != nil {
			fin = f
		}
	}
	return ids, fin
}

// TestMAMExtended: what urn:xmpp:mam:2#extended promises (XEP-0313): the
// feature itself, the ids field, flipped pages and archive metadata.
func TestMAMExtended(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1")
	info := `<iq type='get' id='i' to='` + room1 + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`
	metadata := `<iq type='get' id='md' to='` + room1 + `'><metadata xmlns='urn:xmpp:mam:2'/></iq>`

	if s := h.send(juliet, info)[0].String(); !strings.Contains(s, "'"+NSMAMExtended+"'") {
		t.Errorf("%s not advertised: %s", NSMAMExtended, s)
	}
	// An empty archive has empty metadata.
	if out := h.send(juliet, metadata); len(out) != 1 || out[0].Attr("type") != "result" ||
		len(child(out[0], NSMAM, "metadata").Children()) != 0 {
		t.Errorf("metadata of an empty archive: %v", out)
	}
	var sids []string
	for i := range 5 {
		h.advance(time.Minute)
		sids = append(sids, sayIn(t, h, romeo, room1, "m"+strconv.Itoa(i)))
	}
	md := child(h.send(juliet, metadata)[0], NSMAM, "metadata")
	if s, e := md.Child(NSMAM, "start"), md.Child(NSMAM, "end"); s == nil || e == nil ||
		s.Attr("id") != sids[0] || s.Attr("timestamp") != "2026-01-02T03:05:05Z" ||
		e.Attr("id") != sids[4] || e.Attr("timestamp") != "2026-01-02T03:09:05Z" {
		t.Errorf("metadata: %v", md)
	}

	rsm := func(inner string) string { return `<set xmlns='http://jabber.org/protocol/rsm'>` + inner + `</set>` }
	for i, tc := range [...]struct {
		query     string
		want      []string // result ids in the order sent
		first     string   // RSM <first/>, still in archive order
		condition string   // of an error reply instead
	}{
		0: {query: mamForm("a", "", "ids", sids[3]+","+sids[1]), want: []string{sids[1], sids[3]}, first: sids[1]},
		1: {query: mamForm("b", "", "ids", sids[1]+",nope"), condition: "cancel/item-not-found"},
		2: {query: mamForm("c", "", "ids", strings.Repeat("x,", maxQueryIDs)+"x"), condition: "modify/policy-violation"},
		3: {query: mamQuery("d", rsm(`<max>3</max><before/>`)+`<flip-page/>`), want: []string{sids[4], sids[3], sids[2]}, first: sids[2]},
		4: {query: mamQuery("e", rsm(`<max>2</max>`)+`<flip-page/>`), want: []string{sids[1], sids[0]}, first: sids[0]},
		5: {query: mamForm("f", rsm(`<max>2</max>`)+`<flip-page/>`, "after-id", sids[1]), want: []string{sids[3], sids[2]}, first: sids[2]},
		6: {query: mamQuery("g", rsm(`<max>2</max><before/>`)), want: []string{sids[3], sids[4]}, first: sids[3]},
		7: {query: mamForm("h", "", "{urn:example}fulltext", "x"), condition: "cancel/feature-not-implemented"},
	} {
		out := h.send(juliet, tc.query)
		if tc.condition != "" {
			if len(out) != 1 || condition(out[0]) != tc.condition {
				t.Errorf("case %d: %v, want %s", i, out, tc.condition)
			}
			continue
		}
		got, fin := resultIDs(out)
		if !slices.Equal(got, tc.want) || fin == nil || child(fin, NSRSM, "set", NSRSM, "first").Text() != tc.first {
			t.Errorf("case %d: results %q, fin %v; want %q, first %s", i, got, fin, tc.want, tc.first)
		}
	}

	// XEP-0313 §4.1.5: the form offers 'ids', open to any value.
	form := h.send(juliet, `<iq type='get' id='f' to='`+room1+`'><query xmlns='urn:xmpp:mam:2'/></iq>`)[0]
	var ids *stanza.Element
	for _, f := range child(form, NSMAM, "query", "jabber:x:data", "x").ChildrenNamed("jabber:x:data", "field") {
		if f.Attr("var") == "ids" {
			ids = f
		}
	}
	if ids == nil || ids.Attr("type") != "list-multi" || child(ids, NSXDataValidate, "validate", NSXDataValidate, "open") == nil {
		t.Errorf("ids field: %v", form)
	}

	// Without an archive, no promise.
	h.send(romeo, config("muc#roomconfig_enablelogging", "0"))
	if s := h.send(juliet, info)[0].String(); strings.Contains(s, NSMAMExtended) {
		t.Errorf("%s advertised without an archive: %s", NSMAMExtended, s)
	}
}

// TestModerateQueuedMessage: in a room that keeps no history in memory, a
// message moderated right after it was said may still wait in the archive
// queue; the room flushes the queue and finds it.
func TestModerateQueuedMessage(t *testing.T) {
	st := newMemStore()
	h := newStoreHarness(t, st, nil)
	h.createRoom("muc#roomconfig_persistentroom", "1", "muc#roomconfig_historylength", "0")
	for i := range 20 {
		sid := sayIn(t, h, romeo, room1, "m"+strconv.Itoa(i))
		if out := h.send(romeo, moderateReq(room1, sid, "")); len(out) != 2 || out[0].Attr("type") != "result" {
			t.Fatalf("message %d: %v", i, out)
		}
	}
}
