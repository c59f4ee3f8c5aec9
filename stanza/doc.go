// Package stanza is the stanza vocabulary every other package uses: a
// small XML element tree for stanzas, its decoding under limits and its
// encoding, the namespaces more than one package uses (ns.go), and stanza
// errors (error.go) with the one builder of error replies and the one
// reader of a received error.
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
//
// A stanza error is an Error: a typed ErrorType and Condition (RFC 6120
// §8.3.2, §8.3.3), an optional text, the entity that raised it and, for
// gone and redirect, the new address. Error.Reply turns it into the answer
// to a stanza, with the addresses swapped (RFC 6120 §8.3.1); ErrorOf reads
// one back out of an error stanza. Whether a stanza may be answered at all
// is the caller's rule.
package stanza
