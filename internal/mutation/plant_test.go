package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const plantSrc = `package p

func f(a, b int) int {
	switch {
	case a < b: // a comment with - and <
		return -a + b*2
	case a == b:
		a++
	}
	return a % b
}
`

func TestMutate(t *testing.T) {
	for i, tc := range [...]struct {
		line, col int
		mutator   string
		want      string // the mutated line; "" when refused
	}{
		0:  {5, 9, "CONDITIONALS_BOUNDARY", "\tcase a <= b: // a comment with - and <"},
		1:  {5, 9, "CONDITIONALS_NEGATION", "\tcase a >= b: // a comment with - and <"},
		2:  {6, 10, "INVERT_NEGATIVES", "\t\treturn +a + b*2"},
		3:  {6, 13, "ARITHMETIC_BASE", "\t\treturn -a - b*2"},
		4:  {6, 16, "ARITHMETIC_BASE", "\t\treturn -a + b/2"},
		5:  {7, 9, "CONDITIONALS_NEGATION", "\tcase a != b:"},
		6:  {8, 4, "INCREMENT_DECREMENT", "\t\ta--"},
		7:  {10, 11, "ARITHMETIC_BASE", "\treturn a * b"},
		8:  {7, 9, "CONDITIONALS_BOUNDARY", ""}, // == has no boundary
		9:  {5, 8, "CONDITIONALS_BOUNDARY", ""}, // 'a', not an operator
		10: {5, 9, "INVERT_LOOPCTRL", ""},       // not planted here
		11: {40, 1, "ARITHMETIC_BASE", ""},      // past the end
	} {
		got, err := mutate([]byte(plantSrc), tc.line, tc.col, tc.mutator)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%d: mutated where it should refuse:\n%s", i, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%d: %v", i, err)
			continue
		}
		lines := strings.Split(string(got), "\n")
		if lines[tc.line-1] != tc.want {
			t.Errorf("%d: line %d is %q, want %q", i, tc.line, lines[tc.line-1], tc.want)
		}
		if strings.Count(string(got), "\n") != strings.Count(plantSrc, "\n") ||
			strings.Join(append(lines[:tc.line-1:tc.line-1], lines[tc.line:]...), "\n") !=
				strings.Join(append(strings.Split(plantSrc, "\n")[:tc.line-1:tc.line-1], strings.Split(plantSrc, "\n")[tc.line:]...), "\n") {
			t.Errorf("%d: other lines changed:\n%s", i, got)
		}
	}
}

// TestPlantUncovered: only NOT COVERED mutants are planted, each through
// an overlay naming the mutated copy of its file, and the outcome of the
// test run decides the new status.
func TestPlantUncovered(t *testing.T) {
	dir, src, rep := plantFixture(t, `
	  {"type": "CONDITIONALS_BOUNDARY", "status": "NOT COVERED", "line": 5, "column": 9},
	  {"type": "CONDITIONALS_NEGATION", "status": "NOT COVERED", "line": 7, "column": 9},
	  {"type": "ARITHMETIC_BASE", "status": "NOT COVERED", "line": 10, "column": 11},
	  {"type": "INCREMENT_DECREMENT", "status": "NOT COVERED", "line": 8, "column": 4},
	  {"type": "ARITHMETIC_BASE", "status": "LIVED", "line": 6, "column": 13}`)
	// The fake test run reads the planted line and answers as a suite
	// would: it catches '<=', lets '!=' through, does not build '*' and
	// never ends on '--'.
	var mu sync.Mutex
	var seen []string
	pl := planter{dir: dir, timeout: time.Minute, run: func(ctx context.Context, d string, args ...string) ([]byte, error) {
		var overlay string
		for i, a := range args {
			if a == "-overlay" {
				overlay = args[i+1]
			}
		}
		b, err := os.ReadFile(overlay)
		if err != nil {
			t.Fatal(err)
		}
		var o struct{ Replace map[string]string }
		if err := json.Unmarshal(b, &o); err != nil || len(o.Replace) != 1 || o.Replace[src] == "" {
			t.Fatalf("overlay %s: %v", b, err)
		}
		planted, _ := os.ReadFile(o.Replace[src])
		mu.Lock()
		seen = append(seen, args[len(args)-1])
		mu.Unlock()
		switch s := string(planted); {
		case strings.Contains(s, "a <= b"):
			return []byte("--- FAIL: TestF\nFAIL\n"), errors.New("exit status 1")
		case strings.Contains(s, "a != b"):
			return []byte("ok\n"), nil
		case strings.Contains(s, "a * b"):
			return []byte("FAIL\tp/pkg [build failed]\n"), errors.New("exit status 1")
		case strings.Contains(s, "a--"):
			return []byte("panic: test timed out after 1m0s\n"), errors.New("exit status 2")
		}
		t.Fatalf("unexpected planted source:\n%s", planted)
		return nil, nil
	}}
	planted, caught, err := pl.plantUncovered("pkg", &rep, 2)
	if err != nil {
		t.Fatal(err)
	}
	if planted != 4 || caught != 1 {
		t.Errorf("planted %d, caught %d; want 4, 1", planted, caught)
	}
	var got []string
	for _, m := range rep.Files[0].Mutations {
		got = append(got, m.Status)
	}
	if want := []string{killed, notCovered, notViable, timedOut, lived}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("statuses %v, want %v", got, want)
	}
	for _, p := range seen {
		if p != "./pkg" {
			t.Errorf("tests run on %q, want ./pkg", p)
		}
	}
	if b, _ := os.ReadFile(src); string(b) != plantSrc {
		t.Error("the checkout's file was changed")
	}
}

// TestRecheckListedKills: a listed mutant that gremlins counted as killed
// is planted again; if it then lives, it was a test failing for another
// reason, and it goes back to LIVED. One killed again stays KILLED, and
// unlisted kills are not planted at all.
func TestRecheckListedKills(t *testing.T) {
	dir, src, rep := plantFixture(t, `
	  {"type": "CONDITIONALS_BOUNDARY", "status": "KILLED", "line": 5, "column": 9},
	  {"type": "CONDITIONALS_NEGATION", "status": "KILLED", "line": 7, "column": 9},
	  {"type": "ARITHMETIC_BASE", "status": "KILLED", "line": 10, "column": 11}`)
	list := []listed{
		{mutant: mutant{"pkg/rules.go:5:9", "CONDITIONALS_BOUNDARY"}, Why: "equivalent"},
		{mutant: mutant{"pkg/rules.go:7:9", "CONDITIONALS_NEGATION"}, Why: "equivalent"},
	}
	var mu sync.Mutex
	runs := 0
	pl := planter{dir: dir, timeout: time.Minute, run: func(ctx context.Context, d string, args ...string) ([]byte, error) {
		b, _ := os.ReadFile(args[len(args)-2])
		var o struct{ Replace map[string]string }
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		planted, _ := os.ReadFile(o.Replace[src])
		mu.Lock()
		runs++
		mu.Unlock()
		switch s := string(planted); {
		case strings.Contains(s, "a <= b"): // lives now: the first kill was noise
			return []byte("ok\n"), nil
		case strings.Contains(s, "a != b"): // killed again: the entry is stale
			return []byte("--- FAIL: TestF\nFAIL\n"), errors.New("exit status 1")
		}
		t.Fatalf("planted a mutant the list does not name:\n%s", planted)
		return nil, nil
	}}
	flaky, err := pl.recheckListedKills("pkg", &rep, list, 2)
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Errorf("%d test runs, want 2", runs)
	}
	if len(flaky) != 1 || flaky[0] != list[0].mutant {
		t.Errorf("flaky %v, want %v", flaky, list[0].mutant)
	}
	var got []string
	for _, m := range rep.Files[0].Mutations {
		got = append(got, m.Status)
	}
	if want := []string{lived, killed, killed}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("statuses %v, want %v", got, want)
	}
	res := tally("pkg", rep, list)
	if len(res.Stale) != 1 || res.Stale[0].mutant != list[1].mutant {
		t.Errorf("stale %v, want only %v", res.Stale, list[1].mutant)
	}
}

// plantFixture writes plantSrc as pkg/rules.go of a module in a new
// directory and returns it, the file, and a report of the mutations given
// (JSON objects of gremlins' "mutations" list) for that file.
func plantFixture(t *testing.T, mutations string) (dir, src string, rep report) {
	t.Helper()
	dir = t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pkg"), 0o755); err != nil {
		t.Fatal(err)
	}
	src = filepath.Join(dir, "pkg", "rules.go")
	if err := os.WriteFile(src, []byte(plantSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(`{"files": [{"file_name": "rules.go", "mutations": [`+mutations+`]}]}`), &rep); err != nil {
		t.Fatal(err)
	}
	return dir, src, rep
}
