package suite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/report"
)

// The default suite is the issue's: four systems, each under no fault,
// partition and kill, and a Debian-packaged one (PostgreSQL under partition),
// every entry with an expectation; an expectation that admits both verdicts
// says why.
func TestDefaultSuite(t *testing.T) {
	s, err := Default(1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "default" || len(s.Entries) != 13 {
		t.Fatalf("suite %q with %d entries", s.Name, len(s.Entries))
	}
	type sys struct{ target, reads string }
	seen := map[sys][]string{}
	seeds := map[uint64]bool{}
	for _, e := range s.Entries {
		sc := e.Scenario
		k := sys{sc.Cluster.Target, sc.Load.ReadMode}
		seen[k] = append(seen[k], strings.Join(sc.Chaos.Nemesis, ","))
		if len(e.Expect) == 0 || e.Expect.Match(checkers.Unknown) {
			t.Errorf("%s: expectation %v", e.Name, e.Expect)
		}
		if len(e.Expect) > 1 && e.Note == "" {
			t.Errorf("%s expects %s and does not say why", e.Name, e.Expect)
		}
		if sc.Name != e.Name || sc.Seed == 0 || seeds[sc.Seed] {
			t.Errorf("%s: scenario name %q, seed %d (distinct seeds wanted)", e.Name, sc.Name, sc.Seed)
		}
		seeds[sc.Seed] = true
	}
	for _, k := range []sys{{"etcd", "linearizable"}, {"etcd", "serializable"}, {"raftkv", ""}, {"naive-paxos", ""}} {
		if got := seen[k]; !slices.Equal(got, []string{"none", "partition", "kill"}) {
			t.Errorf("%v runs under %v, want none, partition, kill", k, got)
		}
	}
	pg := entry(t, s, "postgres-serializable-partition")
	if pg.Scenario.Cluster.Runtime != "docker" || pg.Scenario.Load.Workload != "list-append" || !slices.Equal(pg.Expect, Expectation{checkers.Valid}) {
		t.Errorf("postgres entry: runtime %q, workload %q, expect %v", pg.Scenario.Cluster.Runtime, pg.Scenario.Load.Workload, pg.Expect)
	}
	np := entry(t, s, "naive-paxos-partition")
	if !slices.Equal(np.Expect, Expectation{checkers.Invalid}) {
		t.Errorf("naive-paxos under partition expects %v, want invalid", np.Expect)
	}
	// Seeds follow the suite's seed and the entry's name only.
	again, _ := Default(1)
	other, _ := Default(2)
	if again.Entries[3].Scenario.Seed != s.Entries[3].Scenario.Seed || other.Entries[3].Scenario.Seed == s.Entries[3].Scenario.Seed {
		t.Error("entry seeds do not follow the suite seed")
	}
	if err := s.Filter("raftkv-*"); err != nil || len(s.Entries) != 3 {
		t.Fatalf("filter: %v, %d entries", err, len(s.Entries))
	}
	if s.Entries[0].Scenario.Seed != again.Entries[6].Scenario.Seed {
		t.Error("filtering changed a seed")
	}
}

func entry(t *testing.T, s *Suite, name string) Entry {
	t.Helper()
	for _, e := range s.Entries {
		if e.Name == name {
			return e
		}
	}
	t.Fatalf("no entry %s", name)
	return Entry{}
}

func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sc.yaml"), []byte("seed: 9\ncluster: {nodes: 5}\nload: {mix: \"read:50,write:50\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Parse([]byte(`
name: mine
defaults:
  target: raftkv
  load: {duration: 5s, rate: 150}
  chaos: {interval: 2s, quiet: 1s}
entries:
  - {name: plain, nemesis: partition, expect: valid}
  - {name: bug, bug: stale-reads, nemesis: "partition,kill", expect: invalid, seed: 42}
  - name: sections
    cluster: {target: etcd}
    load: {read_mode: serializable, rate: "ramp:10..20"}
    chaos: {timeline: [{at: 1s, for: 1s, fault: kill-leader}]}
    expect: [valid, invalid]
    note: why not
  - {name: from-file, scenario: sc.yaml, nemesis: none, expect: either}
  - {name: own-options, target: raftkv, cluster: {options: {bug: non-atomic-cas}}, expect: invalid}
`), "mine.yaml", dir, 7)
	if err != nil {
		t.Fatal(err)
	}
	plain, bug, sections, file := s.Entries[0].Scenario, s.Entries[1].Scenario, s.Entries[2].Scenario, s.Entries[3].Scenario
	if plain.Cluster.Target != "raftkv" || plain.Load.Duration != scenario.Duration(5*time.Second) || plain.Load.Rate != "150" ||
		plain.Chaos.Interval != scenario.Duration(2*time.Second) || plain.Load.Mix != register.DefaultMix().String() || s.Entries[0].SeedFixed {
		t.Errorf("defaults not applied: %+v", plain)
	}
	if bug.Cluster.Options["bug"] != "stale-reads" || !slices.Equal(bug.Chaos.Nemesis, []string{"partition", "kill"}) || bug.Seed != 42 || !s.Entries[1].SeedFixed {
		t.Errorf("shorthands: %+v", bug)
	}
	if plain.Cluster.Options != nil {
		t.Errorf("an entry's bug leaked into another: %v", plain.Cluster.Options)
	}
	if sections.Cluster.Target != "etcd" || sections.Load.ReadMode != "serializable" || sections.Load.Rate != "ramp:10..20" ||
		!slices.Equal(sections.Chaos.Nemesis, []string{"kill-leader"}) || sections.Load.Duration != scenario.Duration(5*time.Second) {
		t.Errorf("sections: %+v", sections)
	}
	if got := s.Entries[2].Expect.String(); got != "valid or invalid" || s.Entries[2].Note != "why not" {
		t.Errorf("expect %q note %q", got, s.Entries[2].Note)
	}
	if file.Cluster.Nodes != 5 || file.Seed != 9 || file.Load.Mix != "read:50,write:50" || file.Cluster.Target != "raftkv" ||
		!slices.Equal(file.Chaos.Nemesis, []string{"none"}) {
		t.Errorf("scenario file: %+v", file)
	}
	if got := s.Entries[4].Scenario.Cluster.Options["bug"]; got != "non-atomic-cas" {
		t.Errorf("options given with the target: %q", got)
	}
	inherit, err := Parse([]byte(`
name: inherit
defaults: {target: raftkv, bug: stale-reads}
entries:
  - {name: same, expect: invalid}
  - {name: other, cluster: {target: etcd}, expect: valid}
  - {name: other2, target: naive-paxos, expect: invalid}
`), "inherit.yaml", dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if inherit.Entries[0].Scenario.Cluster.Options["bug"] != "stale-reads" || inherit.Entries[1].Scenario.Cluster.Options != nil ||
		inherit.Entries[2].Scenario.Cluster.Options != nil {
		t.Errorf("inherited options: %v %v %v", inherit.Entries[0].Scenario.Cluster.Options, inherit.Entries[1].Scenario.Cluster.Options,
			inherit.Entries[2].Scenario.Cluster.Options)
	}
	if s.Entries[3].Expect.Report() != "valid|invalid" {
		t.Errorf("either: %q", s.Entries[3].Expect.Report())
	}
}

// A bad suite is refused before anything runs, in one line that names the
// file and the entry.
func TestBadSuites(t *testing.T) {
	ok := "  - {name: a, target: raftkv, nemesis: none, expect: valid}\n"
	for _, c := range []struct{ yaml, want string }{
		{"name: [", "suite bad.yaml: yaml"},
		{"entries:\n" + ok, "no name"},
		{"name: x\n", "no entries"},
		{"name: x\nmystery: 1\nentries:\n" + ok, `unknown field "mystery"`},
		{"name: x\nentries:\n  - {target: raftkv, expect: valid}\n", "entry 1: no name"},
		{"name: x\nentries:\n" + ok + ok, "entry 2 (a): the name is used twice"},
		{"name: x\nentries:\n  - {name: a b, expect: valid}\n", "entry 1 (a b): a name is"},
		{"name: x\nentries:\n  - {name: a, target: raftkv}\n", "entry 1 (a): no expect"},
		{"name: x\nentries:\n  - {name: a, expect: unknown}\n", `expect "unknown"`},
		{"name: x\nentries:\n  - {name: a, expect: maybe}\n", `expect "maybe"`},
		{"name: x\nentries:\n  - {name: a, target: nosuch, expect: valid}\n", `entry 1 (a): unknown target "nosuch"`},
		{"name: x\nentries:\n  - {name: a, target: raftkv, bug: nosuch, expect: invalid}\n", `unknown bug "nosuch"`},
		{"name: x\nentries:\n  - {name: a, nemesis: explode, expect: valid}\n", `unknown nemesis "explode"`},
		{"name: x\nentries:\n  - {name: a, nemsis: none, expect: valid}\n", `entry 1: json: unknown field "nemsis"`},
		{"name: x\nentries:\n  - {name: a, load: {duration: -1s}, expect: valid}\n", "--duration"},
		{"name: x\nentries:\n  - {name: a, load: {durashun: 1s}, expect: valid}\n", `load: json: unknown field "durashun"`},
		{"name: x\ndefaults: {chaos: {interval: 0s}}\nentries:\n  - {name: a, nemesis: partition, expect: valid}\n", "--nemesis-interval"},
		{"name: x\nentries:\n  - {name: a, scenario: nosuch.yaml, expect: valid}\n", "nosuch.yaml"},
		{"name: x\nentries:\n  - {name: a, target: naive-paxos, read_mode: serializable, expect: invalid}\n", "read mode"},
	} {
		_, err := Parse([]byte(c.yaml), "bad.yaml", t.TempDir(), 1)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "suite bad.yaml: ") {
			t.Errorf("%q: got %v, want an error with %q", c.yaml, err, c.want)
		}
	}
	s, _ := Default(1)
	for _, pat := range []string{"nothing-*", "[", "etcd-*,[x"} {
		if err := s.Filter(pat); err == nil {
			t.Errorf("--only %q accepted", pat)
		}
	}
}

// judge and ExitCode: a violation found counts even in a run cut short; a
// valid verdict of a run cut short does not; a mismatch is exit 1, an
// infrastructure error 4, an interrupted suite 2.
func TestJudgeAndExitCode(t *testing.T) {
	valid := Entry{Name: "v", Expect: Expectation{checkers.Valid}}
	invalid := Entry{Name: "i", Expect: Expectation{checkers.Invalid}}
	either := Entry{Name: "e", Expect: Expectation{checkers.Valid, checkers.Invalid}}
	out := func(v checkers.Verdict, err error) *faultline.Outcome {
		return &faultline.Outcome{Dir: "d", Summary: report.Summary{Verdict: v, Checks: []checkers.Result{
			{Checker: "linearizable", Verdict: v}, {Checker: "lost-writes", Verdict: checkers.Skipped}}}, Err: err}
	}
	infra := errors.New("node n2 never became healthy")
	for _, c := range []struct {
		e           Entry
		o           *faultline.Outcome
		err         error
		interrupted bool
		want        Status
	}{
		{valid, out(checkers.Valid, nil), nil, false, Match},
		{valid, out(checkers.Invalid, nil), nil, false, Mismatch},
		{valid, out(checkers.Unknown, nil), nil, false, Mismatch},
		{invalid, out(checkers.Invalid, nil), nil, false, Match},
		{invalid, out(checkers.Valid, nil), nil, false, Mismatch},
		{either, out(checkers.Valid, nil), nil, false, Match},
		{either, out(checkers.Invalid, nil), nil, false, Match},
		{either, out(checkers.Unknown, nil), nil, false, Mismatch},
		{invalid, out(checkers.Invalid, infra), infra, false, Match},
		{valid, out(checkers.Valid, infra), infra, false, Error},
		{valid, nil, infra, false, Error},
		{valid, nil, errors.New("canceled"), true, Interrupted},
		{valid, out(checkers.Unknown, errors.New("canceled")), errors.New("canceled"), true, Interrupted},
	} {
		r := judge(c.e, c.o, c.err, c.interrupted)
		if r.Status != c.want {
			t.Errorf("%s expecting %v, outcome %+v err %v: %s, want %s", c.e.Name, c.e.Expect, c.o, c.err, r.Status, c.want)
		}
		if c.o != nil && c.o.Summary.Verdict != checkers.Valid && !slices.Equal(r.Failed, []string{"linearizable"}) {
			t.Errorf("failed checks %v, want [linearizable]", r.Failed)
		}
	}
	rep := func(planned int, ss ...Status) *Report {
		r := &Report{Planned: planned}
		for _, s := range ss {
			r.Results = append(r.Results, Result{Status: s})
		}
		return r
	}
	for _, c := range []struct {
		r    *Report
		want int
	}{
		{rep(2, Match, Match), faultline.ExitPass},
		{rep(2, Match, Mismatch), faultline.ExitFail},
		{rep(3, Error, Mismatch, Match), faultline.ExitFail},
		{rep(2, Error, Match), faultline.ExitInfra},
		{rep(3, Match, Interrupted), faultline.ExitUnknown},
		{rep(3, Match), faultline.ExitUnknown},
	} {
		if got := c.r.ExitCode(); got != c.want {
			t.Errorf("%+v: exit %d, want %d", c.r.Results, got, c.want)
		}
	}
}

// A run the infrastructure cuts short (here: nodes, local processes, that
// cannot become healthy within a millisecond) is an error, exit 4; the suite
// goes on to the next entry, and the index and suite.json are written with a
// row for each.
func TestRunInfraError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts naive-paxos")
	}
	s, err := Parse([]byte(`
name: unhealthy
defaults: {target: naive-paxos, nemesis: none, cluster: {runtime: local, netns: "off", health_timeout: 1ms}, load: {duration: 1s}}
entries:
  - {name: first, expect: invalid}
  - {name: second, expect: either}
`), "no-docker.yaml", ".", 1)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "results")
	var seen []string
	rep, err := Run(context.Background(), s, out,
		BeforeEach(func(i, n int, e Entry) []faultline.Option {
			seen = append(seen, fmt.Sprintf("%d/%d %s", i, n, e.Name))
			return nil
		}),
		AfterEach(func(i, n int, r Result) { seen = append(seen, string(r.Status)) }))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(seen, ", "); got != "1/2 first, error, 2/2 second, error" {
		t.Errorf("calls: %s", got)
	}
	if rep.ExitCode() != faultline.ExitInfra || rep.Count(Error) != 2 || rep.Warnings == nil {
		t.Errorf("exit %d, %d errors, warnings %v", rep.ExitCode(), rep.Count(Error), rep.Warnings)
	}
	html, err := os.ReadFile(filepath.Join(out, IndexFile))
	if err != nil || !strings.Contains(string(html), "second") || !strings.Contains(string(html), "error:") {
		t.Errorf("index: %v\n%s", err, html)
	}
	b, err := os.ReadFile(filepath.Join(out, JSONFile))
	if err != nil || !strings.Contains(string(b), `"exit_code": 4`) || !strings.Contains(string(b), `"status": "error"`) {
		t.Errorf("suite.json: %v\n%s", err, b)
	}
}
