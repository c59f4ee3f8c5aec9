// Package prosody carries the Prosody modules shipped with Chorus, so that
// the binary's sandbox can install them into the Prosody it starts; an
// administrator copies the .lua files beside this one instead.
package prosody

import _ "embed"

// MulticastModule is mod_chorus_multicast.lua: a XEP-0033 multicast
// service for the Chorus component alone.
//
//go:embed mod_chorus_multicast.lua
var MulticastModule []byte
