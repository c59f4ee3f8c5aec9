// Command mutation reads the JSON reports of the mutation tool gremlins
// (one per package, from `gremlins unleash --output`) and the list of
// mutants the project accepts as equivalent or beyond the tool's reach,
// prints the figures per package, raw and with the listed mutants
// discounted, names every surviving mutant the list does not explain, and
// exits 1 when a package misses its target, an unlisted mutant survives or
// times out, or the list names a mutant that no longer survives or times
// out. .ci/mutation runs it.
//
// Usage:
//
//	go run ./internal/mutation -list FILE PKG=REPORT.json[:EFFICACY[:COVERAGE]]...
//
// EFFICACY and COVERAGE are the minimum percentages for that package.
// With -plant, every mutant gremlins reports as NOT COVERED is first
// planted by hand and the package's tests run against it (plant.go); so is
// every listed mutant gremlins reports KILLED, to tell a test that failed
// for another reason from a list entry gone stale.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Statuses of a mutant in a gremlins report.
const (
	killed     = "KILLED"
	lived      = "LIVED"
	notCovered = "NOT COVERED"
	timedOut   = "TIMED OUT"
	notViable  = "NOT VIABLE"
)

// report is the part of a gremlins JSON report this command reads.
type report struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
	Elapsed float64 `json:"elapsed_time"`
}

// mutant is one mutant: where (pkg/file.go:line:col) and which mutator.
type mutant struct {
	Pos, Mutator string
}

func (m mutant) String() string { return m.Pos + " " + m.Mutator }

// listed is an entry of the list: a mutant and why it is accepted.
type listed struct {
	mutant
	Why  string
	Line int // in the list file
}

// parseList reads the list: one mutant a line,
// "pkg/file.go:line:col MUTATOR — why"; blank lines and lines starting
// with # are skipped. Every entry needs a reason.
func parseList(r io.Reader) ([]listed, error) {
	var out []listed
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		if len(f) < 3 || strings.Count(f[0], ":") != 2 {
			return nil, fmt.Errorf("line %d: want 'pkg/file.go:line:col MUTATOR — why', got %q", n, s)
		}
		why := strings.TrimSpace(strings.TrimLeft(strings.Join(f[2:], " "), "—-– "))
		if why == "" {
			return nil, fmt.Errorf("line %d: %s %s has no reason", n, f[0], f[1])
		}
		out = append(out, listed{mutant{f[0], f[1]}, why, n})
	}
	return out, sc.Err()
}

// target is what one package is held to.
type target struct {
	Pkg                        string
	Report                     string
	Efficacy, Coverage         float64
	HaveEfficacy, HaveCoverage bool
}

// parseTarget reads PKG=REPORT.json[:EFFICACY[:COVERAGE]].
func parseTarget(s string) (target, error) {
	pkg, rest, ok := strings.Cut(s, "=")
	if !ok || pkg == "" || rest == "" {
		return target{}, fmt.Errorf("want PKG=REPORT.json[:EFFICACY[:COVERAGE]], got %q", s)
	}
	t := target{Pkg: path.Clean(pkg)}
	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return target{}, fmt.Errorf("too many fields in %q", s)
	}
	t.Report = parts[0]
	for i, p := range parts[1:] {
		if p == "" {
			continue
		}
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 0 || v > 100 {
			return target{}, fmt.Errorf("bad percentage %q in %q", p, s)
		}
		if i == 0 {
			t.Efficacy, t.HaveEfficacy = v, true
		} else {
			t.Coverage, t.HaveCoverage = v, true
		}
	}
	return t, nil
}

// result is one package's figures.
type result struct {
	Pkg                                 string
	Killed, Lived, NotCovered, TimedOut int
	ListedLived, ListedNotCovered       int
	Unlisted                            []mutant // survivors the list does not name
	Unjudged                            []mutant // timed out, not listed
	Uncovered                           []mutant // not covered, not listed
	Stale                               []listed // listed, but not a survivor or uncovered
	Elapsed                             float64
	Planted, PlantedKilled              int      // NOT COVERED mutants planted by hand, and caught
	Flaky                               []mutant // listed, killed in gremlins' run, lived when planted again
}

func pct(n, d int) float64 {
	if d == 0 {
		return 100
	}
	return 100 * float64(n) / float64(d)
}

// Efficacy is killed / (killed + lived), as gremlins counts it.
func (r result) Efficacy() float64 { return pct(r.Killed, r.Killed+r.Lived) }

// Coverage is (killed + lived) / (killed + lived + not covered).
func (r result) Coverage() float64 {
	return pct(r.Killed+r.Lived, r.Killed+r.Lived+r.NotCovered)
}

// NetEfficacy leaves the listed survivors out: they are not mutants that
// a test could tell from the code.
func (r result) NetEfficacy() float64 {
	return pct(r.Killed, r.Killed+r.Lived-r.ListedLived)
}

// NetCoverage leaves all listed mutants out.
func (r result) NetCoverage() float64 {
	eq := r.ListedLived + r.ListedNotCovered
	return pct(r.Killed+r.Lived-r.ListedLived, r.Killed+r.Lived+r.NotCovered-eq)
}

// tally counts pkg's report against the list entries of that package.
func tally(pkg string, rep report, list []listed) result {
	res := result{Pkg: pkg, Elapsed: rep.Elapsed}
	mine := map[mutant]listed{}
	for _, l := range list {
		if path.Dir(l.Pos[:strings.IndexByte(l.Pos, ':')]) == pkg {
			mine[l.mutant] = l
		}
	}
	used := map[mutant]bool{}
	for _, f := range rep.Files {
		for _, m := range f.Mutations {
			mu := mutant{fmt.Sprintf("%s:%d:%d", path.Join(pkg, f.FileName), m.Line, m.Column), m.Type}
			_, isListed := mine[mu]
			switch m.Status {
			case killed:
				res.Killed++
			case lived:
				res.Lived++
				if isListed {
					res.ListedLived++
					used[mu] = true
				} else {
					res.Unlisted = append(res.Unlisted, mu)
				}
			case notCovered:
				res.NotCovered++
				if isListed {
					res.ListedNotCovered++
					used[mu] = true
				} else {
					res.Uncovered = append(res.Uncovered, mu)
				}
			case timedOut:
				// Usually a test run that lost the race against gremlins'
				// deadline on a busy machine: nothing was learnt. A
				// mutant that loops forever belongs in the list.
				res.TimedOut++
				if isListed {
					used[mu] = true
				} else {
					res.Unjudged = append(res.Unjudged, mu)
				}
			}
		}
	}
	for mu, l := range mine {
		if !used[mu] {
			res.Stale = append(res.Stale, l)
		}
	}
	sort.Slice(res.Stale, func(i, j int) bool { return res.Stale[i].Line < res.Stale[j].Line })
	for _, s := range [][]mutant{res.Unlisted, res.Uncovered, res.Unjudged} {
		sort.Slice(s, func(i, j int) bool { return s[i].String() < s[j].String() })
	}
	return res
}

// judge prints res and reports whether the package passes t.
func judge(w io.Writer, t target, res result) bool {
	ok := true
	fmt.Fprintf(w, "%s: killed %d, lived %d (%d listed), not covered %d (%d listed), timed out %d; %.0f s\n",
		res.Pkg, res.Killed, res.Lived, res.ListedLived, res.NotCovered, res.ListedNotCovered, res.TimedOut, res.Elapsed)
	if res.Planted > 0 {
		fmt.Fprintf(w, "  planted by hand: %d that gremlins could not place in the coverage profile, %d of them caught by the tests\n",
			res.Planted, res.PlantedKilled)
	}
	fmt.Fprintf(w, "  efficacy %.2f %%, mutator coverage %.2f %%; with the listed mutants left out: %.2f %%, %.2f %%\n",
		res.Efficacy(), res.Coverage(), res.NetEfficacy(), res.NetCoverage())
	if t.HaveEfficacy && res.NetEfficacy() < t.Efficacy {
		fmt.Fprintf(w, "  FAIL: efficacy below the target of %.0f %%\n", t.Efficacy)
		ok = false
	}
	if t.HaveCoverage && res.NetCoverage() < t.Coverage {
		fmt.Fprintf(w, "  FAIL: mutator coverage below the target of %.0f %%\n", t.Coverage)
		ok = false
	}
	for _, m := range res.Unlisted {
		fmt.Fprintf(w, "  FAIL: survivor not in the list: %s\n", m)
		ok = false
	}
	for _, m := range res.Unjudged {
		fmt.Fprintf(w, "  FAIL: timed out, so not judged: %s (rerun on a quieter machine or with a larger MUTATION_TIMEOUT_COEFFICIENT)\n", m)
		ok = false
	}
	for _, l := range res.Stale {
		fmt.Fprintf(w, "  FAIL: list line %d names %s, which no longer survives here (killed, moved or gone): update the list\n", l.Line, l.mutant)
		ok = false
	}
	for _, m := range res.Uncovered {
		fmt.Fprintf(w, "  not covered: %s\n", m)
	}
	for _, m := range res.Flaky {
		fmt.Fprintf(w, "  WARNING: %s was killed in gremlins' run but lives when planted again: a test of %s failed for another reason there (flaky under load?)\n", m, res.Pkg)
	}
	return ok
}

func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("mutation", flag.ContinueOnError)
	listFile := fs.String("list", "", "file of accepted mutants, one a line with the reason")
	plant := fs.Bool("plant", false, "plant each NOT COVERED mutant by hand and run the package's tests against it")
	workers := fs.Int("workers", 2, "test runs at a time when planting")
	timeout := fs.Duration("timeout", 2*time.Minute, "deadline of one package test run when planting")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("no package reports given")
	}
	var list []listed
	if *listFile != "" {
		f, err := os.Open(*listFile)
		if err != nil {
			return err
		}
		list, err = parseList(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *listFile, err)
		}
	}
	pass := true
	for _, a := range fs.Args() {
		t, err := parseTarget(a)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(t.Report)
		if err != nil {
			return err
		}
		var rep report
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("%s: %w", t.Report, err)
		}
		var planted, caught int
		var flaky []mutant
		if *plant {
			start := time.Now()
			pl := planter{dir: ".", timeout: *timeout, run: goTest}
			if pl.dir, err = os.Getwd(); err != nil {
				return err
			}
			if planted, caught, err = pl.plantUncovered(t.Pkg, &rep, *workers); err != nil {
				return fmt.Errorf("%s: planting: %w", t.Pkg, err)
			}
			if flaky, err = pl.recheckListedKills(t.Pkg, &rep, list, *workers); err != nil {
				return fmt.Errorf("%s: planting listed mutants again: %w", t.Pkg, err)
			}
			rep.Elapsed += time.Since(start).Seconds()
		}
		res := tally(t.Pkg, rep, list)
		res.Planted, res.PlantedKilled, res.Flaky = planted, caught, flaky
		if !judge(w, t, res) {
			pass = false
		}
	}
	if !pass {
		return errFailed
	}
	return nil
}

var errFailed = errors.New("mutation targets missed")

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mutation:", err)
		os.Exit(1)
	}
}
