package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFormatNumber(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{0, "0"},
		{0.12345, "0.123"},
		{1.5, "1.5"},
		{12.345, "12.3"},
		{123.4, "123"},
		{999.6, "1000"},
		{1234.4, "1,234"},
		{1234567.8, "1,234,568"},
		{-2500, "-2,500"},
	} {
		if got := formatNumber(tc.in); got != tc.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPairedRatio(t *testing.T) {
	one := func(v float64) map[int]float64 { return map[int]float64{0: v} }
	for _, tc := range []struct {
		name string
		a, b map[int]float64
		want string
	}{
		{"one round", one(90), one(100), "0.90×"},
		{"above one", one(90), one(45), "2.00×"},
		{"zero base", one(90), one(0), "—"},
		{"missing base", one(90), nil, "—"},
		{"missing value", nil, one(100), "—"},
		{"negative base", one(90), one(-5), "—"},
		{"negative value", one(-5), one(100), "—"},
		// Divided within each round: 0.8, 1.0, 1.2, whatever the medians
		// of a and b (110 and 100) would say.
		{"rounds", map[int]float64{1: 80, 2: 110, 3: 120}, map[int]float64{1: 100, 2: 110, 3: 100}, "1.00× (0.80×–1.20×)"},
		// Only rounds with both count.
		{"unpaired round", map[int]float64{1: 50, 2: 90}, map[int]float64{2: 100, 3: 10}, "0.90×"},
		{"even count", map[int]float64{1: 90, 2: 110}, map[int]float64{1: 100, 2: 100}, "1.00× (0.90×–1.10×)"},
	} {
		if got := pairedRatio(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: pairedRatio = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseLists(t *testing.T) {
	known := []string{"own", "null", "chorus"}
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"own,null,chorus", []string{"own", "null", "chorus"}, false},
		{" chorus , own,chorus,", []string{"chorus", "own"}, false},
		{"own,mongoose", nil, true},
		{",", nil, true},
	} {
		got, err := parseList(tc.in, known)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("parseList(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	for _, tc := range []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{"100,500", []int{100, 500}, false},
		{"", nil, false},
		{"100,x", nil, true},
		{"0", nil, true},
	} {
		got, err := parseInts(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("parseInts(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestPlan(t *testing.T) {
	o := compareOpts{targets: []string{"own", "chorus"}, occupants: []int{100, 500}, duration: 3 * time.Second,
		joins: 50, memOccupants: 0}
	var got []string
	for _, r := range plan(o, []string{"prosody"}) {
		got = append(got, r.label()+" "+r.scenario+" "+strings.Join(r.args, " "))
	}
	want := []string{
		"prosody/own fanout -rooms 1 -occupants 100 -senders 1 -duration 3s",
		"prosody/own fanout -rooms 1 -occupants 500 -senders 1 -duration 3s",
		"prosody/own join -joins 50 -rooms 1",
		"prosody/chorus fanout -rooms 1 -occupants 100 -senders 1 -duration 3s",
		"prosody/chorus fanout -rooms 1 -occupants 500 -senders 1 -duration 3s",
		"prosody/chorus join -joins 50 -rooms 1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// sampleLines are result lines as the load tool prints them, with a machine
// line and noise that parseResults skips.
const sampleLines = `{"scenario":"machine","cpu":"Test CPU","cores":2}
progress: not JSON

{"scenario":"fanout","label":"prosody/own","rooms":1,"occupants":100,"senders":1,"seconds":10,"sent":1000,"delivered":100000,"deliveries_per_sec":10000,"lost":0,"reordered":0,"latency_ms":{"p50":1,"p95":2,"p99":3.5,"max":9},"cpu_cores":{"tool":0.5,"server":0.8},"rss_kib":{"server":20000}}
{"scenario":"fanout","label":"prosody/null","rooms":1,"occupants":100,"senders":1,"seconds":10,"sent":2000,"delivered":200000,"deliveries_per_sec":20000,"lost":0,"latency_ms":{"p99":2},"cpu_cores":{"tool":0.7,"server":0.6,"component":0.2}}
{"scenario":"fanout","label":"prosody/chorus","rooms":1,"occupants":100,"senders":1,"seconds":10,"sent":1500,"delivered":150000,"deliveries_per_sec":15000,"lost":3,"latency_ms":{"p99":4},"cpu_cores":{"tool":0.6,"server":0.6,"component":0.6}}
{"scenario":"join","label":"prosody/own","joins":500,"rooms":1,"seconds":2,"joins_per_sec":250,"cpu_seconds":{"tool":0.1,"server":1},"cpu_ms_per_join":{"tool":0.2,"server":2}}
{"scenario":"join","label":"prosody/chorus","joins":500,"rooms":1,"seconds":1,"joins_per_sec":500,"cpu_seconds":{"tool":0.1,"server":0.5,"component":0.25},"cpu_ms_per_join":{"tool":0.2,"server":1,"component":0.5}}
{"scenario":"memory","label":"prosody/own","occupants":1000,"rooms":10,"rss_before_kib":{"server":10000},"rss_after_kib":{"server":12000},"bytes_per_occupant":{"server":2048}}
{"scenario":"memory","label":"prosody/chorus","occupants":1000,"rooms":10,"rss_before_kib":{"server":10000,"component":8000},"rss_after_kib":{"server":10500,"component":9000},"bytes_per_occupant":{"server":512,"component":1024}}
`

func TestPlanRounds(t *testing.T) {
	o := compareOpts{targets: []string{"own", "chorus"}, occupants: []int{100}, duration: 3 * time.Second, rounds: 2}
	var got []string
	for _, r := range plan(o, []string{"prosody", "ejabberd"}) {
		got = append(got, fmt.Sprintf("%d %s %s", r.round, r.label(), r.scenario))
	}
	// Per server, the rounds one after the other, targets interleaved.
	want := []string{
		"1 prosody/own fanout", "1 prosody/chorus fanout",
		"2 prosody/own fanout", "2 prosody/chorus fanout",
		"1 ejabberd/own fanout", "1 ejabberd/chorus fanout",
		"2 ejabberd/own fanout", "2 ejabberd/chorus fanout",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRenderMarkdownRounds(t *testing.T) {
	// Three rounds in which the machine slows down: the own MUC's figures
	// fall from 10,000 to 6,000 and Chorus's with them, each round's
	// Chorus at 0.9, 1.0 and 1.1 of the own MUC beside it.
	lines := `{"round":1,"scenario":"fanout","label":"prosody/own","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":10000,"cpu_cores":{"tool":0.1,"server":1}}
{"round":1,"scenario":"fanout","label":"prosody/chorus","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":9000,"cpu_cores":{"tool":0.1,"server":1,"component":0.1}}
{"round":2,"scenario":"fanout","label":"prosody/own","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":8000,"cpu_cores":{"tool":0.2,"server":1}}
{"round":2,"scenario":"fanout","label":"prosody/chorus","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":8000,"lost":2,"cpu_cores":{"tool":0.2,"server":0.9,"component":0.1}}
{"round":3,"scenario":"fanout","label":"prosody/own","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":6000,"cpu_cores":{"tool":0.3,"server":1}}
{"round":3,"scenario":"fanout","label":"prosody/chorus","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":6600,"cpu_cores":{"tool":0.3,"server":0.8,"component":0.1}}
`
	rs, err := parseResults(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	o := compareOpts{targets: []string{"own", "chorus"}, occupants: []int{100}, duration: 10 * time.Second, rounds: 3}
	var b bytes.Buffer
	renderMarkdown(&b, facts{}, o, []string{"prosody"}, nil, rs, nil)
	for _, want := range []string{
		// Medians with their ranges; the note is the median run's.
		"| fan-out 1×100, deliveries/s | 8,000 (6,000–10,000; tool 0.20 cores) | 8,000 (6,600–9,000; tool 0.20 cores, 2 lost) | 1.00× (0.90×–1.10×) |",
		// A row of notes alone lists each round's.
		"| fan-out 1×100, CPU cores, server / component | 1.00; 1.00; 1.00 | 1.00 / 0.10; 0.90 / 0.10; 0.80 / 0.10 | — |",
		"- Rounds: 3, one after the other, each running every target in turn. A figure is the median of the rounds, " +
			"its range in brackets; a ratio is the median of the ratios within each round.",
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

func TestParseResults(t *testing.T) {
	rs, err := parseResults(strings.NewReader(sampleLines))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 7 {
		t.Fatalf("%d results, want 7", len(rs))
	}
	r := rs[2]
	if r.server() != "prosody" || r.target() != "chorus" || r.Fanout.Lost != 3 || r.Fanout.CPUCores["component"] != 0.6 {
		t.Errorf("third result: %+v", r)
	}
	if _, err := parseResults(strings.NewReader("{\"scenario\":\n")); err == nil {
		t.Error("a broken line parsed")
	}
}

func TestRenderMarkdown(t *testing.T) {
	rs, err := parseResults(strings.NewReader(sampleLines))
	if err != nil {
		t.Fatal(err)
	}
	o := compareOpts{targets: []string{"own", "null", "chorus"}, occupants: []int{100}, duration: 10 * time.Second,
		joins: 500, memOccupants: 1000, memRooms: 10}
	f := facts{CPU: "Test CPU", Cores: 2, Go: "go1.26", Versions: map[string]string{"prosody": "0.12.3"}}
	var b bytes.Buffer
	renderMarkdown(&b, f, o, []string{"prosody"}, []string{"ejabberd"}, rs, []string{"prosody/null join: exit status 1"})
	md := b.String()
	for _, want := range []string{
		"Test CPU, 2 cores",
		"Prosody 0.12.3 (skipped, not installed: ejabberd)",
		"### Prosody 0.12.3",
		"| Scenario | own MUC | null | Chorus | Chorus/null | Chorus/own |",
		"| fan-out 1×100, deliveries/s | 10,000 (tool 0.50 cores) | 20,000 (tool 0.70 cores) | 15,000 (tool 0.60 cores, 3 lost) | 0.75× | 1.50× |",
		"| fan-out 1×100, CPU cores, server / component | 0.80 | 0.60 / 0.20 | 0.60 / 0.60 | — | — |",
		"| fan-out 1×100, p99 latency ms | 3.5 | 2 | 4 | 2.00× | 1.14× |",
		// (0.6+0.6)/15000 s = 80 µs; own: 0.8/10000 = 80 µs; null: 0.8/20000 = 40 µs.
		"| fan-out 1×100, CPU µs/delivery, server+component | 80 | 40 | 80 | 2.00× | 1.00× |",
		"| join storm (500 into 1 room), joins/s | 250 | — | 500 | — | 2.00× |",
		"| join, CPU ms/join, server | 2 | — | 1 | — | 0.50× |",
		"| join, CPU ms/join, component | — | — | 0.5 | — | — |",
		"| join, CPU ms/join, server+component | 2 | — | 1.5 | — | 0.75× |",
		"| memory (1000 in 10 rooms), bytes/occupant, server | 2,048 | — | 512 | — | 0.25× |",
		"| memory, bytes/occupant, server+component | 2,048 | — | 1,536 | — | 0.75× |",
		"- prosody/null join: exit status 1",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestRenderMarkdownRatioColumns(t *testing.T) {
	lines := `{"scenario":"fanout","label":"ejabberd/null-ids","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":20000,"cpu_cores":{"tool":0.5}}
{"scenario":"fanout","label":"ejabberd/chorus","rooms":1,"occupants":100,"seconds":10,"deliveries_per_sec":15000,"cpu_cores":{"tool":0.5}}
`
	rs, err := parseResults(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		targets   []string
		head, row string
	}{
		{[]string{"null-ids", "chorus"},
			"| Scenario | null-ids | Chorus | Chorus/null-ids |",
			"| fan-out 1×100, deliveries/s | 20,000 (tool 0.50 cores) | 15,000 (tool 0.50 cores) | 0.75× |"},
		// Baselines come in a fixed order, whatever the order of -targets.
		{[]string{"chorus", "own", "null-ids", "null"},
			"| Scenario | Chorus | own MUC | null-ids | null | Chorus/null | Chorus/null-ids | Chorus/own |",
			"| fan-out 1×100, deliveries/s | 15,000 (tool 0.50 cores) | — | 20,000 (tool 0.50 cores) | — | — | 0.75× | — |"},
		// Without Chorus there is nothing to divide.
		{[]string{"own", "null-ids"},
			"| Scenario | own MUC | null-ids |",
			"| fan-out 1×100, deliveries/s | — | 20,000 (tool 0.50 cores) |"},
	} {
		o := compareOpts{targets: tc.targets, occupants: []int{100}, duration: 10 * time.Second}
		var b bytes.Buffer
		renderMarkdown(&b, facts{}, o, []string{"ejabberd"}, nil, rs, nil)
		for _, want := range []string{tc.head, tc.row} {
			if !strings.Contains(b.String(), want+"\n") {
				t.Errorf("targets %v: markdown lacks %q:\n%s", tc.targets, want, b.String())
			}
		}
	}
}

func TestParseProfile(t *testing.T) {
	for _, tc := range []struct {
		profile, scenarios string
		want               []string
		wantErr            bool
	}{
		{"default", "", []string{"fanout", "join", "memory"}, false},
		{"deployed", "", []string{"fanout", "join", "memory", "mam"}, false},
		{"deployed", "mam, join", []string{"mam", "join"}, false},
		{"default", "join", []string{"join"}, false},
		// The default profile keeps no archive to query.
		{"default", "mam", nil, true},
		{"deployed", "fanout,presence", nil, true},
		{"production", "", nil, true},
		{"", "", nil, true},
	} {
		p, got, err := parseProfile(tc.profile, tc.scenarios)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) || (err == nil && p != tc.profile) {
			t.Errorf("parseProfile(%q, %q) = %q, %q, %v; want %q, error %v", tc.profile, tc.scenarios, p, got, err, tc.want, tc.wantErr)
		}
	}
	if _, err := parseList("own,null-presence,chorus-unicast", allTargets); err != nil {
		t.Errorf("the new targets: %v", err)
	}
}

// The deployed profile makes every room persistent, gives the join storm
// history where the target sends the subject that ends such a join, and
// runs the MAM storm against everything but the null component.
func TestPlanDeployed(t *testing.T) {
	o := compareOpts{targets: []string{"own", "null", "null-presence", "chorus-unicast"}, occupants: []int{100},
		duration: 3 * time.Second, joins: 50, mamOccupants: 10, profile: "deployed", scenarios: []string{"fanout", "join", "mam"}}
	var got []string
	for _, r := range plan(o, []string{"ejabberd"}) {
		if !r.deployed {
			t.Errorf("%s %s: not deployed", r.label(), r.scenario)
		}
		got = append(got, r.label()+" "+r.scenario+" "+strings.Join(r.args, " "))
	}
	want := []string{
		"ejabberd/own fanout -rooms 1 -occupants 100 -senders 1 -duration 3s -persistent",
		"ejabberd/own join -joins 50 -rooms 1 -history 20 -persistent",
		"ejabberd/own mam -occupants 10 -messages 100 -pages 5 -page-size 20 -persistent",
		"ejabberd/null fanout -rooms 1 -occupants 100 -senders 1 -duration 3s -persistent",
		"ejabberd/null join -joins 50 -rooms 1 -persistent",
		"ejabberd/null-presence fanout -rooms 1 -occupants 100 -senders 1 -duration 3s -persistent",
		"ejabberd/null-presence join -joins 50 -rooms 1 -history 20 -persistent",
		"ejabberd/chorus-unicast fanout -rooms 1 -occupants 100 -senders 1 -duration 3s -persistent",
		"ejabberd/chorus-unicast join -joins 50 -rooms 1 -history 20 -persistent",
		"ejabberd/chorus-unicast mam -occupants 10 -messages 100 -pages 5 -page-size 20 -persistent",
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The default profile plans what it always did, whatever the targets.
	o.profile, o.scenarios = "default", nil
	for _, r := range plan(o, []string{"ejabberd"}) {
		if r.deployed || r.scenario == "mam" || slices.Contains(r.args, "-persistent") || slices.Contains(r.args, "-history") {
			t.Errorf("default profile: %s %s %v", r.label(), r.scenario, r.args)
		}
	}
}

func TestChorusMulticast(t *testing.T) {
	if got := chorusMulticast("chorus"); got != "auto" {
		t.Errorf("chorus: CHORUS_MULTICAST=%s", got)
	}
	if got := chorusMulticast("chorus-unicast"); got != "off" {
		t.Errorf("chorus-unicast: CHORUS_MULTICAST=%s", got)
	}
	for _, tg := range allTargets {
		if serverMulticast(tg) != (tg == "chorus") {
			t.Errorf("%s: server multicast %v", tg, serverMulticast(tg))
		}
		if isChorus(tg) != strings.HasPrefix(tg, "chorus") || isNull(tg) != strings.HasPrefix(tg, "null") {
			t.Errorf("%s: isChorus %v, isNull %v", tg, isChorus(tg), isNull(tg))
		}
	}
}

func TestRenderMarkdownDeployed(t *testing.T) {
	lines := `{"scenario":"join","label":"prosody/null-presence","joins":500,"rooms":1,"seconds":1,"joins_per_sec":1000,"cpu_ms_per_join":{"server":0.5,"component":0.1},"history":20}
{"scenario":"join","label":"prosody/chorus","joins":500,"rooms":1,"seconds":2,"joins_per_sec":250,"cpu_ms_per_join":{"server":1,"component":1},"history":20,"history_per_join":20}
{"scenario":"join","label":"prosody/chorus-unicast","joins":500,"rooms":1,"seconds":2,"joins_per_sec":200,"cpu_ms_per_join":{"server":1,"component":1.5}}
{"scenario":"mam","label":"prosody/own","occupants":100,"messages":100,"pages":5,"page_size":20,"queries":500,"seconds":2,"queries_per_sec":250,"results":10000,"latency_ms":{"p50":10,"p99":40},"cpu_seconds":{"server":1.5}}
{"scenario":"mam","label":"prosody/chorus","occupants":100,"messages":100,"pages":5,"page_size":20,"queries":500,"seconds":1,"queries_per_sec":500,"results":9000,"latency_ms":{"p50":5,"p99":20},"cpu_seconds":{"server":0.5,"component":0.5}}
`
	rs, err := parseResults(strings.NewReader(lines))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 || rs[4].MAM.Results != 9000 || rs[4].MAM.LatencyMS.P99 != 20 {
		t.Fatalf("parsed %+v", rs)
	}
	o := compareOpts{targets: []string{"own", "null-presence", "chorus", "chorus-unicast"}, joins: 500, mamOccupants: 100,
		profile: "deployed", scenarios: []string{"join", "mam"}}
	var b bytes.Buffer
	renderMarkdown(&b, facts{}, o, []string{"prosody"}, nil, rs, nil)
	md := b.String()
	for _, want := range []string{
		"- Profile deployed: every room persistent; the own MUCs and Chorus archive every message (Prosody: mod_muc_mam on SQLite; ejabberd: mod_mam on Mnesia; Chorus: its SQLite store); join storm joiners take 20 messages of history and a join ends with the subject (null and null-ids send none: their joins are as in the default profile). The MAM storm has every occupant page back through the last 100 messages, 20 at a time, all at once; the null component keeps no archive.",
		"| Scenario | own MUC | null-presence | Chorus | Chorus unicast | Chorus/null-presence | Chorus/own | Chorus/chorus-unicast |",
		"| join storm (500 into 1 room, 20 messages of history), joins/s | — | 1,000 | 250 | 200 | 0.25× | — | 1.25× |",
		"| join, CPU ms/join, server+component | — | 0.6 | 2 | 2.5 | 3.33× | — | 0.80× |",
		"| MAM query storm (100 occupants × 5 pages of 20), queries/s | 250 | skipped: no archive | 500 (9000 of 10000 messages) | — | — | 2.00× | — |",
		"| MAM query, p99 latency ms | 40 | skipped: no archive | 20 | — | — | 0.50× | — |",
		// own: 1.5 s / 500 queries; Chorus: (0.5+0.5) s / 500.
		"| MAM query, CPU ms/query, server+component | 3 | skipped: no archive | 2 | — | — | 0.67× | — |",
	} {
		if !strings.Contains(md, want+"\n") {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| fan-out") || strings.Contains(md, "| memory") {
		t.Errorf("rows of scenarios not run:\n%s", md)
	}
}
