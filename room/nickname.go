package room

import (
	"strings"
	"unicode"

	"github.com/xdg-go/stringprep"
	"golang.org/x/text/secure/precis"
)

// Nicknames: which are valid, and when two are the same.
//
// Validity follows Prosody's MUC (muc.lib.lua, muc-occupant-pre-join and
// muc-occupant-pre-change): the nick must pass Resourceprep in strict mode,
// resourceprep(nick, true), then it must show something. Prosody only asks
// whether preparation succeeds and keeps the nick as its router delivered
// it (already prepared non-strictly, so the two differ only in refusing
// unassigned code points); Chorus does the same and keeps the nick as it
// came, for display.
//
// Sameness is wider than equality of the prepared strings: two nicks are
// the same when their RFC 8266 Nickname comparison keys are (§2.2: lower
// case, NFKC, which also maps fullwidth forms, spaces trimmed and
// collapsed; §2.4 compares those), so
// "ROMEO", "romeo", "Romeo " and "Ｒｏｍｅｏ" are all Romeo. Occupants are
// indexed by that key, so only one of them can be in a room, reserved
// nicks compare the same way, and a private message or IQ to room/ROMEO
// reaches the one occupant who is Romeo: with keys unique in the room,
// there is nobody else it could mean. (Prosody looks occupants up by the
// exact prepared occupant JID, where room/ROMEO is nobody.)

var nicknameFeature = feature{name: "nickname", preJoin: checkNick, preNickChange: checkNick}

// checkNick refuses a nick Prosody refuses at priorities 2 (strict
// Resourceprep) and 1 (nothing visible), in that order.
func checkNick(r *Room, j *joinAttempt) *stanzaError {
	return nickError(j.nick)
}

// Texts of nick refusals: each says the nickname is the problem.
const (
	textNickInvalid   = "The nickname is not valid: it contains characters not allowed in nicknames"
	textNickInvisible = "The nickname is not valid: it has no visible character"
	textNickEmpty     = "The nickname is empty"
)

// nickError reports why nick may not be an occupant's nick, or nil.
// Prosody answers modify/jid-malformed for a nick that fails strict
// Resourceprep; for one without a visible character it answers
// modify/not-allowed ("Invisible Nicknames are forbidden") and sees only
// ASCII white space, so a nick of combining marks passes there. Chorus
// refuses every invisible nick, and with jid-malformed: the nick is an
// address that cannot name anyone.
func nickError(nick string) *stanzaError {
	if nick == "" {
		return errJIDMalformed.withText(textNickEmpty)
	}
	if asciiNick(nick) {
		// Printable ASCII is unchanged by Resourceprep and has no
		// bidirectional text: visible if anything but spaces.
		if strings.Trim(nick, " ") == "" {
			return errJIDMalformed.withText(textNickInvisible)
		}
		return nil
	}
	if _, err := strictResourceprep(nick); err != nil {
		return errJIDMalformed.withText(textNickInvalid)
	}
	if !visible(nick) {
		return errJIDMalformed.withText(textNickInvisible)
	}
	return nil
}

// asciiNick reports whether nick is non-empty printable ASCII and spaces.
func asciiNick(nick string) bool {
	if nick == "" {
		return false
	}
	for i := 0; i < len(nick); i++ {
		if c := nick[i]; c < ' ' || c > '~' {
			return false
		}
	}
	return true
}

// resourceprepStrict is the Resourceprep profile of stringprep (RFC 3920
// Appendix B, unchanged in RFC 6122 Appendix B): map B.1 to nothing, NFKC,
// prohibit C.1.2, C.2.1–C.9 (ASCII space is allowed), check bidi (RFC 3454
// §6). A.1 among the prohibited sets is strict mode: unassigned code
// points refused (RFC 3454 §7 for stored strings; ICU's prepare without
// USPREP_ALLOW_UNASSIGNED, which Prosody's resourceprep(s, true) calls).
var resourceprepStrict = stringprep.Profile{
	Mappings:  []stringprep.Mapping{stringprep.TableB1},
	Normalize: true,
	Prohibits: []stringprep.Set{
		stringprep.TableA1,
		stringprep.TableC1_2,
		stringprep.TableC2_1, stringprep.TableC2_2,
		stringprep.TableC3, stringprep.TableC4, stringprep.TableC5, stringprep.TableC6,
		stringprep.TableC7, stringprep.TableC8, stringprep.TableC9,
	},
	CheckBiDi: true,
}

// maxPrepBytes: Prosody's prep refuses input or output of 1024 bytes or
// more (util-src/encodings.c), RFC 7622 §3.4's 1023-byte limit.
const maxPrepBytes = 1023

type prepError string

func (e prepError) Error() string { return string(e) }

// strictResourceprep prepares s as Prosody's resourceprep(s, true) does.
func strictResourceprep(s string) (string, error) {
	if s == "" || len(s) > maxPrepBytes {
		return "", prepError("room: nickname empty or too long")
	}
	p, err := resourceprepStrict.Prepare(s)
	if err != nil {
		return "", err
	}
	if p == "" || len(p) > maxPrepBytes {
		return "", prepError("room: nickname empty or too long")
	}
	return p, nil
}

// visible reports whether s has a character that shows on its own: not
// white space, not a combining mark (it needs a base to show on), not a
// format or other default-ignorable character (zero-width ones, Hangul
// fillers), nor the blank braille pattern.
func visible(s string) bool {
	for _, c := range s {
		if !invisible(c) && unicode.IsGraphic(c) && !unicode.In(c, unicode.Mn, unicode.Me, unicode.Mc) {
			return true
		}
	}
	return false
}

// invisible reports whether c shows as nothing: white space, format
// characters and default-ignorable code points (Unicode §5.21).
func invisible(c rune) bool {
	return unicode.IsSpace(c) || unicode.In(c, unicode.Zs, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		c == '\u2800' // BRAILLE PATTERN BLANK
}

// nickKey is the comparison key of a nick: nicks with equal keys are the
// same nick (RFC 8266 §2.4, the Nickname profile's comparison). Characters
// that show as nothing are left out first, since PRECIS refuses them
// rather than ignoring them and Resourceprep lets some through (U+3164
// HANGUL FILLER); a nick PRECIS still refuses (old Hangul jamo) is compared
// after the same folding done by hand.
func nickKey(nick string) string {
	if asciiNick(nick) {
		return asciiNickKey(nick)
	}
	s := strings.Map(func(c rune) rune {
		if !unicode.IsSpace(c) && invisible(c) {
			return -1
		}
		return c
	}, nick)
	if k, err := precis.Nickname.CompareKey(s); err == nil {
		return k
	}
	return strings.Join(strings.Fields(strings.ToLower(resourceprepNFKC(s))), " ")
}

// resourceprepNFKC is s prepared when it can be, else s.
func resourceprepNFKC(s string) string {
	if p, err := resourceprepStrict.Prepare(s); err == nil {
		return p
	}
	return s
}

// asciiNickKey is the Nickname comparison key of printable ASCII: lower
// case, spaces trimmed and runs of them made one (RFC 8266 §2.2 rules 2–4;
// NFKC changes no ASCII). It allocates only when the nick changes.
func asciiNickKey(nick string) string {
	s := strings.ToLower(strings.Trim(nick, " "))
	if !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// refuseUnusableNick answers a stanza to room/nick where nick is one no
// occupant may have, saying that the nickname is the problem, and reports
// whether it did. Stanzas that get no answer pass, as does an occupant's
// own traffic under a nick it had before these rules, so it can leave.
func (r *Room) refuseUnusableNick(req *request) bool {
	e := nickError(req.nick)
	switch {
	case e == nil, req.typ == "error", req.typ == "result", req.st.Local == "presence" && req.typ == "unavailable":
		return false
	}
	if o := r.occupantBySession(req.from); o != nil && o.Nick == req.nick {
		return false
	}
	r.replyError(req, e)
	return true
}

// occupantByNick returns the occupant whose nick is the same as nick.
func (r *Room) occupantByNick(nick string) *Occupant {
	return r.byNick[nickKey(nick)]
}

// replyAddress is where replies to a stanza sent to to come from: the
// address itself, unless its resourcepart cannot be a nick; then the bare
// room JID, so that no answer comes from an address nobody can hold
// (RFC 6120 §8.3.1 rule 2: addresses are swapped unless that puts a
// malformed JID in 'from').
func replyAddress(to Address) string {
	if to.Resource() != "" && nickError(to.Resource()) != nil {
		return to.Bare()
	}
	return to.String()
}
