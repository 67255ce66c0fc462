package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// txnScenario is a list-append run on postgres at the isolation level iso.
func txnScenario(t *testing.T, iso string, nodes int, nemesis string) scenario.Scenario {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if _, err := docker.New(context.Background()); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	sc := scenario.Default()
	sc.Cluster.Target, sc.Cluster.Runtime, sc.Cluster.Nodes = "postgres", pick.Docker, nodes
	sc.Cluster.Options = map[string]string{"isolation": iso}
	sc.Load.Workload = "list-append"
	sc.Load.Rate = "100"
	sc.Load.Duration = scenario.Duration(6 * time.Second)
	sc.Chaos.Nemesis = []string{nemesis}
	sc.Chaos.Interval = scenario.Duration(time.Second)
	sc.Chaos.Quiet = scenario.Duration(2 * time.Second)
	sc.Out = t.TempDir()
	sc.Seed = 11
	return sc
}

// contended: three keys, transactions of 2 to 4 micro-operations, so
// concurrent transactions touch the same keys all the time.
func contended(sc scenario.Scenario) scenario.Scenario {
	// On a quiet machine a transaction takes ~2 ms: at 100/s two of them
	// rarely overlap, and read committed shows nothing. 400/s on two keys
	// keeps several in flight on the same keys whatever the machine.
	sc.Load.Keys = 2
	sc.Load.OpsPerKey = 400
	sc.Load.Rate = "400"
	sc.Load.WorkloadOptions = map[string]string{"txn-len": "3..5"}
	return sc
}

func elleResult(t *testing.T, o *faultline.Outcome) checkers.Result {
	t.Helper()
	logErrors(t, o.Dir)
	for _, r := range o.Summary.Checks {
		if r.Checker == "elle-list-append" {
			t.Logf("%s %s: %s", r.Checker, r.Verdict, r.Summary)
			return r
		}
	}
	t.Fatalf("no elle-list-append check in %s", o.Dir)
	return checkers.Result{}
}

// logErrors counts the errors of the run's operations, by kind.
func logErrors(t *testing.T, dir string) {
	events, _, err := history.ReadFile(filepath.Join(dir, scenario.HistoryFile))
	if err != nil {
		t.Logf("read history: %v", err)
		return
	}
	errs := map[string]int{}
	for _, op := range history.Operations(events) {
		if op.Type != history.OK && op.F == "txn" {
			e := op.Error
			if len(e) > 60 {
				e = e[:60]
			}
			errs[op.Type.String()+": "+e]++
		}
	}
	t.Logf("errors: %v", errs)
}

// Serializable is valid under faults: a primary and two streaming
// replicas (every transaction is performed by the primary), with the
// primary cut off from its replicas, or nodes killed and restarted.
func TestSerializableValidUnderFaults(t *testing.T) {
	for _, nemesis := range []string{"partition", "kill"} {
		t.Run(nemesis, func(t *testing.T) {
			sc := txnScenario(t, "serializable", 3, nemesis)
			sc.Check.Consistency = "serializable"
			o := faultline.RunExpect(t, sc, checkers.Valid)
			elleResult(t, o)
			assertListAppendHistory(t, o.Dir)
		})
	}
}

// Read committed lets a transaction read a list and then append to the
// newer version another transaction committed meanwhile: under contention
// and without any fault, Elle finds G-single or lost updates, which
// serializability forbids.
func TestReadCommittedInvalid(t *testing.T) {
	sc := contended(txnScenario(t, "read-committed", 1, "none"))
	sc.Check.Consistency = "serializable"
	r := elleResult(t, faultline.RunExpect(t, sc, checkers.Invalid))
	if !strings.Contains(r.Summary, "G-single") && !strings.Contains(strings.ToLower(r.Summary), "lost") {
		t.Errorf("want G-single or lost updates named, got %q", r.Summary)
	}
}

// PostgreSQL's repeatable read is snapshot isolation: write skew (G2-item)
// makes it invalid under serializable, and the same history is valid under
// snapshot isolation.
func TestRepeatableReadIsSnapshotIsolation(t *testing.T) {
	sc := contended(txnScenario(t, "repeatable-read", 1, "none"))
	sc.Check.Consistency = "serializable"
	o := faultline.RunExpect(t, sc, checkers.Invalid)
	r := elleResult(t, o)
	if !strings.Contains(r.Summary, "G2-item") {
		t.Errorf("want G2-item named, got %q", r.Summary)
	}
	si, err := faultline.Check(t.Context(), o.Dir, faultline.WithCheckConfig(func(c *scenario.CheckConfig) { c.Consistency = "snapshot-isolation" }))
	if err != nil {
		t.Fatal(err)
	}
	if r := elleResult(t, si); r.Verdict != checkers.Valid {
		t.Errorf("under snapshot isolation: %s %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
}

// replica-reads is the known-stale configuration: read-only transactions
// go to asynchronous replicas, which fall behind while the primary is cut
// off from them. Serializable transactions on the primary stay serializable,
// but reads of the past violate real-time order: invalid under strict
// serializability.
func TestReplicaReadsStale(t *testing.T) {
	sc := txnScenario(t, "serializable", 3, "partition")
	sc.Cluster.Options["replica-reads"] = "true"
	sc.Check.Consistency = "strict-serializable"
	r := elleResult(t, faultline.RunExpect(t, sc, checkers.Invalid))
	if !strings.Contains(r.Summary, "realtime") {
		t.Errorf("want a real-time anomaly named, got %q", r.Summary)
	}
}

// rw-register under serializable is valid. (Read committed under the same
// contention was invalid in 4 of 5 runs, too few to assert: README.)
func TestRWRegisterSerializable(t *testing.T) {
	sc := contended(txnScenario(t, "serializable", 1, "none"))
	sc.Load.Workload = "rw-register"
	sc.Check.Consistency = "serializable"
	o := faultline.RunExpect(t, sc, checkers.Valid)
	logErrors(t, o.Dir)
}
