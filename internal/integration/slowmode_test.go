package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"chorus/forms"
	"chorus/internal/prosody"
	"chorus/stanza"
)

// TestSlowMode: through Prosody, an owner sets the room's slow mode
// (XEP-0500) in the configuration form; an occupant's second message
// within it is refused with a wait error and reaches nobody, a moderator
// is not limited, and the room tells its slow mode in disco#info. The
// duration is long enough that the second message always falls within it.
func TestSlowMode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration with Prosody skipped in -short mode")
	}
	require(t, prosody.Available())
	srv, err := prosody.Start(t, prosody.Options{Host: Host, Component: Service, LogLevel: "warn"})
	if err != nil {
		t.Fatal(err)
	}
	StartChorus(t, srv.ComponentAddr(), srv.Secret())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const quiet = "quiet@" + Service
	owner := dialDrill(ctx, t, srv.C2SAddr(), "olga", quiet, "Olga")
	mod := dialDrill(ctx, t, srv.C2SAddr(), "mike", quiet, "Mike")
	user := dialDrill(ctx, t, srv.C2SAddr(), "paul", quiet, "Paul")
	owner.join(ctx, map[string]string{"muc#roomconfig_slow_mode_duration": "60"})
	mod.join(ctx, nil)
	user.join(ctx, nil)
	owner.request(ctx, "grant moderator", `<iq type='set' id='mod' to='`+quiet+`'><query xmlns='http://jabber.org/protocol/muc#admin'>`+
		`<item nick='Mike' role='moderator'/></query></iq>`)

	// The configuration form and disco#info show the duration.
	cfg := owner.request(ctx, "configuration form", `<iq type='get' id='cfg-get' to='`+quiet+`'><query xmlns='`+stanza.NSMUCOwner+`'/></iq>`)
	if f, err := forms.Parse(cfg.Child(stanza.NSMUCOwner, "query").Child(forms.NS, "x")); err != nil ||
		f.Field("muc#roomconfig_slow_mode_duration").Value() != "60" {
		t.Errorf("the configuration form does not hold the slow mode: %s", cfg)
	}
	info := user.request(ctx, "disco#info", `<iq type='get' id='info' to='`+quiet+`'><query xmlns='`+stanza.NSDiscoInfo+`'/></iq>`)
	advertised := ""
	for _, x := range info.Child(stanza.NSDiscoInfo, "query").ChildrenNamed(forms.NS, "x") {
		if f, err := forms.Parse(x); err == nil && f.FormType() == "http://jabber.org/protocol/muc#roominfo" {
			advertised = f.Field("muc#roominfo_slow_mode_duration").Value()
		}
	}
	if advertised != "60" {
		t.Errorf("disco#info advertises the slow mode as %q, want 60: %s", advertised, info)
	}

	// A participant: the first message passes, the second is refused.
	user.say(ctx, "first")
	from := user.mark()
	user.send(`<message type='groupchat' id='second' to='` + quiet + `'><body>second</body></message>`)
	e := user.waitFrom(ctx, from, "answer to the second message", func(e *stanza.Element) bool {
		return e.Local == "message" && e.Attr("id") == "second"
	})
	se := stanza.ErrorOf(e)
	if e.Attr("type") != "error" || se.Type != stanza.Wait || se.Condition != stanza.PolicyViolation || !strings.Contains(se.Text, "slow mode") {
		t.Errorf("the second message within the slow mode is answered %s, want a wait error with policy-violation", e)
	}

	// Moderators are not limited: two messages in a row reach everyone.
	for _, c := range []*drillClient{owner, mod} {
		from := user.mark()
		c.say(ctx, "one from "+c.nick)
		c.say(ctx, "two from "+c.nick)
		user.waitFrom(ctx, from, "the second message of "+c.nick, said(quiet, "two from "+c.nick))
	}
	// The refused message reached nobody: the moderators' messages came
	// after it, in order, and it is not before them.
	for _, c := range []*drillClient{owner, mod} {
		c.mu.Lock()
		for _, e := range c.got {
			if e.Local == "message" && e.ChildText(stanza.NSClient, "body") == "second" {
				t.Errorf("%s received the refused message: %s", c.nick, e)
			}
		}
		c.mu.Unlock()
	}
}
