package usersvc_test

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

// scenario: PostgreSQL on n1 and two service replicas, the bank workload
// over 5 accounts at 150 ops/s for 12 s: transfers contend on few rows.
func scenario(t *testing.T, bug, nemesis string, seed uint64) scen.Scenario {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if _, err := docker.New(context.Background()); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	sc := scen.Default()
	sc.Cluster.Target, sc.Cluster.Runtime, sc.Cluster.Nodes = "usersvc", pick.Docker, 3
	sc.Cluster.Options = map[string]string{"bug": bug}
	sc.Load.Workload = "bank"
	sc.Load.Rate = "150"
	sc.Load.Duration = scen.Duration(12 * time.Second)
	sc.Chaos.Nemesis = []string{nemesis}
	sc.Out = t.TempDir()
	sc.Seed = seed
	return sc
}

func bankResult(t *testing.T, o *faultline.Outcome) checkers.Result {
	t.Helper()
	for _, r := range o.Summary.Checks {
		if r.Checker == "bank" {
			t.Logf("bank %s: %s", r.Verdict, r.Summary)
			return r
		}
	}
	t.Fatalf("no bank check in %s", o.Dir)
	return checkers.Result{}
}

// One SQL transaction per transfer, rows locked: the total holds under
// contention while a service replica is killed and restarted. (The same
// without the kill runs under the long tag: long_test.go.)
func TestTransactionalValid(t *testing.T) {
	transactionalValid(t, "kill-follower")
}

func transactionalValid(t *testing.T, nemeses ...string) {
	for _, nemesis := range nemeses {
		t.Run(nemesis, func(t *testing.T) {
			r := bankResult(t, faultline.RunExpect(t, scenario(t, "none", nemesis, 3), checkers.Valid))
			if r.Stats["reads"] == 0 || r.Stats["transfers_ok"] == 0 {
				t.Errorf("want ok reads and transfers: %v", r.Stats)
			}
		})
	}
}

// Read-modify-write outside a transaction loses updates under contention:
// money appears or vanishes.
func TestNonTransactionalInvalid(t *testing.T) {
	r := bankResult(t, faultline.RunExpect(t, scenario(t, "non-transactional", "none", 3), checkers.Invalid))
	if r.Stats["money_created"]+r.Stats["money_lost"] == 0 {
		t.Errorf("want a changed total: %v", r.Stats)
	}
}
