package stanza

// Namespaces treated as "the stanza namespace".
const (
	NSClient    = "jabber:client"
	NSServer    = "jabber:server"
	NSComponent = "jabber:component:accept"
	// NSXML is the namespace bound to the xml: prefix (xml:lang).
	NSXML = "http://www.w3.org/XML/1998/namespace"
)

// Namespaces used by more than one package; a namespace only one package
// uses is declared there.
const (
	// NSStanzas holds the defined conditions of stanza errors (RFC 6120
	// §8.3.3).
	NSStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

	NSMUC        = "http://jabber.org/protocol/muc"       // XEP-0045
	NSMUCUser    = "http://jabber.org/protocol/muc#user"  // XEP-0045
	NSMUCOwner   = "http://jabber.org/protocol/muc#owner" // XEP-0045
	NSDiscoInfo  = "http://jabber.org/protocol/disco#info"
	NSDiscoItems = "http://jabber.org/protocol/disco#items"
	NSRSM        = "http://jabber.org/protocol/rsm" // XEP-0059
)

// Namespaces of the stream layer (RFC 6120 §4, §6, §7; XEP-0114).
const (
	NSStream       = "http://etherx.jabber.org/streams"
	NSStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams"
	NSSASL         = "urn:ietf:params:xml:ns:xmpp-sasl"
	NSBind         = "urn:ietf:params:xml:ns:xmpp-bind"
	NSSession      = "urn:ietf:params:xml:ns:xmpp-session"
)
