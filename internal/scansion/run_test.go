package scansion

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"chorus/internal/fakehost"
)

const clients = `# Runner test
[Client] Romeo
	jid: romeo@localhost/garden
	password: pw

[Client] Juliet
	jid: juliet@localhost
	password: pw
	resource: balcony

-----
Romeo connects
Juliet connects
`

// clientLines is how many lines clients has; a script appended to it
// starts on the line after.
const clientLines = 13

// exchange is what Romeo sends in most scripts below.
const exchange = `
Romeo sends:
	<message to="${Juliet's full JID}" type="chat" id="m1">
		<body>Hello</body>
		<x xmlns="urn:example:t"><a n="1"/><b/></x>
	</message>
`

// runScript plays src against a fresh fake host.
func runScript(t *testing.T, src string) error {
	t.Helper()
	h, err := fakehost.Start(fakehost.Options{Secret: "s", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s, err := Parse("script.scs", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return Run(ctx, s, Options{C2SAddr: h.C2SAddr(), Timeout: 300 * time.Millisecond, Logf: t.Logf})
}

func TestRunPasses(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"message exchange", exchange + `
Juliet receives:
	<message from="${Romeo's full JID}" to="juliet@localhost/balcony" id="m1" type="chat">
		<x xmlns="urn:example:t"><a n="{scansion:any}"/><b/></x>
		<body>Hello</body>
	</message>

Juliet sends:
	<message to="${Romeo's JID}" id="r1"><body>Hi</body></message>

	<message to="${Romeo's full JID}" id="r2"/>
Romeo receives:
	<message from="juliet@localhost/balcony" to="romeo@localhost" id="r1"/>
	<message id="r2"/>
Romeo receives: nothing
Juliet receives: nothing
`},
		{"unexpected stanzas are discarded", exchange + `
Romeo sends:
	<message to="${Juliet's full JID}" id="m2"/>
Juliet receives:
	<message id="m2"/>
Juliet receives: nothing
`},
		{"directed presence ends on disconnect", `
Romeo sends:
	<presence to="${Juliet's full JID}"/>
Juliet receives:
	<presence from="${Romeo's full JID}"/>
Romeo disconnects
Juliet receives:
	<presence type="unavailable" from="${Romeo's full JID}"/>
Romeo connects
Romeo sends:
	<message to="${Juliet's full JID}" id="back"/>
Juliet receives:
	<message id="back"/>
`},
		{"error from the server", `
Romeo sends:
	<iq to="nobody@localhost/x" type="get" id="q1"><query xmlns="jabber:iq:version"/></iq>
Romeo receives:
	<iq type="error" id="q1" from="nobody@localhost/x">
		<error type="cancel">
			<service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>
		</error>
	</iq>
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := runScript(t, clients+tc.script); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRunFails(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		line         int      // of the failing action within script, from 1
		want         []string // fragments of the error
	}{
		{"wrong attribute", exchange + `
Juliet receives:
	<message id="m9"/>
`, 8, []string{"Juliet receives", "no matching stanza", `closest miss: <message`, `attribute id: expected "m9", got "m1"`, "discarded 1 stanza"}},
		{"missing child", exchange + `
Juliet receives:
	<message id="m1"><subject/></message>
`, 8, []string{"missing child <subject/>"}},
		{"wrong order in strict element", exchange + `
Juliet receives:
	<message id="m1"><x xmlns="urn:example:t"><b/><a n="1"/></x></message>
`, 8, []string{"/message/x/b: expected <b/>, got <a n='1'/>"}},
		{"extra child in strict element", exchange + `
Juliet receives:
	<message id="m1"><x xmlns="urn:example:t"><a n="1"/></x></message>
`, 8, []string{"unexpected child <b/>"}},
		{"wrong text", exchange + `
Juliet receives:
	<message id="m1"><body>Goodbye</body></message>
`, 8, []string{`text: expected "Goodbye", got "Hello"`}},
		{"something arrives when nothing should", exchange + `
Juliet receives: nothing
`, 8, []string{"Juliet receives: nothing", "expected nothing, received <message"}},
		{"expected stanzas keep their order", exchange + `
Romeo sends:
	<message to="${Juliet's full JID}" id="m2"/>
Juliet receives:
	<message id="m2"/>
	<message id="m1"/>
`, 10, []string{"expected stanza 2 of 2", "nothing else arrived"}},
		{"nothing arrives at all", `
Juliet receives:
	<message/>
`, 2, []string{"no matching stanza within 300ms", "nothing else arrived"}},
		{"action by a disconnected client", `
Romeo disconnects
Romeo sends:
	<message to="x@localhost"/>
`, 3, []string{"Romeo sends", "not connected"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := runScript(t, clients+tc.script)
			if err == nil {
				t.Fatal("script passed, it must fail")
			}
			t.Log(err)
			prefix := "script.scs:" + strconv.Itoa(clientLines+tc.line) + ": "
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error does not start with %q", prefix)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q", w)
				}
			}
		})
	}
}

func TestRunVariableBeforeConnect(t *testing.T) {
	src := `[Client] Romeo
	jid: romeo@localhost
[Client] Juliet
	jid: juliet@localhost
-----
Romeo connects
Romeo sends:
	<message to="${Juliet's full JID}"/>
`
	err := runScript(t, src)
	if err == nil || !strings.Contains(err.Error(), "Juliet has not connected yet") {
		t.Fatalf("got %v", err)
	}
	// The bare JID is known from the script before the client connects.
	src = `[Client] Romeo
	jid: romeo@localhost
[Client] Juliet
	jid: juliet@localhost
-----
Romeo connects
Romeo sends:
	<message to="${Juliet's JID}" id="early"/>
Romeo receives:
	<message type="error" id="early" from="juliet@localhost"/>
`
	if err := runScript(t, src); err != nil {
		t.Fatal(err)
	}
}

func TestRunConnectFailure(t *testing.T) {
	s, err := Parse("x.scs", strings.NewReader("[Client] R\n\tjid: r@localhost\n-----\nR connects\n"))
	if err != nil {
		t.Fatal(err)
	}
	// A port nobody listens on: the listener is closed before use.
	h, err := fakehost.Start(fakehost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr := h.C2SAddr()
	h.Close()
	err = Run(context.Background(), s, Options{C2SAddr: addr, Timeout: time.Second})
	if err == nil || !strings.HasPrefix(err.Error(), "x.scs:4: R connects") {
		t.Fatalf("got %v", err)
	}
}

func TestTidy(t *testing.T) {
	st, err := parseStanzas("<message to='a@b' scansion:strict='true'>\n\t<body> hi </body>\n\t<x xmlns='urn:x'>\n\t</x>\n</message>")
	if err != nil {
		t.Fatal(err)
	}
	tidy(st[0])
	if got, want := st[0].String(), "<message to='a@b'><body> hi </body><x xmlns='urn:x'/></message>"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
