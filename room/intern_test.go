package room

import (
	"testing"
)

// Occupants whose presences say the same thing share one stored copy; the
// others see each occupant's own presence all the same.
func TestPresencesShared(t *testing.T) {
	h := newHarness(t)
	h.createRoom()
	vcard := `<x xmlns='vcard-temp:x:update'><photo/></x>`
	h.send(juliet, `<presence to='`+room1+`/Juliet' xml:lang='en'><x xmlns='http://jabber.org/protocol/muc'/>`+vcard+`</presence>`)
	out := h.send(mercutio, `<presence to='`+room1+`/Mercutio' xml:lang='en'><x xmlns='http://jabber.org/protocol/muc'/>`+vcard+`</presence>`)
	h.send(romeo, `<presence to='`+room1+`/Romeo'><show>away</show></presence>`)

	r := h.g.rooms[room1]
	j, m, ro := r.occupantByNick("Juliet").presence(), r.occupantByNick("Mercutio").presence(), r.occupantByNick("Romeo").presence()
	if j == nil || j != m {
		t.Errorf("equal presences stored twice: %p %p", j, m)
	}
	if ro == nil || ro == j || ro.ChildText(NSClient, "show") != "away" {
		t.Errorf("Romeo's presence %v", ro)
	}
	// What Mercutio is told of Juliet is Juliet's, with her own address.
	for _, p := range pick(out, mercutio, "presence") {
		if p.Attr("from") == room1+"/Juliet" {
			if p.Child("vcard-temp:x:update", "x") == nil {
				t.Errorf("Juliet seen as %s", p)
			}
			return
		}
	}
	t.Errorf("Mercutio was not told of Juliet: %v", out)
}
