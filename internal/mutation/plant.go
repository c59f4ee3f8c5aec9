package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Gremlins decides from Go's coverage profile whether a test runs a
// mutant's line, and the profile has no counter for some code a test does
// run: the case expressions of a tagless switch and constant expressions
// (gremlins' issue 298). Such mutants come out NOT COVERED although a test
// may well catch them. The planting pass judges each NOT COVERED mutant
// the way gremlins judges the others: it plants the mutant (through go
// test's -overlay, so the checkout is never touched), runs the package's
// tests, and calls it killed when they fail. One that the tests let
// through stays NOT COVERED: passing tests do not show that any test ran
// the line.

// replacements is gremlins v0.6.0's table of mutations (its
// internal/engine/mappings.go) for the mutators it enables by default.
var replacements = map[string]map[token.Token]token.Token{
	"ARITHMETIC_BASE": {
		token.ADD: token.SUB, token.SUB: token.ADD,
		token.MUL: token.QUO, token.QUO: token.MUL, token.REM: token.MUL,
	},
	"CONDITIONALS_BOUNDARY": {
		token.GEQ: token.GTR, token.GTR: token.GEQ,
		token.LEQ: token.LSS, token.LSS: token.LEQ,
	},
	"CONDITIONALS_NEGATION": {
		token.EQL: token.NEQ, token.NEQ: token.EQL,
		token.GEQ: token.LSS, token.LSS: token.GEQ,
		token.GTR: token.LEQ, token.LEQ: token.GTR,
	},
	"INCREMENT_DECREMENT": {token.INC: token.DEC, token.DEC: token.INC},
	"INVERT_NEGATIVES":    {token.SUB: token.ADD},
}

// mutate returns src with the operator at line:col (1-based, col in
// bytes, as gremlins reports it) replaced as mutator does.
func mutate(src []byte, line, col int, mutator string) ([]byte, error) {
	table, ok := replacements[mutator]
	if !ok {
		return nil, fmt.Errorf("mutator %s cannot be planted", mutator)
	}
	fset := token.NewFileSet()
	file := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(file, src, nil, 0)
	for {
		pos, tok, _ := s.Scan()
		if tok == token.EOF {
			return nil, fmt.Errorf("no operator at %d:%d", line, col)
		}
		p := fset.Position(pos)
		if p.Line < line || (p.Line == line && p.Column < col) {
			continue
		}
		if p.Line != line || p.Column != col {
			return nil, fmt.Errorf("no operator at %d:%d", line, col)
		}
		to, ok := table[tok]
		if !ok {
			return nil, fmt.Errorf("%s at %d:%d is not a %s operator", tok, line, col, mutator)
		}
		out := make([]byte, 0, len(src)+1)
		out = append(out, src[:p.Offset]...)
		out = append(out, to.String()...)
		return append(out, src[p.Offset+len(tok.String()):]...), nil
	}
}

// Outcomes of planting one mutant by hand.
const (
	plantKilled    = "killed"
	plantLived     = "lived"
	plantNotViable = "not viable" // does not compile: no mutant at all
	plantTimedOut  = "timed out"
)

// planter plants mutants of the module in dir.
type planter struct {
	dir     string        // module root
	timeout time.Duration // for one package test run
	run     func(ctx context.Context, dir string, args ...string) (out []byte, err error)
}

func goTest(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"test"}, args...)...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// plant runs pkg's tests with m planted and says what became of it.
func (pl planter) plant(pkg string, m mutant) (string, error) {
	file, line, col, err := splitPos(m.Pos)
	if err != nil {
		return "", err
	}
	abs := filepath.Join(pl.dir, filepath.FromSlash(file))
	src, err := os.ReadFile(abs)
	if err != nil {
		return "", err
	}
	mutated, err := mutate(src, line, col, m.Mutator)
	if err != nil {
		return "", fmt.Errorf("%s: %w", m, err)
	}
	tmp, err := os.MkdirTemp("", "plant")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	planted := filepath.Join(tmp, filepath.Base(file))
	overlay := filepath.Join(tmp, "overlay.json")
	b, _ := json.Marshal(map[string]map[string]string{"Replace": {abs: planted}})
	if err := os.WriteFile(planted, mutated, 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(overlay, b, 0o644); err != nil {
		return "", err
	}
	// The deadline inside the test binary comes first, so a mutant that
	// loops is told from a machine too busy to finish.
	ctx, cancel := context.WithTimeout(context.Background(), 3*pl.timeout)
	defer cancel()
	out, err := pl.run(ctx, pl.dir, "-count=1", "-failfast", "-timeout", pl.timeout.String(),
		"-overlay", overlay, "./"+pkg)
	switch {
	case err == nil:
		return plantLived, nil
	case bytes.Contains(out, []byte("[build failed]")) || bytes.Contains(out, []byte("[setup failed]")):
		return plantNotViable, nil
	case bytes.Contains(out, []byte("panic: test timed out")) || ctx.Err() != nil:
		return plantTimedOut, nil
	}
	return plantKilled, nil
}

func splitPos(pos string) (file string, line, col int, err error) {
	i := strings.LastIndexByte(pos, ':')
	j := strings.LastIndexByte(pos[:max(i, 0)], ':')
	if j < 0 {
		return "", 0, 0, fmt.Errorf("bad position %q", pos)
	}
	if _, err := fmt.Sscanf(pos[j+1:], "%d:%d", &line, &col); err != nil {
		return "", 0, 0, fmt.Errorf("bad position %q", pos)
	}
	return pos[:j], line, col, nil
}

// plantEach plants, workers at a time, every mutant of rep that pick
// chooses, and returns the mutants with what became of each.
func (pl planter) plantEach(pkg string, rep *report, pick func(status string, mu mutant) bool, workers int) ([]planting, error) {
	var jobs []planting
	for fi, f := range rep.Files {
		for mi, m := range f.Mutations {
			mu := mutant{fmt.Sprintf("%s:%d:%d", path.Join(pkg, f.FileName), m.Line, m.Column), m.Type}
			if pick(m.Status, mu) {
				jobs = append(jobs, planting{f: fi, m: mi, mutant: mu})
			}
		}
	}
	errs := make([]error, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < max(workers, 1); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				jobs[i].outcome, errs[i] = pl.plant(pkg, jobs[i].mutant)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return jobs, errors.Join(errs...)
}

// planting is one mutant planted by hand: where it is in the report, and
// its outcome.
type planting struct {
	f, m int
	mutant
	outcome string
}

// plantUncovered plants every NOT COVERED mutant of rep and rewrites its
// status in rep: KILLED when the tests caught it, TIMED OUT when they did
// not finish, dropped when it does not compile (gremlins drops those too).
// It returns how many it planted and killed.
func (pl planter) plantUncovered(pkg string, rep *report, workers int) (planted, killedN int, err error) {
	jobs, err := pl.plantEach(pkg, rep, func(s string, _ mutant) bool { return s == notCovered }, workers)
	if err != nil {
		return 0, 0, err
	}
	for _, j := range jobs {
		planted++
		m := &rep.Files[j.f].Mutations[j.m]
		switch j.outcome {
		case plantKilled:
			m.Status = killed
			killedN++
		case plantTimedOut:
			m.Status = timedOut
		case plantNotViable:
			m.Status = notViable
		}
	}
	return planted, killedN, nil
}

// recheckListedKills plants again every mutant that the list accepts as a
// survivor but gremlins reports KILLED. A listed mutant that the tests let
// through when planted again was "killed" by a test that failed for
// another reason (a flaky test, usually on a loaded machine): its status
// goes back to LIVED, so the list is not called stale for it, and it is
// returned so the report can name it. One that is killed again stays
// KILLED, and the list entry is stale.
func (pl planter) recheckListedKills(pkg string, rep *report, list []listed, workers int) ([]mutant, error) {
	accepted := map[mutant]bool{}
	for _, l := range list {
		accepted[l.mutant] = true
	}
	jobs, err := pl.plantEach(pkg, rep, func(s string, mu mutant) bool { return s == killed && accepted[mu] }, workers)
	if err != nil {
		return nil, err
	}
	var flaky []mutant
	for _, j := range jobs {
		if j.outcome == plantLived {
			rep.Files[j.f].Mutations[j.m].Status = lived
			flaky = append(flaky, j.mutant)
		}
	}
	return flaky, nil
}
