// Package scansion runs XMPP test scripts written in the scansion format
// used by Prosody's own test suite, against a server's client port.
//
// A script declares clients and then lists what each one does: connect,
// send stanzas, expect stanzas (or silence), disconnect. Parse reads a
// script, Run plays it, and Match is the stanza comparison Run uses, which
// is loose about what the server adds in the stanza namespace and strict
// inside protocol extensions. See Match for the exact rules.
//
// Expected stanzas may use the scansion: prefix without declaring it:
// scansion:strict='true'|'false' on an element sets how it is compared, and
// an attribute value {scansion:any} accepts any value. ${Name's full JID}
// and ${Name's JID} stand for a client's bound full JID and its bare JID.
package scansion
