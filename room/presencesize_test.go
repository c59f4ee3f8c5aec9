package room

import (
	"testing"

	"chorus/stanza"
)

// A join presence as servers deliver it (Prosody and ejabberd both stamp
// xml:lang on a client's stanza) is repeated to every occupant with only
// what XEP-0045 §7.2.3 and XEP-0421 need beside the client's own payload:
// no xml:lang without a status text for it to describe.
func TestJoinPresenceCarriesNoIdleLang(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	vcard := `<x xmlns='vcard-temp:x:update'><photo/></x>`
	out := h.send(juliet, `<presence to='`+room1+`/Juliet' xml:lang='en'><x xmlns='http://jabber.org/protocol/muc'/>`+vcard+`</presence>`)
	var seen *stanza.Element
	for _, p := range pick(out, romeo, "presence") {
		if p.Attr("from") == room1+"/Juliet" {
			seen = p
		}
	}
	if seen == nil {
		t.Fatalf("Romeo was not told of Juliet: %v", out)
	}
	t.Logf("%d bytes: %s", len(seen.Append(nil)), seen.Append(nil))
	for _, a := range seen.Attrs {
		if !(a.Space == "" && (a.Local == "from" || a.Local == "to")) {
			t.Errorf("attribute %s:%s=%q in %s", a.Space, a.Local, a.Value, seen.Append(nil))
		}
	}
	var kids []string
	for _, c := range seen.Children() {
		kids = append(kids, c.Space+" "+c.Local)
	}
	want := []string{"vcard-temp:x:update x", NSOccupantID + " occupant-id", NSMUCUser + " x"}
	if len(kids) != len(want) {
		t.Fatalf("children %q, want %q", kids, want)
	}
	for i := range want {
		if kids[i] != want[i] {
			t.Errorf("children %q, want %q", kids, want)
		}
	}

	// With a status text the language says something: it stays.
	out = h.send(juliet, `<presence to='`+room1+`/Juliet' xml:lang='fr'><status>Au balcon</status></presence>`)
	for _, p := range pick(out, romeo, "presence") {
		if p.Attr("from") == room1+"/Juliet" && p.Attr("xml:lang") != "fr" && attrNS(p, stanza.NSXML, "lang") != "fr" {
			t.Errorf("a status without its language: %s", p.Append(nil))
		}
	}
}

func attrNS(e *stanza.Element, space, local string) string {
	for _, a := range e.Attrs {
		if a.Space == space && a.Local == local {
			return a.Value
		}
	}
	return ""
}
