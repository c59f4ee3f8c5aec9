package room

import "chorus/stanza"

// Namespaces used by rooms. Those other packages use too are declared in
// package stanza; the names here are the rooms' short forms of them.
const (
	NSMUC         = stanza.NSMUC
	NSMUCUser     = stanza.NSMUCUser
	NSMUCAdmin    = "http://jabber.org/protocol/muc#admin"
	NSMUCOwner    = stanza.NSMUCOwner
	NSStanzas     = stanza.NSStanzas
	NSDelay       = "urn:xmpp:delay"
	NSRegister    = "jabber:iq:register"
	NSDiscoInfo   = stanza.NSDiscoInfo
	NSDiscoItems  = stanza.NSDiscoItems
	NSVCardUpdate = "vcard-temp:x:update"
	NSPing        = "urn:xmpp:ping"
	NSClient      = stanza.NSClient
)
