package scansion

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chorus/stanza"
)

// scriptDir is where Prosody's MUC scripts live, outside the module.
func scriptDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CHORUS_SCANSION_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "scansion")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("scansion scripts not found: %v", err)
		}
		t.Skipf("scansion scripts not found (%v); set CHORUS_SCANSION_DIR", err)
	}
	return dir
}

func TestParseProsodyScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(scriptDir(t), "*.scs"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 11 {
		t.Fatalf("found %d scripts, want at least 11", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if s.Title == "" || len(s.Clients) == 0 || len(s.Actions) == 0 {
				t.Fatalf("title %q, %d clients, %d actions", s.Title, len(s.Clients), len(s.Actions))
			}
			for _, a := range s.Actions {
				if s.Client(a.Client) == nil {
					t.Errorf("line %d: unknown client %q", a.Line, a.Client)
				}
				if (a.Verb == Send || a.Verb == Receive) != (len(a.Stanzas) > 0) {
					t.Errorf("line %d: %s with %d stanzas", a.Line, a, len(a.Stanzas))
				}
				for _, st := range a.Stanzas {
					if st.Space != stanza.NSClient {
						t.Errorf("line %d: stanza namespace %q", a.Line, st.Space)
					}
				}
			}
		})
	}
}

// TestParseProsodyScriptDetails pins a few facts of known scripts, so a
// parser that silently drops lines would be caught.
func TestParseProsodyScriptDetails(t *testing.T) {
	dir := scriptDir(t)
	s, err := ParseFile(filepath.Join(dir, "muc_create_destroy.scs"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Title != "MUC creation, basic messages and destruction" {
		t.Errorf("title %q", s.Title)
	}
	if len(s.Clients) != 3 || s.Clients[2].Name != "Admin" || s.Clients[2].JID != "admin@localhost/DfNgg9VE" || s.Clients[2].Password != "password" {
		t.Errorf("clients %+v", s.Clients)
	}
	first := s.Actions[0]
	if first.Line != 17 || first.Client != "Romeo" || first.Verb != Connect {
		t.Errorf("first action %+v", first)
	}
	last := s.Actions[len(s.Actions)-1]
	if last.Client != "Admin" || last.Verb != Disconnect {
		t.Errorf("last action %+v", last)
	}
	var delay *stanza.Element
	for _, a := range s.Actions {
		for _, st := range a.Stanzas {
			if d := st.Child("urn:xmpp:delay", "delay"); d != nil {
				delay = d
			}
		}
	}
	if delay == nil || delay.Attr("stamp") != anyValue {
		t.Errorf("delay %v", delay)
	}

	s, err = ParseFile(filepath.Join(dir, "muc_nickname_change.scs"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Title != "MUC: Change nickname" || s.Description != "Make sure a role is not reset, see #1466" {
		t.Errorf("title %q, description %q", s.Title, s.Description)
	}

	s, err = ParseFile(filepath.Join(dir, "muc_register.scs"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range s.Actions {
		for _, st := range a.Stanzas {
			if x := st.Child("http://jabber.org/protocol/muc#user", "x"); x != nil {
				if v, ok := directive(x, "strict"); ok && v == "true" {
					found = true
				}
			}
		}
	}
	if !found {
		t.Error("scansion:strict directive not parsed")
	}
}

func TestParseInline(t *testing.T) {
	const src = `# Title here
# more
// also description

[Client] Juliet's phone
	jid: juliet@localhost
	password: pw
	resource: phone

[Client] Romeo
	jid: romeo@localhost/garden
-----
-- a comment
Juliet's phone connects
Romeo connects

Juliet's phone sends:
	<message to="${Romeo's full JID}" from="${Juliet's phone's JID}"><body>a</body></message>

	<presence/>
Romeo receives
	<message from="${Juliet's phone's full JID}"/>
Romeo receives: nothing
Romeo sends: <presence/>
Romeo disconnects
# end
`
	s, err := Parse("inline", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Title != "Title here" || s.Description != "more\nalso description" {
		t.Errorf("title %q description %q", s.Title, s.Description)
	}
	c := s.Client("Juliet's phone")
	if c == nil || c.Resource != "phone" || c.Password != "pw" {
		t.Fatalf("client %+v", c)
	}
	want := []struct {
		line    int
		client  string
		verb    Verb
		stanzas int
	}{
		{14, "Juliet's phone", Connect, 0},
		{15, "Romeo", Connect, 0},
		{17, "Juliet's phone", Send, 2},
		{21, "Romeo", Receive, 1},
		{23, "Romeo", ReceiveNothing, 0},
		{24, "Romeo", Send, 1},
		{25, "Romeo", Disconnect, 0},
	}
	if len(s.Actions) != len(want) {
		t.Fatalf("%d actions, want %d", len(s.Actions), len(want))
	}
	for i, w := range want {
		a := s.Actions[i]
		if a.Line != w.line || a.Client != w.client || a.Verb != w.verb || len(a.Stanzas) != w.stanzas {
			t.Errorf("action %d: got line %d %s %d stanzas, want line %d %s %s %d", i, a.Line, a, len(a.Stanzas), w.line, w.client, w.verb, w.stanzas)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const head = "[Client] Romeo\n\tjid: romeo@localhost\n-----\n" // actions start on line 4
	for _, tc := range []struct {
		name, src string
		line      int
		msg       string
	}{
		{"bad xml", head + "Romeo sends:\n\t<message>\n\t\t<body>x</bdy>\n\t</message>\n", 6, "sends"},
		{"unknown client", head + "Juliet connects\n", 4, "unknown client"},
		{"no separator", "[Client] Romeo\n\tjid: romeo@localhost\nRomeo connects\n", 3, "expected [Client]"},
		{"missing separator at end", "[Client] Romeo\n\tjid: romeo@localhost\n", 3, "separator"},
		{"empty send", head + "Romeo sends:\nRomeo connects\n", 4, "needs an indented stanza block"},
		{"garbage action", head + "Romeo dances\n", 4, "cannot parse action"},
		{"unknown property", "[Client] Romeo\n\tjid: r@localhost\n\tcolour: red\n-----\n", 3, "unknown client property"},
		{"no jid", "[Client] Romeo\n\tpassword: x\n-----\n", 1, "no jid"},
		{"unknown variable client", head + "Romeo sends:\n\t<message to=\"${Juliet's JID}\"/>\n", 5, "undeclared client"},
		{"bad variable", head + "Romeo sends:\n\t<message to=\"${Romeo's nick}\"/>\n", 5, "unknown variable"},
		{"text outside stanza", head + "Romeo sends:\n\thello\n", 5, "outside any stanza"},
		{"connect with block", head + "Romeo connects\n\t<presence/>\n", 5, "takes no stanza block"},
		{"stray indented line", "\tfoo\n", 1, "indented line"},
		{"other object", "[Component] c\n-----\n", 1, "only [Client]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.scs", strings.NewReader(tc.src))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a ParseError", err)
			}
			if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("got %v, want line %d containing %q", err, tc.line, tc.msg)
			}
		})
	}
}
