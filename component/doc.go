// Package component connects Chorus to an XMPP server as an external
// component (XEP-0114) and moves stanzas between that link and a Handler.
//
// Run dials the server, performs the handshake, and then keeps one reader
// and one writer per connection: the reader decodes one top-level stanza
// at a time and puts it in its room's mailbox (by bare address; a bounded
// queue per room, drained by a goroutine started while it is not empty, so
// rooms run in parallel, one room waiting for its store holds up no other,
// and each room's stanzas keep their order; when a mailbox is full the
// reader waits for a busy room, pushing back on the server, but refuses a
// stuck room's new stanzas with wait/resource-constraint rather than stall
// every room); the mailbox's goroutine calls the Handler; the writer encodes
// each stanza the Handler returns once, copies it per recipient with only
// the address changed, and flushes once per batch of whatever is queued.
// Timed work joins its room's mailbox; Shutdown runs once every mailbox is
// empty. When the link fails Run reconnects with exponential backoff; the
// Handler and the rooms it holds outlive any single connection.
//
// With Config.Multicast each link looks for the server's XEP-0033
// multicast service, and the writer then sends a message or presence for
// several recipients once, to the service, with bcc addresses (or one bcc
// list, to a service that takes it) in batches within its limits; a
// refusal from the service is taken by the reader and the stanza sent
// again per recipient (multicast.go).
//
// Router is the Handler the service runs: it answers stanzas addressed to
// the service itself and passes those for rooms and occupants to the room
// registry.
//
// The server trusts the component to address stanzas correctly and closes the
// whole stream when it does not (Prosody answers a foreign "from" with the
// invalid-from stream error), so the writer drops any stanza whose "from" is
// not in the component's domain instead of sending it.
package component
