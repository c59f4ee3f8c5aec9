package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleReport = `{"files": [
 {"file_name": "rules.go", "mutations": [
  {"type": "CONDITIONALS_BOUNDARY", "status": "KILLED", "line": 10, "column": 5},
  {"type": "CONDITIONALS_NEGATION", "status": "KILLED", "line": 10, "column": 5},
  {"type": "CONDITIONALS_BOUNDARY", "status": "LIVED", "line": 12, "column": 7},
  {"type": "ARITHMETIC_BASE", "status": "NOT COVERED", "line": 3, "column": 9},
  {"type": "INCREMENT_DECREMENT", "status": "TIMED OUT", "line": 20, "column": 2}]},
 {"file_name": "other.go", "mutations": [
  {"type": "CONDITIONALS_NEGATION", "status": "KILLED", "line": 4, "column": 4},
  {"type": "CONDITIONALS_NEGATION", "status": "LIVED", "line": 8, "column": 4}]}],
 "elapsed_time": 12.5}`

func TestParseList(t *testing.T) {
	for i, tc := range [...]struct {
		in      string
		want    int
		wantErr bool
	}{
		0: {"# comment\n\npkg/a.go:1:2 CONDITIONALS_BOUNDARY — same result either way\n", 1, false},
		1: {"pkg/a.go:1:2 CONDITIONALS_BOUNDARY - ascii dash\npkg/b.go:3:4 ARITHMETIC_BASE why\n", 2, false},
		2: {"pkg/a.go:1:2 CONDITIONALS_BOUNDARY —\n", 0, true}, // no reason
		3: {"pkg/a.go:1:2 CONDITIONALS_BOUNDARY\n", 0, true},
		4: {"pkg/a.go:1 CONDITIONALS_BOUNDARY — no column\n", 0, true},
	} {
		got, err := parseList(strings.NewReader(tc.in))
		if (err != nil) != tc.wantErr || len(got) != tc.want {
			t.Errorf("%d: got %v, %v", i, got, err)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for i, tc := range [...]struct {
		in      string
		want    target
		wantErr bool
	}{
		0: {"room=r.json:90:95", target{Pkg: "room", Report: "r.json", Efficacy: 90, Coverage: 95, HaveEfficacy: true, HaveCoverage: true}, false},
		1: {"forms=f.json:95", target{Pkg: "forms", Report: "f.json", Efficacy: 95, HaveEfficacy: true}, false},
		2: {"forms=f.json", target{Pkg: "forms", Report: "f.json"}, false},
		3: {"forms=f.json::80", target{Pkg: "forms", Report: "f.json", Coverage: 80, HaveCoverage: true}, false},
		4: {"f.json", target{}, true},
		5: {"forms=f.json:high", target{}, true},
		6: {"forms=f.json:101", target{}, true},
	} {
		got, err := parseTarget(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("%d: got %+v, %v", i, got, err)
		}
	}
}

func TestTally(t *testing.T) {
	var rep report
	if err := json.Unmarshal([]byte(sampleReport), &rep); err != nil {
		t.Fatal(err)
	}
	list, err := parseList(strings.NewReader(`
pkg/rules.go:12:7 CONDITIONALS_BOUNDARY — equivalent
pkg/rules.go:3:9 ARITHMETIC_BASE — a constant
pkg/rules.go:10:5 CONDITIONALS_BOUNDARY — killed now, so stale
other/rules.go:12:7 CONDITIONALS_BOUNDARY — another package's
`))
	if err != nil {
		t.Fatal(err)
	}
	res := tally("pkg", rep, list)
	if res.Killed != 3 || res.Lived != 2 || res.NotCovered != 1 || res.TimedOut != 1 ||
		res.ListedLived != 1 || res.ListedNotCovered != 1 || res.Elapsed != 12.5 ||
		len(res.Unjudged) != 1 || res.Unjudged[0].String() != "pkg/rules.go:20:2 INCREMENT_DECREMENT" {
		t.Errorf("counts %+v", res)
	}
	if len(res.Unlisted) != 1 || res.Unlisted[0].String() != "pkg/other.go:8:4 CONDITIONALS_NEGATION" {
		t.Errorf("unlisted %v", res.Unlisted)
	}
	if len(res.Stale) != 1 || res.Stale[0].Pos != "pkg/rules.go:10:5" {
		t.Errorf("stale %v", res.Stale)
	}
	for i, tc := range [...]struct{ got, want float64 }{
		0: {res.Efficacy(), 60},    // 3 of 5
		1: {res.NetEfficacy(), 75}, // 3 of 4
		2: {res.Coverage(), 5.0 / 6 * 100},
		3: {res.NetCoverage(), 100}, // 4 of 4
	} {
		if d := tc.got - tc.want; d > 1e-9 || d < -1e-9 {
			t.Errorf("%d: %v, want %v", i, tc.got, tc.want)
		}
	}
}

func TestRunFailsOnUnlistedSurvivor(t *testing.T) {
	dir := t.TempDir()
	rep := filepath.Join(dir, "pkg.json")
	if err := os.WriteFile(rep, []byte(sampleReport), 0o600); err != nil {
		t.Fatal(err)
	}
	list := filepath.Join(dir, "list.txt")
	write := func(s string) {
		if err := os.WriteFile(list, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const loops = "pkg/rules.go:20:2 INCREMENT_DECREMENT — loops forever\n"
	for i, tc := range [...]struct {
		list, target string
		pass         bool
		say          string
	}{
		0: {"pkg/rules.go:12:7 CONDITIONALS_BOUNDARY — eq\npkg/other.go:8:4 CONDITIONALS_NEGATION — eq\n" + loops, "pkg=" + rep + ":95:75", true, "100.00 %"},
		1: {"pkg/rules.go:12:7 CONDITIONALS_BOUNDARY — eq\n", "pkg=" + rep, false, "survivor not in the list: pkg/other.go:8:4"},
		2: {"pkg/rules.go:12:7 CONDITIONALS_BOUNDARY — eq\npkg/other.go:8:4 CONDITIONALS_NEGATION — eq\n", "pkg=" + rep + "::90", false, "coverage below"},
		3: {"pkg/rules.go:12:7 CONDITIONALS_BOUNDARY — eq\npkg/other.go:8:4 CONDITIONALS_NEGATION — eq\npkg/x.go:1:1 ARITHMETIC_BASE — gone\n" + loops, "pkg=" + rep, false, "no longer survives"},
		4: {"pkg/rules.go:12:7 CONDITIONALS_BOUNDARY — eq\npkg/other.go:8:4 CONDITIONALS_NEGATION — eq\n", "pkg=" + rep, false, "not judged: pkg/rules.go:20:2"},
	} {
		write(tc.list)
		var out strings.Builder
		err := run([]string{"-list", list, tc.target}, &out)
		if (err == nil) != tc.pass || !strings.Contains(out.String(), tc.say) {
			t.Errorf("%d: err %v, output:\n%s", i, err, out.String())
		}
	}
}
