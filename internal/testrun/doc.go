// Command testrun is the project's test command:
//
//	go run ./internal/testrun [go test flags] [packages]
//
// It runs go test -json -race -p 1 -timeout 30m with the arguments given
// (./... when none names a package, that is, none starts with "."; their
// own -timeout wins), and prints what a
// plain go test prints: a line per package (ok, FAIL, no test files), the
// output of each failing test, build errors. It then ends with a summary
// that plain go test only shows with -v: every skipped test with the reason
// it gave, then every failed test, then, as the very last line,
//
//	N passed, N failed, N skipped
//
// A test still running when its package's binary fails (a timeout's or a
// crash's panic, which go test -json files under that test and never
// follows with a fail event) counts as failed and is named "(did not
// finish)", with its output up to the goroutine dump; so does a package
// that fails outside any test. It exits non-zero when go test does or any
// test failed.
//
// A skip is the tests' way of saying that something they need is missing
// (Prosody, ejabberd, Prosody's scripts, PostgreSQL); under CI=true those
// tests fail instead, so on a fully equipped CI machine the skip list
// holds only deliberate skips. This is a test harness: nothing in the
// product imports it.
package main
