package bench_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// TestEtcdTimelineWithSidecarAndFinalReads runs a real 3-member etcd under
// load with an explicit timeline from a scenario file (a minority/majority
// split, a pause, a kill of the leader), with network rules forced through
// the sidecar (the path used without host root). Every fault is a window of
// the history with its exact nodes and links; after healing and a quiet
// period, every key the run wrote is read back, marked final; and the
// history is linearizable.
func TestEtcdTimelineWithSidecarAndFinalReads(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(file, []byte(`
seed: 5
load: {duration: 11s, rate: "150"}
chaos:
  firewall: sidecar
  quiet: 2s
  timeline:
    - {at: 1s, for: 2s, fault: partition-halves}
    - {at: 4s, for: 1500ms, fault: pause}
    - {at: 7s, for: 2s, fault: kill-leader}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := scenario.Default()
	seeded, err := scenario.LoadFile(file, &sc)
	if err != nil || !seeded || sc.Seed != 5 {
		t.Fatalf("load: %v seeded=%v seed=%d", err, seeded, sc.Seed)
	}
	if got := sc.Chaos.Nemesis; len(got) != 3 || got[2] != "kill-leader" {
		t.Fatalf("nemesis from the timeline: %v", got)
	}
	sc.Out = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	run, err := bench.Execute(ctx, sc, bench.WithLog(t.Logf))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	events, torn, err := history.ReadFile(filepath.Join(run.Dir, scenario.HistoryFile))
	if err != nil || torn {
		t.Fatalf("history: torn=%v %v", torn, err)
	}

	ws := history.Faults(events)
	kinds := []string{"partition-halves", "pause", "kill-leader"}
	if len(ws) != len(kinds) {
		t.Fatalf("fault windows %+v, want %v", ws, kinds)
	}
	for i, w := range ws {
		if w.Kind != kinds[i] || len(w.Fault.Nodes) == 0 || w.End <= w.Start || w.Fault.ApplyNanos <= 0 {
			t.Errorf("window %d: %+v %+v", i, w, w.Fault)
		}
		t.Logf("%s from %v to %v: %s", w.Kind, time.Duration(w.Start), time.Duration(w.End), w.Fault.Detail)
	}
	if len(ws[0].Fault.Links) != 4 { // 1 node cut from 2, both ways
		t.Errorf("halves of 3 nodes: links %v", ws[0].Fault.Links)
	}

	// Final reads: every written key is read back after the last heal, by
	// operations of their own, marked final on both events.
	ops := history.Operations(events)
	written := map[string]bool{}
	loadProcs := map[history.Process]bool{}
	lastHeal := ws[len(ws)-1].End
	for _, op := range ops {
		if !op.Final {
			loadProcs[op.Process] = true
			if op.F != history.FRead {
				written[op.Key] = true
			}
		}
	}
	finalOK := map[string]bool{}
	memberRead := map[string]int{}
	ids := map[uint64]bool{}
	for _, e := range events {
		if e.IsNemesis() {
			continue
		}
		if ids[e.ID] && e.Type == history.Invoke {
			t.Fatalf("op id %d used twice", e.ID)
		}
		ids[e.ID] = true
		if !e.Final {
			continue
		}
		if e.F != history.FRead && e.F != targets.FMemberRead && e.F != targets.FMemberProbe || e.Time < lastHeal || loadProcs[e.Process] {
			t.Errorf("final event %+v: want a read after the last heal (%d) by a process of its own", e, lastHeal)
		}
		if e.F == targets.FMemberRead && e.Type == history.OK {
			memberRead[e.Node]++ // each member's own view, for members-agree
		}
		if e.F == history.FRead && e.Type == history.OK {
			finalOK[e.Key] = true
		}
	}
	for k := range written {
		if !finalOK[k] {
			t.Errorf("key %s was written but never read back by a final read", k)
		}
	}
	if len(memberRead) != 3 {
		t.Errorf("member reads per node %v: want every member asked", memberRead)
	}
	if run.Info.FinalReads == nil || run.Info.FinalReads.Read != len(written) {
		t.Errorf("final read stats %+v, %d keys written", run.Info.FinalReads, len(written))
	}
	t.Logf("%d keys written, all read back; final stats %+v", len(written), run.Info.FinalReads)

	res := (&checkers.Linearizable{Budget: time.Minute}).Check(ctx, checkers.NewInput(events, ""))
	if res.Verdict != checkers.Valid {
		t.Errorf("linearizability: %s: %s", res.Verdict, res.Summary)
	}
}
