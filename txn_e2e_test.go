package faultline_test

import (
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// Transactions end to end on raftkv (local runtime, loopback): list-append
// and rw-register are valid under strict serializability when every
// transaction is one log entry, and the non-atomic-txn bug (each
// micro-operation its own entry) is caught by the Elle checker.
func TestTransactionsOnRaftkv(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clusters")
	}
	for _, c := range []struct {
		workload, bug string
		want          checkers.Verdict
	}{
		{"list-append", "", checkers.Valid},
		{"rw-register", "", checkers.Valid},
		{"list-append", "non-atomic-txn", checkers.Invalid},
	} {
		t.Run(c.workload+"-"+c.bug, func(t *testing.T) {
			sc := scenario.Default()
			sc.Cluster.Target, sc.Cluster.Runtime, sc.Cluster.Netns = "raftkv", pick.Local, pick.NetnsOff
			if c.bug != "" {
				sc.Cluster.Options = map[string]string{"bug": c.bug}
			}
			sc.Load.Workload = c.workload
			sc.Load.Keys = 4
			sc.Load.OpsPerKey = 30
			sc.Load.Duration = scenario.Duration(4 * time.Second)
			sc.Load.Rate = "150"
			sc.Chaos.Nemesis = []string{"none"}
			sc.Check.Consistency = "strict-serializable"
			sc.Out = t.TempDir()
			sc.Seed = 5
			out := faultline.RunExpect(t, sc, c.want)
			for _, r := range out.Summary.Checks {
				if r.Checker == "elle-"+c.workload {
					t.Logf("%s: %s", r.Checker, r.Summary)
				}
			}
		})
	}
}
