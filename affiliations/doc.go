// Package affiliations holds XEP-0045's affiliations and roles, their ranks,
// and the pure "who may change what" tables of §5.1.2 and §5.2.1, so the
// rules can be tested against the specification without a room.
package affiliations
