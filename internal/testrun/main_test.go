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
