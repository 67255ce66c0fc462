package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers/synth"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

// runDir writes a run directory like one a run leaves: scenario.json and
// history.jsonl (a synthetic history with a fault window), no summary.
func runDir(t *testing.T, anomaly synth.Anomaly, thresholds ...string) string {
	t.Helper()
	dir := t.TempDir()
	sc := scenario.Default()
	sc.Check.Thresholds = thresholds
	b, err := json.Marshal(scenario.RunInfo{Scenario: sc, RunID: "synthetic", TargetVersion: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, scenario.ScenarioFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	ops, inj := synth.Generate(synth.Config{Ops: 1000, Keys: 10, Clients: 8, Unknown: 0.01, Fail: 0.02,
		FinalReads: true, Seed: 3, Anomaly: anomaly})
	if anomaly != synth.None && inj == nil {
		t.Fatal("no anomaly injected")
	}
	evs := synth.Events(ops)
	evs = append(evs,
		history.Event{Time: evs[len(evs)/3].Time, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: "partition"}},
		history.Event{Time: evs[len(evs)/2].Time, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition"}})
	var buf []byte
	for i := range evs {
		buf = history.AppendJSON(buf, &evs[i])
		buf = append(buf, '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, scenario.HistoryFile), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func summary(t *testing.T, dir string) report.Summary {
	t.Helper()
	var s report.Summary
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return s
}

func check(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(append([]string{"check"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// `faultline check` re-runs every checker on a stored run and gives the
// same verdict each time: exit 0 for a linearizable history, exit 1 with an
// explanation and a visualization for one with a stale read.
func TestCheckRunDirectory(t *testing.T) {
	valid := runDir(t, synth.None)
	for range 2 {
		if code, out, errs := check(t, "-quiet", valid); code != 0 || !strings.HasPrefix(out, "valid:") {
			t.Fatalf("valid run: exit %d, %q %q", code, out, errs)
		}
	}
	s := summary(t, valid)
	got := map[string]string{}
	for _, c := range s.Checks {
		got[c.Checker] = string(c.Verdict)
	}
	want := map[string]string{"linearizable": "valid", "stale-reads": "valid", "lost-writes": "valid", "availability": "valid"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s (all: %v)", k, got[k], v, got)
		}
	}

	stale := runDir(t, synth.StaleRead)
	for range 2 {
		code, out, _ := check(t, stale)
		if code != 1 || !strings.HasPrefix(out, "invalid:") {
			t.Fatalf("stale read: exit %d, %q", code, out)
		}
	}
	s = summary(t, stale)
	lin := s.Checks[0]
	if lin.Checker != "linearizable" || lin.Verdict != "invalid" || !strings.Contains(lin.Explanation, "cannot be linearized") || len(lin.Artifacts) != 1 {
		t.Fatalf("linearizable: %+v", lin)
	}
	if _, err := os.Stat(filepath.Join(stale, lin.Artifacts[0])); err != nil {
		t.Errorf("visualization: %v", err)
	}
	if s.Checks[1].Checker != "stale-reads" || s.Checks[1].Verdict != "invalid" {
		t.Errorf("stale reads: %+v", s.Checks[1])
	}
}

// Thresholds come from the scenario, or from the command line, which
// replaces them; a missed one fails the run, a bad one is exit 3.
func TestCheckThresholds(t *testing.T) {
	dir := runDir(t, synth.None, "p99 < 1h outside faults", "availability > 0.5")
	if code, out, _ := check(t, "-quiet", dir); code != 0 {
		t.Fatalf("thresholds met: exit %d %q", code, out)
	}
	code, _, _ := check(t, "-quiet", "--threshold", "p99 < 1us outside faults", dir)
	if s := summary(t, dir); code != 1 || s.Checks[len(s.Checks)-1].Checker != "thresholds" || s.Checks[len(s.Checks)-1].Verdict != "invalid" {
		t.Fatalf("missed threshold: exit %d, %+v", code, s.Checks[len(s.Checks)-1])
	}
	if code, _, _ := check(t, "-quiet", "--threshold", "none", dir); code != 0 {
		t.Errorf("thresholds cleared: exit %d", code)
	}
	for _, args := range [][]string{
		{"--threshold", "p99 <", dir},
		{"--threshold", "availability > 1.5", dir},
		{"--check-memory-mb", "-1", dir},
		{filepath.Join(dir, "nosuch")},
		{dir, dir},
	} {
		code, _, errs := check(t, args...)
		if code != 3 || strings.Count(strings.TrimSpace(errs), "\n") > 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want 3 and one line", args, code, errs)
		}
	}
	var stdout, stderr bytes.Buffer
	out := filepath.Join(t.TempDir(), "results")
	if code := run([]string{"run", "--threshold", "p99 << 2s", "--out", out}, &stdout, &stderr); code != 3 {
		t.Errorf("run with a bad threshold: exit %d (%s)", code, stderr.String())
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a run with a bad threshold created its output directory")
	}
}

// A crashed run left a torn last line: it is still checked, and can fail,
// but it cannot pass: exit 2.
func TestCheckCrashedRun(t *testing.T) {
	dir := runDir(t, synth.None)
	f, err := os.OpenFile(filepath.Join(dir, scenario.HistoryFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":99999999999,"type":"invoke","proc`)
	f.Close()
	code, out, _ := check(t, "-quiet", dir)
	if s := summary(t, dir); code != 2 || !s.HistoryTruncated || !s.Interrupted || s.Verdict != "valid" {
		t.Errorf("exit %d %q, truncated %v", code, out, s.HistoryTruncated)
	}
}

// Issue 19's smallest case, as a run directory: write(1) ok; read() -> 1
// ok; write(2) ok; write(1) info; read() -> 2 ok. The unknown rewrite of 1
// may never have happened: linearizable, whatever the values repeat.
func TestCheckRepeatedValues(t *testing.T) {
	dir := t.TempDir()
	b, err := json.Marshal(scenario.RunInfo{Scenario: scenario.Default(), RunID: "repeated", TargetVersion: "none"})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, scenario.ScenarioFile), b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i, o := range []struct {
		f, v string
		t    history.Type
	}{{history.FWrite, "1", history.OK}, {history.FRead, "1", history.OK}, {history.FWrite, "2", history.OK},
		{history.FWrite, "1", history.Info}, {history.FRead, "2", history.OK}} {
		inv := history.Event{Time: int64(i) * 2e6, Type: history.Invoke, Process: history.Process(i), F: o.f, ID: uint64(i + 1), Key: "k", Node: "n1"}
		done := inv
		done.Time, done.Type = inv.Time+1e6, o.t
		if o.f == history.FWrite {
			inv.Value, done.Value = o.v, o.v
		} else {
			done.Value = o.v
		}
		buf = history.AppendJSON(buf, &inv)
		buf = history.AppendJSON(append(buf, '\n'), &done)
		buf = append(buf, '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, scenario.HistoryFile), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := check(t, "-quiet", dir)
	lin := summary(t, dir).Checks[0]
	t.Logf("exit %d: %s", code, out)
	if lin.Checker != "linearizable" || lin.Verdict != "valid" || code == 1 {
		t.Fatalf("exit %d %q %q: %+v", code, out, errs, lin)
	}
}
