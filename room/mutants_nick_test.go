package room

import "testing"

// TestNickKeyIsPRECIS: nicks PRECIS accepts compare by its Nickname
// profile (RFC 8266 §2.4), not by the fallback kept for nicks it refuses:
// U+03F9 GREEK CAPITAL LUNATE SIGMA is the same nick as a final sigma
// there, and lowercasing after NFKC would make it a medial one.
func TestNickKeyIsPRECIS(t *testing.T) {
	if nickKey("ab\u03f9") != nickKey("ab\u03c2") {
		t.Errorf("lunate sigma and final sigma differ: %q, %q", nickKey("ab\u03f9"), nickKey("ab\u03c2"))
	}
	if nickKey("ab\u03f9") == nickKey("ab\u03c3") {
		t.Errorf("lunate sigma taken for a medial sigma: %q", nickKey("ab\u03f9"))
	}
}

// TestControlOnlyNickRefused: a nick of ASCII control characters only
// (a tab is the one XML lets through) is no nick (RFC 3454 C.2.1).
func TestControlOnlyNickRefused(t *testing.T) {
	for _, nick := range []string{"\t", "\t\t", "\n"} {
		if e := nickError(nick); e == nil || e.Condition != "jid-malformed" {
			t.Errorf("%q: %v", nick, e)
		}
	}
}

// TestEmptyNickSaysSo: an empty nick is refused as empty, whichever
// path asks.
func TestEmptyNickSaysSo(t *testing.T) {
	if e := nickError(""); e == nil || e.Condition != "jid-malformed" || e.Text != textNickEmpty {
		t.Errorf("empty nick: %+v", e)
	}
}

// TestPresenceKeepsUnknownAttributes: what an occupant's presence says
// reaches the others unchanged, attributes of extensions included, as
// Prosody's MUC relays them; only the addressing is the room's.
func TestPresenceKeepsUnknownAttributes(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	out := h.send(juliet, `<presence to='`+room1+`/Juliet' id='j1' ext='kept'><x xmlns='http://jabber.org/protocol/muc'/></presence>`)
	p := pick(out, romeo, "presence")
	if len(p) != 1 || p[0].Attr("ext") != "kept" || p[0].Attr("to") != romeo || p[0].Attr("from") != room1+"/Juliet" {
		t.Fatalf("Romeo sees %v", p)
	}
}
