// Package stanza is a small XML element tree for stanzas.
//
// Rooms inspect and build stanzas as values: one stanza in, stanzas out.
// An element tree is simpler to reason about than token streams for that,
// and it serialises in one pass, so a broadcast can be encoded once and only
// its addressing varied per recipient.
//
// The stanza namespaces jabber:client, jabber:server and
// jabber:component:accept are folded into NSClient on decoding so that rules
// need not care which stream a stanza arrived on; the encoder omits the
// namespace of a top-level stanza in NSClient so the stanza inherits the
// default namespace of whatever stream it is written to.
package stanza
