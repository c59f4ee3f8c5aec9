package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
)

func main() {
	args := []string{"test", "-json", "-race", "-p", "1"}
	if !hasFlag(os.Args[1:], "timeout") {
		// go test's own 10 minutes is a deadline for one package's whole
		// binary; the integration tests come near it on a busy two-core
		// machine. The bound is there to end a hang, not to judge speed.
		args = append(args, "-timeout", "30m")
	}
	args = append(args, os.Args[1:]...)
	if !namesPackage(os.Args[1:]) {
		args = append(args, "./...")
	}
	cmd := exec.Command("go", args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(2)
	}
	r := newReport(os.Stdout)
	readErr := r.read(out)
	waitErr := cmd.Wait()
	r.summary()
	switch {
	case readErr != nil:
		fmt.Fprintln(os.Stderr, "testrun:", readErr)
		os.Exit(2)
	case waitErr != nil:
		var exit *exec.ExitError
		if errors.As(waitErr, &exit) {
			os.Exit(max(exit.ExitCode(), 1))
		}
		fmt.Fprintln(os.Stderr, "testrun:", waitErr)
		os.Exit(2)
	case r.failed > 0:
		os.Exit(1)
	}
}

// namesPackage reports whether args include a package pattern.
func namesPackage(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, ".") {
			return true
		}
	}
	return false
}

// hasFlag reports whether args set the go test flag name.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			continue // a value or a package
		}
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// event is one line of go test -json (see go doc cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type skip struct{ name, reason string }

// report turns go test -json's events back into go test's usual output and
// collects what the summary lists.
type report struct {
	w                      io.Writer
	buf                    map[string][]string // a running test's output lines
	skips                  []skip
	fails                  []string
	failedIn               map[string]int // failed tests per package
	passed, failed, nskips int
}

func newReport(w io.Writer) *report {
	return &report{w: w, buf: map[string][]string{}, failedIn: map[string]int{}}
}

// read consumes the event stream. A line that is not an event (go vet's or
// the build's messages) is printed as it is.
func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(r.w, sc.Text())
			continue
		}
		r.handle(e)
	}
	return sc.Err()
}

func (r *report) handle(e event) {
	key := e.Package + " " + e.Test
	switch {
	case e.Action == "build-output":
		fmt.Fprint(r.w, e.Output)
	case e.Test == "":
		// The package's own lines: ok, FAIL, no test files, a panic
		// outside any test. -json implies -v, whose PASS lines go.
		if e.Action == "output" && e.Output != "PASS\n" && !strings.HasPrefix(e.Output, "=== ") {
			fmt.Fprint(r.w, e.Output)
		}
		if e.Action == "fail" {
			r.unfinished(e.Package)
		}
	case e.Action == "output":
		r.buf[key] = append(r.buf[key], e.Output)
	case e.Action == "pass":
		r.passed++
		delete(r.buf, key)
	case e.Action == "skip":
		r.nskips++
		r.skips = append(r.skips, skip{e.Package + " " + e.Test, skipReason(r.buf[key])})
		delete(r.buf, key)
	case e.Action == "fail":
		r.failed++
		r.failedIn[e.Package]++
		r.fails = append(r.fails, e.Package+" "+e.Test)
		for _, l := range r.buf[key] {
			if !isFrame(l) {
				fmt.Fprint(r.w, l)
			}
		}
		delete(r.buf, key)
	}
}

// unfinished reports the tests of pkg that never ended, its binary having
// failed: a timeout's or a crash's panic is written as the running test's
// output, and that test gets no fail event of its own. Each counts as
// failed, with its output up to the goroutine dump.
func (r *report) unfinished(pkg string) {
	var keys []string
	for k := range r.buf {
		if strings.HasPrefix(k, pkg+" ") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if len(keys) == 0 && r.failedIn[pkg] == 0 {
		// Failed outside any test (TestMain, a crash between tests):
		// what it wrote is printed already.
		r.failed++
		r.fails = append(r.fails, pkg+" (the package, outside its tests)")
	}
	for _, k := range keys {
		r.failed++
		r.fails = append(r.fails, k+" (did not finish)")
		dump := 0
		for _, l := range r.buf[k] {
			switch {
			case dump > 0:
				dump++
			case strings.HasPrefix(l, "goroutine ") && strings.HasSuffix(strings.TrimSpace(l), ":"):
				dump = 1
			case !isFrame(l):
				fmt.Fprint(r.w, l)
			}
		}
		if dump > 0 {
			fmt.Fprintf(r.w, "\t(goroutine dump of %d lines left out)\n", dump)
		}
		delete(r.buf, k)
	}
}

// isFrame is a line -v adds around a test's own output.
func isFrame(l string) bool {
	return strings.HasPrefix(l, "=== ")
}

// logLine starts a line of t.Log, t.Skip and friends: "    file.go:12: ".
var logLine = regexp.MustCompile(`^\s+\S+\.go:\d+: `)

// skipReason is the message of the t.Skip call: from the last logged line
// (which may span several lines) to the end, without -v's frame lines.
func skipReason(lines []string) string {
	var body []string
	for _, l := range lines {
		if !isFrame(l) && !strings.HasPrefix(strings.TrimSpace(l), "--- SKIP") {
			body = append(body, l)
		}
	}
	start := 0
	for i, l := range body {
		if logLine.MatchString(l) {
			start = i
		}
	}
	var parts []string
	for _, l := range body[start:] {
		if s := strings.TrimSpace(l); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

// summary prints the skipped and failed tests and the closing count line.
func (r *report) summary() {
	fmt.Fprintf(r.w, "\n%d skipped:\n", r.nskips)
	for _, s := range r.skips {
		fmt.Fprintf(r.w, "  %s: %s\n", s.name, s.reason)
	}
	if r.failed > 0 {
		fmt.Fprintf(r.w, "%d failed:\n", r.failed)
		for _, f := range r.fails {
			fmt.Fprintf(r.w, "  %s\n", f)
		}
	}
	fmt.Fprintf(r.w, "%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.nskips)
}
