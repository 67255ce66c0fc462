package faultline_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

// TestEtcdUnderPartition runs the spine twice, with linearizable and with
// serializable reads, and compares the two runs.
func TestEtcdUnderPartition(t *testing.T) {
	lin := etcdPartitionEndToEnd(t)
	ser := serializableReadsCanFail(t)
	if lin == nil || ser == nil {
		return
	}
	// The comparison of the two shows the difference in its table.
	dir := t.TempDir()
	page, err := report.Compare(dir, "linearizable against serializable reads", []report.CompareEntry{
		{Dir: lin.Dir, Label: "linearizable", Expected: "valid"}, {Dir: ser.Dir, Label: "serializable"}})
	if err != nil || len(page.Rows) != 2 || len(page.Plots) != 3 {
		t.Fatalf("compare: %v, %d rows, %d plots", err, len(page.Rows), len(page.Plots))
	}
	if page.Rows[0].Verdict != "valid" || page.Rows[1].Verdict != string(ser.Summary.Verdict) || page.Mismatch != 0 {
		t.Errorf("compare rows: %+v", page.Rows)
	}
	html, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	for _, want := range []string{"linearizable", "serializable", "compare-throughput.png", string(ser.Summary.Verdict)} {
		if !strings.Contains(string(html), want) {
			t.Errorf("comparison page lacks %q", want)
		}
	}
}

// etcdPartitionEndToEnd is the spine: a real 3-member etcd in Docker, 10 s
// of load with the leader partitioned away for a window, checked for
// linearizability and reported.
func etcdPartitionEndToEnd(t *testing.T) *faultline.Outcome {
	sc := scenario.Default()
	sc.Load.Duration = scenario.Duration(10 * time.Second)
	sc.Chaos.Interval = scenario.Duration(3 * time.Second)
	sc.Out = t.TempDir()
	sc.Seed = 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The Go API teams use in their own tests: fails t unless valid.
	out := faultline.Run(t, sc)
	s := out.Summary
	if faultline.ExitCode(out, nil) != faultline.ExitPass {
		t.Fatalf("exit code %d for a valid run", faultline.ExitCode(out, nil))
	}
	events, torn, err := history.ReadFile(filepath.Join(out.Dir, scenario.HistoryFile))
	if err != nil || torn {
		t.Fatalf("history: torn=%v err=%v", torn, err)
	}
	ops := history.Operations(events)
	if len(ops) < 1000 {
		t.Errorf("only %d operations recorded in 10 s at 200/s", len(ops))
	}
	ws := history.Faults(events)
	if len(ws) == 0 || ws[0].Kind != "partition" || ws[0].End <= ws[0].Start {
		t.Fatalf("no partition window in the history: %+v", ws)
	}
	if len(ws[0].Fault.Links) == 0 || ws[0].Fault.ApplyNanos <= 0 {
		t.Errorf("the window does not say which links were cut: %+v", ws[0].Fault)
	}
	for _, f := range []string{"summary.json", "latency.png", "latency.svg", "scenario.json", "results.bin", "logs/n1.log", "logs/n2.log", "logs/n3.log"} {
		if st, err := os.Stat(filepath.Join(out.Dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(out.Dir, "latency.svg"))
	if !strings.Contains(string(svg), ">partition<") {
		t.Errorf("the latency plot does not label the partition window")
	}
	assertNothingLeft(t, out.Summary.RunID)

	// Re-checking the stored run reproduces its verdict.
	again, err := faultline.Check(ctx, out.Dir)
	if err != nil || again.Summary.Verdict != s.Verdict || again.Summary.Ops != s.Ops {
		t.Errorf("re-check: %v, verdict %s ops %+v, want %s %+v", err, again.Summary.Verdict, again.Summary.Ops, s.Verdict, s.Ops)
	}
	return out
}

// serializableReadsCanFail is the checker's self-test: etcd's serializable
// reads may be answered stale by the partitioned member, and the same
// scenario with them must be allowed to come back invalid. It must never
// come back unknown.
func serializableReadsCanFail(t *testing.T) *faultline.Outcome {
	sc := scenario.Default()
	sc.Load.Duration = scenario.Duration(10 * time.Second)
	sc.Chaos.Interval = scenario.Duration(3 * time.Second)
	sc.Load.ReadMode = "serializable"
	sc.Out = t.TempDir()
	sc.Seed = 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := faultline.RunContext(ctx, sc, faultline.WithLog(t.Logf))
	if err != nil {
		t.Errorf("serializable run: %v", err)
		return nil
	}
	t.Log(report.VerdictLine(out.Summary, out.Dir))
	if v := out.Summary.Verdict; v == checkers.Unknown {
		t.Fatalf("verdict unknown: %+v", out.Summary.Checks)
	}
	if v := out.Summary.Verdict; v == checkers.Invalid {
		if len(out.Summary.Checks[0].Artifacts) == 0 {
			t.Errorf("invalid without a visualization")
		}
	}
	assertNothingLeft(t, out.Summary.RunID)
	return out
}

func assertNothingLeft(t *testing.T, runID string) {
	t.Helper()
	for _, args := range [][]string{
		{"ps", "-a", "--filter", "label=faultline.run=" + runID, "--format", "{{.Names}}"},
		{"network", "ls", "--filter", "label=faultline.run=" + runID, "--format", "{{.Name}}"},
	} {
		b, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Logf("docker %v: %v (skipping leak check)", args, err)
			continue
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			t.Errorf("left behind after the run: %s", s)
		}
	}
}
