package room

import (
	"testing"

	"chorus/stanza"
)

// TestMulticastAudiencesStaySeparate: the writer may send each Out once,
// with all its recipients as bcc addresses, so one Out must never join
// audiences that may see different things. In a semi-anonymous room the
// presences that carry real JIDs (XEP-0045 §7.2.3: only to moderators) are
// Outs of their own: every Out whose stanza names a real JID goes only to
// moderators and to the occupant it describes.
func TestMulticastAudiencesStaySeparate(t *testing.T) {
	h := newHarness(t)
	h.createRoom("muc#roomconfig_whois", "moderators")
	moderators := map[string]bool{romeo: true}
	handle := func(from, raw string) {
		t.Helper()
		st := stanza.MustParse(raw)
		st.SetAttr("from", from)
		for _, o := range h.g.Handle(st) {
			x := o.Stanza.Child(NSMUCUser, "x")
			if x == nil {
				continue
			}
			for _, it := range x.ChildrenNamed(NSMUCUser, "item") {
				real := it.Attr("jid")
				if real == "" {
					continue
				}
				for _, to := range o.To {
					if !moderators[to] && bareOf(to) != bareOf(real) {
						t.Errorf("%s: an Out naming %s goes to %s, not a moderator, together with %v", raw, real, to, o.To)
					}
				}
			}
		}
	}
	handle(juliet, join("Juliet"))
	handle(nurse, join("Nurse"))
	handle(tybalt, join("Tybalt"))
	handle(nurse, `<presence to='`+room1+`/Nurse'><show>away</show></presence>`)
	handle(tybalt, `<presence to='`+room1+`/Tybalt2'/>`)
	// Juliet becomes a moderator: from now on she sees real JIDs.
	handle(romeo, `<iq type='set' id='mod' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Juliet' role='moderator'/></query></iq>`)
	moderators[juliet] = true
	handle(nurse, `<presence to='`+room1+`/Nurse'><show>dnd</show></presence>`)
	handle(romeo, `<iq type='set' id='kick' to='`+room1+`'><query xmlns='http://jabber.org/protocol/muc#admin'><item nick='Tybalt2' role='none'/></query></iq>`)
	handle(nurse, `<presence type='unavailable' to='`+room1+`/Nurse'/>`)
}
