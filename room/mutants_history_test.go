package room

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"chorus/stanza"
)

// TestHistoryLimitsAtTheirBounds: XEP-0045 §7.2.15 at each edge of the
// joiner's limits. Three messages are 20, 10 and 0 seconds old when the
// joiner comes; maxchars counts whole stanzas, newest first; seconds and
// since take a message sent exactly at the limit; when both are given
// the later bound wins; invalid limits are ignored.
func TestHistoryLimitsAtTheirBounds(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	t0 := h.clock()
	for i, body := range []string{"m1", "m2", "m3"} {
		if i > 0 {
			h.advance(10 * time.Second)
		}
		h.send(romeo, `<message type='groupchat' id='`+body+`' to='`+room1+`'><body>`+body+`</body></message>`)
	}
	entries := h.g.rooms[room1].history.entries
	size := func(i int) int { return len(entries[i].msg.Append(nil)) }
	s2, s3 := size(1), size(2)
	stamp := func(d time.Duration) string { return t0.Add(d).UTC().Format(time.RFC3339) }
	for i, tc := range [...]struct {
		history string
		want    string
	}{
		0:  {``, "m1 m2 m3"},
		1:  {`<history maxstanzas='1'/>`, "m3"},
		2:  {`<history maxstanzas='2'/>`, "m2 m3"},
		3:  {`<history maxstanzas='3'/>`, "m1 m2 m3"},
		4:  {`<history maxstanzas='-1'/>`, "m1 m2 m3"},
		5:  {`<history maxchars='0'/>`, ""},
		6:  {fmt.Sprintf(`<history maxchars='%d'/>`, s3-1), ""},
		7:  {fmt.Sprintf(`<history maxchars='%d'/>`, s3), "m3"},
		8:  {fmt.Sprintf(`<history maxchars='%d'/>`, s3+s2-1), "m3"},
		9:  {fmt.Sprintf(`<history maxchars='%d'/>`, s3+s2), "m2 m3"},
		10: {`<history maxchars='-1'/>`, "m1 m2 m3"},
		11: {`<history seconds='0'/>`, "m3"},
		12: {`<history seconds='9'/>`, "m3"},
		13: {`<history seconds='10'/>`, "m2 m3"},
		14: {`<history seconds='-1'/>`, "m1 m2 m3"},
		15: {`<history since='` + stamp(10*time.Second) + `'/>`, "m2 m3"},
		16: {`<history since='` + stamp(11*time.Second) + `'/>`, "m3"},
		17: {`<history seconds='20' since='` + stamp(10*time.Second) + `'/>`, "m2 m3"},
		18: {`<history seconds='10' since='` + stamp(0) + `'/>`, "m2 m3"},
		19: {`<history maxstanzas='2' maxchars='` + fmt.Sprint(s3) + `'/>`, "m3"},
	} {
		who := fmt.Sprintf("h%d@localhost/x", i)
		var got []string
		for _, m := range pick(h.send(who, join(fmt.Sprintf("H%d", i), tc.history)), who, "message") {
			if b := m.ChildText(NSClient, "body"); b != "" {
				got = append(got, b)
				if m.Child(NSDelay, "delay") == nil {
					t.Errorf("%d: history message without delay: %v", i, m)
				}
			}
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%d: %s: got %q, want %q", i, tc.history, s, tc.want)
		}
		// Leave, so the next joiner's presence broadcast stays small.
		h.send(who, `<presence type='unavailable' to='`+room1+`/`+fmt.Sprintf("H%d", i)+`'/>`)
	}
}

// TestHistoryBytesAtTheirBounds: the room's bytes (Limits.HistoryBytes)
// and the service's budget (Limits.HistoryBudget) are bounds that may be
// reached: history exactly at a bound keeps every entry, one byte less
// drops the oldest.
func TestHistoryBytesAtTheirBounds(t *testing.T) {
	msg := func(body string) *stanza.Element {
		return stanza.MustParse(`<message type='groupchat'><body>` + body + `</body></message>`)
	}
	s := msg("one").Size() + msg("two").Size()
	for i, tc := range [...]struct {
		maxBytes, budget int
		kept             int
	}{
		0: {s, 0, 2},
		1: {s - 1, 0, 1},
		2: {0, s, 2},
		3: {0, s - 1, 1},
	} {
		var h history
		if tc.budget > 0 {
			h.budget = &historyBudget{limit: int64(tc.budget)}
		}
		h.push(historyEntry{msg: msg("one")}, 10, tc.maxBytes)
		h.push(historyEntry{msg: msg("two")}, 10, tc.maxBytes)
		if len(h.entries) != tc.kept || h.entries[len(h.entries)-1].msg.ChildText(NSClient, "body") != "two" {
			t.Errorf("%d: %d entries kept, want %d (the newest last)", i, len(h.entries), tc.kept)
		}
	}
}

// TestSessionCheckSchedulesOnlyDeferred: the session check re-arms the
// timer of rooms holding deferred presence, and of no other room.
func TestSessionCheckSchedulesOnlyDeferred(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	h.send(juliet, join("Juliet"))
	h.g.CheckSessions()
	if due := h.g.Due(h.clock().Add(time.Hour)); len(due) != 0 {
		t.Errorf("rooms due with nothing deferred: %v", due)
	}
}

// TestHistoryBudgetTakenByOthers: a room whose new entry does not fit in
// what other rooms left of the budget gives up its own entries, down to
// none, and no more, even when the others are over the budget (a
// replacement, such as a moderation tombstone, is not trimmed).
func TestHistoryBudgetTakenByOthers(t *testing.T) {
	for i, over := range [...]int64{0: 0, 1: 1} {
		b := &historyBudget{}
		full := stanza.MustParse(`<message type='groupchat'><body>` + strings.Repeat("x", 100) + `</body></message>`)
		b.limit = int64(full.Size())
		quiet, busy := history{budget: b}, history{budget: b}
		quiet.push(historyEntry{msg: full}, 10, 0)
		b.add(int(over))
		busy.push(historyEntry{msg: stanza.MustParse(`<message type='groupchat'><body>y</body></message>`)}, 10, 0)
		if len(busy.entries) != 0 || busy.bytes != 0 || len(quiet.entries) != 1 {
			t.Errorf("%d: busy keeps %d entries (%d bytes), quiet %d", i, len(busy.entries), busy.bytes, len(quiet.entries))
		}
		if used := b.used.Load(); used != int64(full.Size())+over {
			t.Errorf("%d: budget used %d, want %d", i, used, int64(full.Size())+over)
		}
	}
}

// TestHistoricChildByChild: which broadcast messages go to the history and
// the archive, child by child (Prosody's muc-message-is-historic, XEP-0334
// hints first).
func TestHistoricChildByChild(t *testing.T) {
	for i, tc := range [...]struct {
		children string
		historic bool
	}{
		0:  {`<body>x</body>`, true},
		1:  {`<subject>s</subject>`, true},
		2:  {`<thread>t</thread>`, false},
		3:  {`<active xmlns='http://jabber.org/protocol/chatstates'/>`, false},
		4:  {`<body>x</body><no-store xmlns='urn:xmpp:hints'/>`, false},
		5:  {`<no-permanent-store xmlns='urn:xmpp:hints'/><body>x</body>`, false},
		6:  {`<store xmlns='urn:xmpp:hints'/>`, true},
		7:  {`<encryption xmlns='` + NSEME + `' namespace='x'/>`, true},
		8:  {`<other xmlns='` + NSEME + `'/>`, false},
		9:  {`<encrypted xmlns='` + NSOMEMO + `'/>`, true},
		10: {`<encrypted xmlns='` + NSOMEMOLegacy + `'/>`, true},
		11: {`<header xmlns='` + NSOMEMO + `'/>`, false},
		12: {`<openpgp xmlns='` + NSOpenPGP + `'/>`, true},
		13: {`<signcrypt xmlns='` + NSOpenPGP + `'/>`, false},
		14: {`<displayed xmlns='` + NSChatMarkers + `' id='m'/>`, true},
		15: {`<retract xmlns='` + NSRetract + `' id='m'/>`, true},
		16: {`<retracted xmlns='` + NSRetract + `'/>`, false},
		17: {`<thread>t</thread><body>x</body>`, true},
	} {
		msg := stanza.MustParse(`<message xmlns='jabber:client' type='groupchat'>` + tc.children + `</message>`)
		if got := historic(msg); got != tc.historic {
			t.Errorf("%d: historic %v, want %v", i, got, tc.historic)
		}
	}
}
