// Package room is the Multi-User Chat state machine of XEP-0045: a Registry
// of rooms by bare JID, each room a mutex-guarded value that takes one
// stanza and returns the stanzas to send ([]Out). It does no I/O, so every
// rule can be tested by feeding stanzas in and reading stanzas out.
//
// Each feature of a room lives in a file of its own (password.go,
// membersonly.go, lock.go, ...) and the order in which features take part
// in a join or a configuration change is fixed in one table, features.go.
package room
