package scansion

import (
	"encoding/xml"
	"strings"
	"testing"

	"chorus/stanza"
)

// expected parses a stanza the way scripts are parsed.
func expected(t *testing.T, s string) *stanza.Element {
	t.Helper()
	st, err := parseStanzas(s)
	if err != nil || len(st) != 1 {
		t.Fatalf("parse %q: %v (%d stanzas)", s, err, len(st))
	}
	return st[0]
}

func TestMatch(t *testing.T) {
	const muc = "http://jabber.org/protocol/muc#user"
	for _, tc := range []struct {
		name     string
		exp, got string
		fail     string // "" when it must match, else a fragment of the error
	}{
		{"identical",
			`<message type='chat'><body>hi</body></message>`,
			`<message type='chat'><body>hi</body></message>`, ""},
		{"extra attribute and child in stanza namespace",
			`<message type='chat'/>`,
			`<message type='chat' id='x' from='a@b'><body>hi</body><thread>t</thread></message>`, ""},
		{"wrong attribute value",
			`<message type='chat'/>`,
			`<message type='groupchat'/>`, `/message: attribute type: expected "chat", got "groupchat"`},
		{"missing attribute",
			`<message id='m1'/>`,
			`<message/>`, `missing attribute id`},
		{"missing child",
			`<message><subject/></message>`,
			`<message><body>x</body></message>`, `missing child <subject/>`},
		{"missing child with a near miss",
			`<presence><x xmlns='` + muc + `'><status code='110'/></x></presence>`,
			`<presence><x xmlns='` + muc + `'><status code='100'/></x></presence>`, `/presence/x/status: attribute code: expected "110", got "100"`},
		{"children in any order",
			`<message><subject/><body>b</body></message>`,
			`<message><body>b</body><subject/></message>`, ""},
		{"distinct children needed",
			`<message><body/><body/></message>`,
			`<message><body>x</body></message>`, `no distinct received child`},
		{"distinct children found despite greedy trap",
			`<presence><x xmlns='urn:y' scansion:strict='false'><status/><status code='110'/></x></presence>`,
			`<presence><x xmlns='urn:y'><status code='110'/><status code='201'/></x></presence>`, ""},
		{"wrong name",
			`<iq/>`,
			`<message/>`, `expected <iq/>, got <message/>`},
		{"wrong namespace",
			`<message><x xmlns='urn:a'/></message>`,
			`<message><x xmlns='urn:b'/></message>`, `missing child <x xmlns='urn:a'/>`},
		{"strict element in order",
			`<presence><x xmlns='` + muc + `'><status code='201'/><item affiliation='owner'/><status code='110'/></x></presence>`,
			`<presence><x xmlns='` + muc + `'><status code='201'/><item affiliation='owner'/><status code='110'/></x></presence>`, ""},
		{"strict element wrong order",
			`<presence><x xmlns='` + muc + `'><status code='110'/><item affiliation='owner'/></x></presence>`,
			`<presence><x xmlns='` + muc + `'><item affiliation='owner'/><status code='110'/></x></presence>`, `/presence/x/status: expected <status code='110'/>, got <item affiliation='owner'/>`},
		{"strict element extra child",
			`<presence><x xmlns='` + muc + `'><item/></x></presence>`,
			`<presence><x xmlns='` + muc + `'><item/><status code='110'/></x></presence>`, `unexpected child <status code='110'/>`},
		{"strict element missing child",
			`<presence><x xmlns='` + muc + `'><item/><status/></x></presence>`,
			`<presence><x xmlns='` + muc + `'><item/></x></presence>`, `missing child <status/>`},
		{"strict element extra attribute",
			`<presence><x xmlns='` + muc + `'/></presence>`,
			`<presence><x xmlns='` + muc + `' a='1'/></presence>`, `unexpected attribute a="1"`},
		{"strictness reaches grandchildren",
			`<presence><x xmlns='` + muc + `'><item affiliation='none'/></x></presence>`,
			`<presence><x xmlns='` + muc + `'><item affiliation='none' role='none'/></x></presence>`, `/presence/x/item: unexpected attribute role`},
		{"redundant xmlns declaration is not compared",
			`<presence><x xmlns='` + muc + `'><item xmlns='` + muc + `' role='moderator'/></x></presence>`,
			`<presence><x xmlns='` + muc + `'><item role='moderator'/></x></presence>`, ""},
		{"any value present",
			`<message><delay xmlns='urn:xmpp:delay' stamp='{scansion:any}'/></message>`,
			`<message><delay xmlns='urn:xmpp:delay' stamp='2024-01-01T00:00:00Z'/></message>`, ""},
		{"any value absent",
			`<message><delay xmlns='urn:xmpp:delay' stamp='{scansion:any}'/></message>`,
			`<message><delay xmlns='urn:xmpp:delay'/></message>`, `missing attribute stamp`},
		{"strict override true on stanza",
			`<message scansion:strict='true'><body>x</body></message>`,
			`<message><body>x</body><thread>t</thread></message>`, `unexpected child <thread>`},
		{"strict override true with no children",
			`<iq><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item' scansion:strict='true'/></iq>`,
			`<iq><query xmlns='http://jabber.org/protocol/disco#info' node='x-roomuser-item'><identity name='R'/></query></iq>`, `unexpected child <identity name='R'/>`},
		{"strict override false inside extension",
			`<presence><x xmlns='` + muc + `' scansion:strict='false'><status code='110'/></x></presence>`,
			`<presence><x xmlns='` + muc + `' extra='1'><item/><status code='110'/></x></presence>`, ""},
		{"text mismatch",
			`<message><body>Hello</body></message>`,
			`<message><body>Goodbye</body></message>`, `/message/body: text: expected "Hello", got "Goodbye"`},
		{"text trimmed",
			"<message><body>\n\t\tHello\n\t</body></message>",
			`<message><body>Hello</body></message>`, ""},
		{"no expected text means text is not compared",
			`<message><subject/></message>`,
			`<message><subject>Topic</subject></message>`, ""},
		{"indentation is not text",
			"<iq id='c' type='result'>\n\t</iq>",
			`<iq id='c' type='result'/>`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Match(expected(t, tc.exp), stanza.MustParse(tc.got))
			switch {
			case tc.fail == "" && err != nil:
				t.Errorf("should match, got %v", err)
			case tc.fail != "" && err == nil:
				t.Errorf("should not match")
			case tc.fail != "" && !strings.Contains(err.Error(), tc.fail):
				t.Errorf("error %q does not mention %q", err, tc.fail)
			}
		})
	}
}

// TestMatchLooseParse covers expected stanzas from stanza.ParseLoose, where
// the undeclared scansion: prefix stands for its own namespace.
func TestMatchLooseParse(t *testing.T) {
	exp, err := stanza.ParseLoose(`<message scansion:strict='true'><body>x</body></message>`)
	if err != nil {
		t.Fatal(err)
	}
	if err := Match(exp, stanza.MustParse(`<message><body>x</body></message>`)); err != nil {
		t.Errorf("equal stanza: %v", err)
	}
	if err := Match(exp, stanza.MustParse(`<message><body>x</body><b/></message>`)); err == nil {
		t.Error("strict override ignored")
	}
}

func TestSimilarityPrefersCloserShape(t *testing.T) {
	exp := expected(t, `<presence from='r@c/n' type='unavailable'><x xmlns='urn:x'><item role='none'/></x></presence>`)
	far := stanza.MustParse(`<presence from='other@c/n'/>`)
	near := stanza.MustParse(`<presence from='r@c/n'><x xmlns='urn:x'><item role='none'/></x></presence>`)
	if similarity(exp, near) <= similarity(exp, far) {
		t.Errorf("near %d, far %d", similarity(exp, near), similarity(exp, far))
	}
	if similarity(exp, stanza.MustParse(`<message/>`)) != 0 {
		t.Error("different name should score 0")
	}
}

// TestMayBeAbsent covers Options.MayBeAbsent: a named element may be
// missing, in strict and loose parents alike, and nothing else is relaxed.
func TestMayBeAbsent(t *testing.T) {
	photo := []xml.Name{{Space: "vcard-temp:x:update", Local: "photo"}}
	const exp = `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'><photo/></x>` +
		`<x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>`
	for i, tc := range [...]struct {
		absent []xml.Name
		got    string
		fail   string
	}{
		0: {nil, `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'/><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>`, "missing child <photo"},
		1: {photo, `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'/><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>`, ""},
		// Present, it is compared as usual.
		2: {photo, `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'><photo>abc</photo></x><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>`, ""},
		3: {photo, `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'><photo a='1'/></x><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>`, "unexpected attribute a"},
		// Only the named element: the rest of the stanza is as strict as before.
		4: {photo, `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'/></presence>`, "missing child <x"},
		5: {photo, `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'/><x xmlns='http://jabber.org/protocol/muc#user'/></presence>`, "missing child <item"},
		6: {[]xml.Name{{Space: "urn:other", Local: "photo"}}, `<presence from='r@c/n'><x xmlns='vcard-temp:x:update'/><x xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/></x></presence>`, "missing child <photo"},
	} {
		err := matchRelaxed(expected(t, exp), stanza.MustParse(tc.got), tc.absent)
		switch {
		case tc.fail == "" && err != nil:
			t.Errorf("%d: should match, got %v", i, err)
		case tc.fail != "" && err == nil:
			t.Errorf("%d: should not match", i)
		case tc.fail != "" && !strings.Contains(err.Error(), tc.fail):
			t.Errorf("%d: error %q does not mention %q", i, err, tc.fail)
		}
	}
}
