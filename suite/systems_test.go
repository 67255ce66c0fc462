package suite

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

// suite/systems.yaml is the comparison: every system under the same four
// faults, with the same load length, rate and fault timing, each entry
// placed in the matrix by its defaults.
func TestSystemsSuite(t *testing.T) {
	s, err := Load("systems.yaml", 1)
	if err != nil {
		t.Fatal(err)
	}
	faults := map[string][]string{}
	var systems []string
	first := map[string]Entry{} // the first entry of each system sets its load
	for _, e := range s.Entries {
		if !slices.Contains(systems, e.System) {
			systems = append(systems, e.System)
			first[e.System] = e
		}
		faults[e.System] = append(faults[e.System], e.Fault)
		sc, f := e.Scenario, first[e.System].Scenario
		if sc.Load.Duration != f.Load.Duration || sc.Load.Rate != f.Load.Rate || sc.Chaos.Quiet != f.Chaos.Quiet {
			t.Errorf("%s: load %v at %s, quiet %v; want the same load as %s", e.Name, sc.Load.Duration, sc.Load.Rate, sc.Chaos.Quiet, first[e.System].Name)
		}
		if len(e.Expect) == 0 || e.Expect.Match(checkers.Unknown) || (len(e.Expect) > 1 && e.Note == "") {
			t.Errorf("%s: expectation %v, note %q", e.Name, e.Expect, e.Note)
		}
	}
	// The four systems of the comparison's core run under the same four faults
	// with one load; the others keep the timing they were measured at.
	core := []string{"etcd linearizable", "raftkv", "naive-paxos", "postgres"}
	if len(systems) < len(core) || !slices.Equal(systems[:len(core)], core) {
		t.Errorf("systems %v, want %v first", systems, core)
	}
	for _, sys := range core {
		if fs := faults[sys]; !slices.Equal(fs, []string{"none", "partition", "kill", "pause"}) {
			t.Errorf("%s runs under %v, want none, partition, kill, pause", sys, fs)
		}
		if f, c := first[sys].Scenario, first[core[0]].Scenario; f.Load.Duration != c.Load.Duration || f.Load.Rate != c.Load.Rate {
			t.Errorf("%s: load %v at %s, want the core's %v at %s", sys, f.Load.Duration, f.Load.Rate, c.Load.Duration, c.Load.Rate)
		}
	}
	if e := entry(t, s, "postgres-kill"); e.Scenario.Cluster.Runtime != "docker" {
		t.Errorf("postgres runs on %q, want docker (Debian's package in an image)", e.Scenario.Cluster.Runtime)
	}
}

// An entry's system and fault default to its target (with the read mode)
// and its nemesis; system: and fault: override them.
func TestSystemAndFault(t *testing.T) {
	s, err := Parse([]byte(`
name: m
defaults: {load: {duration: 5s}, chaos: {interval: 1s}}
entries:
  - {name: a, target: etcd, read_mode: serializable, nemesis: none, expect: either}
  - {name: b, target: raftkv, nemesis: "partition,kill", expect: valid}
  - {name: c, target: raftkv, bug: stale-reads, nemesis: partition, expect: invalid, system: raftkv stale-reads, fault: isolate leader}
`), "m.yaml", ".", 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][2]string{{"etcd serializable", "none"}, {"raftkv", "partition+kill"}, {"raftkv stale-reads", "isolate leader"}} {
		if e := s.Entries[i]; e.System != want[0] || e.Fault != want[1] {
			t.Errorf("%s: system %q fault %q, want %q %q", e.Name, e.System, e.Fault, want[0], want[1])
		}
	}
}

// storedRun writes a run directory as a run leaves it: history and summary.
func storedRun(t *testing.T, dir, target, nemesis string, v checkers.Verdict) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := history.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []history.Event
	for i := int64(0); i < 40; i++ {
		inv := history.Event{Time: i * 1e8, Type: history.Invoke, Process: history.Process(i % 3), F: history.FWrite, ID: uint64(i + 1), Key: "k", Value: "1"}
		done := inv
		done.Type, done.Time = history.OK, inv.Time+3e6
		evs = append(evs, inv, done)
	}
	for _, e := range evs {
		w.Append(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sum := report.Summarize(report.Meta{RunID: filepath.Base(dir), Target: target, Nodes: 3, Nemesis: []string{nemesis}, Rate: "10"},
		evs, history.Operations(evs), nil, []checkers.Result{{Checker: "linearizable", Verdict: v}})
	if err := report.WriteSummary(dir, sum); err != nil {
		t.Fatal(err)
	}
}

// --reindex rebuilds the matrix from a suite's stored runs and its
// suite.json, with the suite file's systems and faults, running nothing.
func TestReindex(t *testing.T) {
	out := t.TempDir()
	s, err := Parse([]byte(`
name: r
defaults: {load: {duration: 5s}, chaos: {interval: 1s}}
entries:
  - {name: raftkv-none, target: raftkv, nemesis: none, expect: valid}
  - {name: naive-paxos-none, target: naive-paxos, nemesis: none, expect: invalid, system: "naive paxos"}
`), "r.yaml", ".", 1)
	if err != nil {
		t.Fatal(err)
	}
	storedRun(t, filepath.Join(out, "run-a"), "raftkv", "none", checkers.Valid)
	storedRun(t, filepath.Join(out, "run-b"), "naive-paxos", "none", checkers.Valid)
	js, _ := json.Marshal(map[string]any{"suite": "r", "source": "r.yaml", "planned": 2, "wall_s": 61.0, "runs": []map[string]any{
		{"name": "raftkv-none", "expect": []string{"valid"}, "verdict": "valid", "status": "match", "dir": "results/run-a"},
		{"name": "naive-paxos-none", "expect": []string{"invalid"}, "verdict": "valid", "status": "mismatch", "dir": "results/run-b"},
	}})
	if err := os.WriteFile(filepath.Join(out, JSONFile), js, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := Reindex(s, out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode() != 1 || rep.Count(Match) != 1 || rep.Results[1].Dir != filepath.Join(out, "run-b") {
		t.Errorf("exit %d, %d matched, dir %s", rep.ExitCode(), rep.Count(Match), rep.Results[1].Dir)
	}
	html, err := os.ReadFile(filepath.Join(out, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<th>naive paxos</th>`, `<th>raftkv</th>`, `href="run-a/report.html"`, `class="cell mismatch"`, "1 of 2 runs", "1m1s"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

// suite/systems.yaml resolves: every entry a complete scenario, the options
// and faults its systems need.
func TestSystemsSuiteResolves(t *testing.T) {
	s, err := Load("systems.yaml", 1)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	for _, e := range s.Entries {
		byName[e.Name] = e
	}
	for name, want := range map[string]struct {
		target, nemesis, opt, val string
		expect                    checkers.Verdict
	}{
		"zookeeper-plain-partition-follower": {"zookeeper", "partition-follower", "read-mode", "plain", checkers.Invalid},
		"zookeeper-sync-kill":                {"zookeeper", "kill", "read-mode", "sync", checkers.Valid},
		"redis-nowait-partition-leader":      {"redis", "partition-leader", "wait", "0", checkers.Invalid},
	} {
		e, ok := byName[name]
		if !ok {
			t.Errorf("no entry %s", name)
			continue
		}
		sc := e.Scenario
		if sc.Cluster.Target != want.target || len(sc.Chaos.Nemesis) != 1 || sc.Chaos.Nemesis[0] != want.nemesis ||
			sc.Cluster.Options[want.opt] != want.val || !e.Expect.Match(want.expect) || sc.Cluster.Runtime != "docker" {
			t.Errorf("%s: target %s nemesis %v options %v runtime %s expect %v", name, sc.Cluster.Target, sc.Chaos.Nemesis, sc.Cluster.Options, sc.Cluster.Runtime, e.Expect)
		}
	}
}

// The message systems of the comparison run at the core's load and fault
// timing, each under the core's four faults (valid), with its known-bad mode
// under a kill of every node (invalid); queue runs check that a message
// taken and never acknowledged comes back (redelivers).
func TestSystemsSuiteMessageSystems(t *testing.T) {
	s, err := Load("systems.yaml", 1)
	if err != nil {
		t.Fatal(err)
	}
	core := entry(t, s, "etcd-none").Scenario
	faults := map[string][]string{}
	for _, e := range s.Entries {
		sc := e.Scenario
		if sc.Cluster.Target != "nats" && sc.Cluster.Target != "rabbitmq" {
			continue
		}
		faults[e.System] = append(faults[e.System], e.Fault)
		if sc.Load.Duration != core.Load.Duration || sc.Load.Rate != core.Load.Rate || sc.Chaos.Quiet != core.Chaos.Quiet {
			t.Errorf("%s: load %v at %s, quiet %v; want the core's", e.Name, sc.Load.Duration, sc.Load.Rate, sc.Chaos.Quiet)
		}
		if want := map[string]scenario.Duration{"kill": scenario.Duration(4 * time.Second), "kill-all": scenario.Duration(4 * time.Second)}[e.Fault]; want == 0 && sc.Chaos.Interval != core.Chaos.Interval || want != 0 && sc.Chaos.Interval != want {
			t.Errorf("%s: fault interval %v", e.Name, sc.Chaos.Interval)
		}
		if sc.Load.Workload == "queue" && sc.Check.Options["redelivers"] != "true" {
			t.Errorf("%s: queue checked without redelivers=true", e.Name)
		}
		bad := e.Fault == "kill-all"
		if bad != e.Expect.Match(checkers.Invalid) || bad == e.Expect.Match(checkers.Valid) || bad && e.Note == "" {
			t.Errorf("%s: expect %v, note %q", e.Name, e.Expect, e.Note)
		}
	}
	four := []string{"none", "partition", "kill", "pause"}
	for sys, want := range map[string][]string{"nats R3 queue": four, "nats R3 log": four, "rabbitmq quorum": four,
		"nats R1 memory queue": {"kill-all"}, "rabbitmq classic": {"kill-all"}} {
		if !slices.Equal(faults[sys], want) {
			t.Errorf("%s runs under %v, want %v", sys, faults[sys], want)
		}
	}
	if o := entry(t, s, "nats-r1-memory-queue-kill-all").Scenario.Cluster.Options; o["replicas"] != "1" || o["storage"] != "memory" {
		t.Errorf("nats known-bad options %v", o)
	}
	if o := entry(t, s, "rabbitmq-classic-kill-all").Scenario.Cluster.Options; o["queue-type"] != "classic" {
		t.Errorf("rabbitmq known-bad options %v", o)
	}
}
