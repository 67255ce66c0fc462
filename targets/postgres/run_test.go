package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload/txn"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// A short run through Faultline's pipeline: a 1-node cluster, list-append
// at 80 transactions/s for 5 s, no faults. The history holds txn operations
// whose ok completions carry their reads, and the final phase read back
// every key written.
func TestRunListAppend(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if _, err := docker.New(ctx); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	sc := scenario.Default()
	sc.Cluster.Target, sc.Cluster.Runtime, sc.Cluster.Nodes = "postgres", pick.Docker, 1
	sc.Load.Workload = "list-append"
	sc.Load.Rate = "80"
	sc.Load.Duration = scenario.Duration(5 * time.Second)
	sc.Load.Keys = 5
	sc.Chaos.Nemesis = []string{"none"}
	sc.Out = t.TempDir()
	sc.Seed = 7
	start := time.Now()
	run, err := bench.Execute(ctx, sc, bench.WithLog(t.Logf))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Logf("run took %v", time.Since(start).Round(time.Millisecond))
	events, _, err := history.ReadFile(filepath.Join(run.Dir, scenario.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[history.Type]int{}
	var reads, nonEmpty, final int
	errs := map[string]int{}
	for _, op := range history.Operations(events) {
		if op.F != txn.F {
			t.Fatalf("operation %s in the history", op.F)
		}
		counts[op.Type]++
		if op.Type != history.OK {
			errs[op.Error]++
			continue
		}
		if op.Final {
			final++
		}
		mops, err := txn.Decode(op.Data)
		if err != nil {
			t.Fatalf("op %d: %v", op.ID, err)
		}
		for _, m := range mops {
			if m.F == txn.Read {
				reads++
				if string(m.Value) != "null" {
					nonEmpty++
				}
			}
		}
	}
	t.Logf("ok %d fail %d info %d; %d reads (%d of a non-empty list); %d final; load %+v",
		counts[history.OK], counts[history.Fail], counts[history.Info], reads, nonEmpty, final, run.Info.LoadStats)
	t.Logf("errors: %v", errs)
	if counts[history.OK] == 0 || nonEmpty == 0 || final == 0 {
		t.Errorf("want ok transactions with reads of non-empty lists and final reads")
	}
}
