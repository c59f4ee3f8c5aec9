// Package fakehost is an in-process stand-in for the XMPP server that Chorus
// attaches to as an external component (XEP-0114), so that scenarios run in
// milliseconds and without installing Prosody.
//
// It listens on loopback for clients (plain SASL PLAIN accepting any
// credentials, resource binding, no TLS) and for one component, and routes
// stanzas between them the way a real server would in the cases MUC cares
// about: addressing by full and bare JID, error bounces for unreachable
// recipients, and directed-presence tracking so that a client that goes away
// makes the server tell the rooms it was in.
//
// It is deliberately stricter than a real server towards the component: a
// stanza from the component without a valid 'from' at the component domain,
// or without a 'to', ends the component stream. That turns addressing bugs
// into loud test failures instead of stanzas quietly lost.
package fakehost
