// Package bench is the library behind chorus-bench, a load generator for
// Multi-User Chat services reached through an XMPP server: Chorus, the
// server's own MUC, or the null component of this package, which is the
// ceiling any external component can reach on a given server.
//
// The load tool must not be what limits a measurement, so after login
// received traffic is never decoded with encoding/xml: a small byte scanner
// (Scanner) splits the stream into top-level elements, and a few helpers
// (Name, Attr, Child, Text) pick out the parts a scenario needs without
// allocating. Every client has one goroutine reading its connection; a
// sender's next message is written from that goroutine when its own echo
// arrives, so the flow control needs no channels.
//
// Scenarios (Fanout, Join, Memory) return result structs whose JSON form is
// the one line per result that chorus-bench prints. CPU and memory of the
// servers under test are read from /proc for a process and all its
// descendants.
package bench
