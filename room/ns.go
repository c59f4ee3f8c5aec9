package room

// Namespaces used by rooms.
const (
	NSMUC         = "http://jabber.org/protocol/muc"
	NSMUCUser     = "http://jabber.org/protocol/muc#user"
	NSMUCAdmin    = "http://jabber.org/protocol/muc#admin"
	NSMUCOwner    = "http://jabber.org/protocol/muc#owner"
	NSStanzas     = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSDelay       = "urn:xmpp:delay"
	NSRegister    = "jabber:iq:register"
	NSDiscoInfo   = "http://jabber.org/protocol/disco#info"
	NSDiscoItems  = "http://jabber.org/protocol/disco#items"
	NSVCardUpdate = "vcard-temp:x:update"
	NSPing        = "urn:xmpp:ping"
	NSClient      = "jabber:client"
)
