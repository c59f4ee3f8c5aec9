// Package room is the Multi-User Chat state machine of XEP-0045: a Registry
// of rooms by bare JID, each room a mutex-guarded value that takes one
// stanza and returns the stanzas to send ([]Out). It does no I/O, so every
// rule can be tested by feeding stanzas in and reading stanzas out.
//
// Each feature of a room lives in a file of its own (password.go,
// membersonly.go, lock.go, whois.go, ...) as a set of hooks on the room's
// events, after Prosody's MUC events: creating the room, entering it,
// changing nick, the configuration form, a submitted and an applied
// configuration, invitations, disco#info and the payloads of presences
// and messages. One table, features.go, fixes the order in which features
// act on each event, and so the order of refusals; join.go, config.go and
// invite.go keep only the generic flow.
package room
