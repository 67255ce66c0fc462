package rqlite_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/faultline/faultline"
	scen "github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// scenario: 3 rqlite nodes in Docker, the register workload at 100 ops/s
// for 14 s, the leader isolated every few seconds.
func scenario(t *testing.T, mode string, seed uint64) scen.Scenario {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if _, err := docker.New(context.Background()); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	sc := scen.Default()
	sc.Cluster.Target, sc.Cluster.Runtime, sc.Cluster.Nodes = "rqlite", pick.Docker, 3
	sc.Cluster.Options = map[string]string{"read-mode": mode}
	sc.Load.Workload = "register"
	sc.Load.Rate = "100"
	sc.Load.Duration = scen.Duration(14 * time.Second)
	sc.Chaos.Nemesis = []string{"partition"}
	sc.Out = t.TempDir()
	sc.Seed = seed
	return sc
}

func seeds(t *testing.T) []uint64 {
	if s := os.Getenv("FAULTLINE_SEEDS"); s == "many" {
		return []uint64{1, 2, 3, 4, 5}
	}
	return []uint64{1}
}

// Strong reads go through the Raft log: linearizable under partition.
func TestStrongValidUnderPartition(t *testing.T) {
	for _, seed := range seeds(t) {
		faultline.RunExpect(t, scenario(t, "strong", seed), checkers.Valid)
	}
}

// Level none reads a node's local SQLite: the isolated old leader keeps
// answering reads while the majority moves on.
func TestNoneStaleUnderPartition(t *testing.T) {
	for _, seed := range seeds(t) {
		o := faultline.RunExpect(t, scenario(t, "none", seed), checkers.Invalid)
		for _, r := range o.Summary.Checks {
			if r.Checker == "linearizable" && r.Verdict != checkers.Invalid {
				t.Errorf("linearizable: %s %s", r.Verdict, r.Summary)
			}
			if r.Checker == "stale-reads" && r.Verdict != checkers.Invalid {
				t.Logf("stale-reads: %s %s", r.Verdict, r.Summary)
			}
		}
	}
}
