package room

import (
	"fmt"
	"strings"
	"testing"
	"time"
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
