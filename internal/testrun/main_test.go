package main

import (
	"strings"
	"testing"
)

// A go test -json stream as go 1.26 writes it for one package with a
// passing, a skipped and a failing test.
const stream = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"p","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"p","Test":"TestOK"}
{"Action":"run","Package":"p","Test":"TestSkip"}
{"Action":"output","Package":"p","Test":"TestSkip","Output":"=== RUN   TestSkip\n"}
{"Action":"output","Package":"p","Test":"TestSkip","Output":"    x_test.go:3: an earlier log line\n"}
{"Action":"output","Package":"p","Test":"TestSkip","Output":"    x_test.go:9: server unreachable:\n"}
{"Action":"output","Package":"p","Test":"TestSkip","Output":"        \tdial tcp: refused\n"}
{"Action":"output","Package":"p","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}
{"Action":"skip","Package":"p","Test":"TestSkip"}
{"Action":"run","Package":"p","Test":"TestBad"}
{"Action":"output","Package":"p","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"p","Test":"TestBad","Output":"    x_test.go:20: got 1, want 2\n"}
{"Action":"output","Package":"p","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"p","Test":"TestBad"}
{"Action":"output","Package":"p","Output":"FAIL\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t0.01s\n"}
{"Action":"fail","Package":"p"}
`

func TestReport(t *testing.T) {
	var b strings.Builder
	r := newReport(&b)
	if err := r.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	r.summary()
	want := `    x_test.go:20: got 1, want 2
--- FAIL: TestBad (0.00s)
FAIL
FAIL	p	0.01s

1 skipped:
  p TestSkip: x_test.go:9: server unreachable: dial tcp: refused
1 failed:
  p TestBad
1 passed, 1 failed, 1 skipped
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestNamesPackage(t *testing.T) {
	for i, tc := range [...]struct {
		args []string
		want bool
	}{
		0: {nil, false},
		1: {[]string{"-run", "TestX"}, false},
		2: {[]string{"-short", "./store"}, true},
		3: {[]string{"./..."}, true},
	} {
		if got := namesPackage(tc.args); got != tc.want {
			t.Errorf("%d: namesPackage(%q) = %v", i, tc.args, got)
		}
	}
}

// TestReportUnfinished: a binary that times out writes its panic as the
// running tests' output and sends no fail event for them; they count as
// failed, with their output up to the goroutine dump. A package failing
// outside any test counts once.
func TestReportUnfinished(t *testing.T) {
	const timeout = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestOK"}
{"Action":"pass","Package":"p","Test":"TestOK"}
{"Action":"run","Package":"p","Test":"TestSlow"}
{"Action":"output","Package":"p","Test":"TestSlow","Output":"=== RUN   TestSlow\n"}
{"Action":"run","Package":"p","Test":"TestSlow/sub"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"=== RUN   TestSlow/sub\n"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"    x_test.go:4: waiting\n"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"panic: test timed out after 1s\n"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"\trunning tests:\n"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"\t\tTestSlow/sub (1s)\n"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"\n"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"goroutine 5 [running]:\n"}
{"Action":"output","Package":"p","Test":"TestSlow/sub","Output":"testing.(*M).startAlarm.func1()\n"}
{"Action":"output","Package":"p","Output":"FAIL\tp\t1.012s\n"}
{"Action":"fail","Package":"p"}
{"Action":"start","Package":"q"}
{"Action":"output","Package":"q","Output":"TestMain: no database\n"}
{"Action":"output","Package":"q","Output":"FAIL\tq\t0.01s\n"}
{"Action":"fail","Package":"q"}
`
	var b strings.Builder
	r := newReport(&b)
	if err := r.read(strings.NewReader(timeout)); err != nil {
		t.Fatal(err)
	}
	r.summary()
	want := `FAIL	p	1.012s
    x_test.go:4: waiting
panic: test timed out after 1s
	running tests:
		TestSlow/sub (1s)

	(goroutine dump of 2 lines left out)
TestMain: no database
FAIL	q	0.01s

0 skipped:
3 failed:
  p TestSlow (did not finish)
  p TestSlow/sub (did not finish)
  q (the package, outside its tests)
1 passed, 3 failed, 0 skipped
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestHasFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-timeout", "5m"}, true},
		{[]string{"-timeout=5m", "./room"}, true},
		{[]string{"--timeout", "1h"}, true},
		{[]string{"-run", "timeout"}, false}, // a value, not the flag
		{[]string{"-run", "TestX"}, false},
	} {
		if got := hasFlag(tc.args, "timeout"); got != tc.want {
			t.Errorf("hasFlag(%q) = %v, want %v", tc.args, got, tc.want)
		}
	}
}
