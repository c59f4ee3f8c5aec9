// Package integration runs conversation scripts (scansion format) against
// Chorus attached to a host server: the project's own scenarios in
// testdata/ against the in-process fake host, and those plus Prosody's MUC
// scripts against a disposable Prosody and a disposable ejabberd; and
// tests in Go of what scripts cannot express, such as the server-side
// fan-out through XEP-0033 (multicast_test.go).
//
// Everything here is test code (_test.go files), this comment aside: the
// package starts Chorus from above, through component, room and store, and
// nothing imports it.
package integration
