// Package integration runs conversation scripts (scansion format) against
// Chorus attached to a host server: the project's own scenarios in
// testdata/ against the in-process fake host, and those plus Prosody's MUC
// scripts against a disposable Prosody and a disposable ejabberd.
//
// Everything here is test code (_test.go files), this comment aside: the
// package starts Chorus from above, through component, room and store, and
// nothing imports it.
package integration
