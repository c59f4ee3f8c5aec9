// Package servertest holds what the disposable-server test harnesses
// (internal/prosody, internal/ejabberd) share on the test side: tying a
// server's lifetime to a test's. Starting, waiting for and stopping the
// process is package serverproc's, which the binary's sandbox uses too
// and which therefore holds no test code.
package servertest

import (
	"testing"

	"chorus/internal/serverproc"
)

// StopAtCleanup stops a server started for tb when tb's test ends, printing
// the end of its log first if the test failed.
func StopAtCleanup(tb testing.TB, name, logPath string, stop func() error) {
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("%s log (%s), last lines:\n%s", name, logPath, serverproc.Tail(logPath, 40))
		}
		if err := stop(); err != nil {
			tb.Errorf("%s: stop: %v", name, err)
		}
	})
}
