package room

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestHistoryMemoryBound attacks the history with large messages: 300
// messages of 60 KB in a room whose owner set the longest history. What
// stays in memory is bounded by HistoryBytes per room, and by
// HistoryBudget over all rooms, however many rooms are filled.
func TestHistoryMemoryBound(t *testing.T) {
	const perRoom, budget = 256 << 10, 1 << 20
	h := newLimitedHarness(t, Limits{HistoryBytes: perRoom, HistoryBudget: budget})
	big := strings.Repeat("x", 60<<10)
	fill := func(roomJID string, n int) {
		h.send(romeo, strings.Replace(join("Romeo"), room1, roomJID, 1))
		h.send(romeo, strings.Replace(config("muc#roomconfig_historylength", "1000"), room1, roomJID, 1))
		for i := 0; i < n; i++ {
			h.send(romeo, `<message type='groupchat' to='`+roomJID+`'><body>`+big+`</body></message>`)
		}
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fill(room1, 300)
	r := h.g.rooms[room1]
	if r.history.bytes > perRoom || len(r.history.entries) == 0 {
		t.Errorf("one room keeps %d bytes in %d entries, bound %d", r.history.bytes, len(r.history.entries), perRoom)
	}
	// The newest messages are the ones kept.
	if n := len(r.history.entries); n != perRoom/(60<<10) {
		t.Errorf("%d entries kept, want the %d newest that fit", n, perRoom/(60<<10))
	}
	for i := 0; i < 9; i++ {
		fill(fmt.Sprintf("r%d@conference.localhost", i), 30)
	}
	if used := h.g.svc.historyBudget.used.Load(); used > budget {
		t.Errorf("ten rooms keep %d bytes of history, budget %d", used, budget)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d KiB for 570 messages of 60 KB in 10 rooms (budget %d KiB)", grown>>10, budget>>10)
	// Generous: the rooms themselves cost a little, and the heap is
	// measured, not accounted. Unbounded, this was over 30 MB.
	if grown > 4*budget {
		t.Errorf("heap grew by %d bytes, want about the budget of %d", grown, budget)
	}

	// Joiners get what is kept; a room that is collected gives its bytes
	// back to the budget.
	out := h.send(juliet, join("Juliet"))
	if n := len(pick(out, juliet, "message")); n != len(r.history.entries)+1 {
		t.Errorf("joiner got %d messages, want %d of history and the subject", n, len(r.history.entries)+1)
	}
	usedBefore, roomBytes := h.g.svc.historyBudget.used.Load(), int64(r.history.bytes)
	h.send(juliet, `<presence type='unavailable' to='`+room1+`/Juliet'/>`)
	h.send(romeo, `<presence type='unavailable' to='`+room1+`/Romeo'/>`)
	if used := h.g.svc.historyBudget.used.Load(); h.g.rooms[room1] != nil || used != usedBefore-roomBytes {
		t.Errorf("budget after the room went away: %d, want %d - %d", used, usedBefore, roomBytes)
	}
}

// TestHistoryBudgetAccounting: every way an entry leaves the history gives
// its bytes back: length trimming, moderation, retraction, clearing.
func TestHistoryBudgetAccounting(t *testing.T) {
	h := newLimitedHarness(t, Limits{HistoryBytes: 1 << 20, HistoryBudget: 1 << 30})
	h.createRoom("muc#roomconfig_historylength", "3")
	h.send(juliet, join("Juliet"))
	sum := func() int {
		n := 0
		for _, e := range h.g.rooms[room1].history.entries {
			n += e.msg.Size()
		}
		return n
	}
	check := func(step string) {
		t.Helper()
		r := h.g.rooms[room1]
		if r.history.bytes != sum() || h.g.svc.historyBudget.used.Load() != int64(r.history.bytes) {
			t.Errorf("%s: room counts %d, entries hold %d, service counts %d", step, r.history.bytes, sum(), h.g.svc.historyBudget.used.Load())
		}
	}
	for i := 0; i < 5; i++ {
		h.send(juliet, `<message type='groupchat' id='m`+fmt.Sprint(i)+`' to='`+room1+`'><body>message `+fmt.Sprint(i)+`</body></message>`)
	}
	check("after trimming to the length")
	r := h.g.rooms[room1]
	id := r.stanzaIDOf(r.history.entries[2].msg)
	out := h.send(romeo, `<iq type='set' id='mod' to='`+room1+`'><moderate id='`+id+`' xmlns='`+NSModerate+`'><retract xmlns='`+NSRetract+`'/></moderate></iq>`)
	if res := pick(out, romeo, "iq"); len(res) != 1 || res[0].Attr("type") != "result" {
		t.Fatalf("moderation: %v", out)
	}
	check("after moderation")
	id = r.stanzaIDOf(r.history.entries[1].msg)
	n := len(r.history.entries)
	h.send(juliet, `<message type='groupchat' to='`+room1+`'><retract id='`+id+`' xmlns='`+NSRetract+`'/><body>/me retracted</body></message>`)
	if len(r.history.entries) != n {
		t.Fatalf("retraction: %d entries, want %d (one retracted, one added)", len(r.history.entries), n)
	}
	check("after retraction")
	h.send(romeo, config("muc#roomconfig_historylength", "0"))
	h.send(juliet, `<message type='groupchat' to='`+room1+`'><body>not kept</body></message>`)
	check("after clearing")
}
