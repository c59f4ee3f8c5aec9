package component

import (
	"testing"

	"chorus/internal/xmlel"
	"chorus/room"
)

func TestRouterService(t *testing.T) {
	rt := NewRouter("conference.localhost", room.NewRegistry(room.Options{Domain: "conference.localhost"}))
	for i, tc := range [...]struct {
		in       string
		wantType string
		check    func(*xmlel.Element) bool
	}{
		0: {`<iq type='get' id='1' from='a@localhost/r' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`, "result",
			func(e *xmlel.Element) bool {
				id := e.FirstChild().Child(nsDiscoInfo, "identity")
				return id.Attr("category") == "conference" && id.Attr("type") == "text"
			}},
		1: {`<iq type='get' id='2' from='a@localhost/r' to='conference.localhost'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>`, "result",
			func(e *xmlel.Element) bool { return e.FirstChild().Is(nsDiscoItems, "query") }},
		2: {`<iq type='get' id='3' from='a@localhost/r' to='conference.localhost'><query xmlns='urn:x'/></iq>`, "error",
			func(e *xmlel.Element) bool {
				return e.Child(xmlel.NSClient, "error").Child(nsStanzas, "service-unavailable") != nil
			}},
		3: {`<iq type='get' id='4' from='a@localhost/r' to='conference.localhost'/>`, "error",
			func(e *xmlel.Element) bool {
				return e.Child(xmlel.NSClient, "error").Child(nsStanzas, "bad-request") != nil
			}},
		4: {`<message from='a@localhost/r' to='conference.localhost'><body>hi</body></message>`, "error", nil},
	} {
		out := room.Flatten(rt.HandleStanza(xmlel.MustParse(tc.in)))
		if len(out) != 1 {
			t.Errorf("%d: got %v", i, out)
			continue
		}
		e := out[0]
		if e.Attr("type") != tc.wantType || e.Attr("from") != "conference.localhost" || e.Attr("to") != "a@localhost/r" {
			t.Errorf("%d: got %v", i, e)
		}
		if tc.check != nil && !tc.check(e) {
			t.Errorf("%d: content %v", i, e)
		}
	}
	if out := rt.HandleStanza(xmlel.MustParse(`<presence from='a@localhost/r' to='conference.localhost'/>`)); len(out) != 0 {
		t.Errorf("presence to the service answered: %v", out)
	}
}
