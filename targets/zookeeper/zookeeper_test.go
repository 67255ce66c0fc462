package zookeeper_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline"
	scen "github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/pick"
	"github.com/faultline/faultline/targets/zookeeper"
)

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		err  string
	}{
		{opts: nil},
		{opts: map[string]string{"read-mode": "plain"}},
		{opts: map[string]string{"read-mode": "stale"}, err: "read-mode=stale"},
		{opts: map[string]string{"bug": "x"}, err: `unknown target option "bug"`},
	} {
		_, err := zookeeper.New(tc.opts)
		if (err != nil) != (tc.err != "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("New(%v) = %v, want error containing %q", tc.opts, err, tc.err)
		}
	}
	tg, _ := zookeeper.New(nil)
	if _, err := tg.Client(targets.ClientConfig{ReadMode: "linearizable"}); err == nil {
		t.Errorf("read mode linearizable was accepted")
	}
	if !tg.NeedsImage() || !tg.Supports(history.FCAS) || tg.Supports("txn") {
		t.Errorf("NeedsImage %v, Supports(cas) %v, Supports(txn) %v", tg.NeedsImage(), tg.Supports(history.FCAS), tg.Supports("txn"))
	}
	n := tg.Node(1, []targets.Peer{
		{Host: "n1", DataDir: "/data", Ports: map[string]int{"client": 2181, "quorum": 2888, "election": 3888}},
		{Host: "n2", DataDir: "/data", Ports: map[string]int{"client": 2181, "quorum": 2888, "election": 3888}},
	})
	if got := strings.Join(n.Args, " "); got != "/data 2 2181 2000 1=n1:2888:3888 2=n2:2888:3888" {
		t.Errorf("node args %q", got)
	}
}

// scenario is a register run on a 3-member ensemble under nemesis.
func scenario(t *testing.T, readMode, nemesis string, seed uint64) scen.Scenario {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if _, err := docker.New(context.Background()); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	sc := scen.Default()
	sc.Cluster.Target, sc.Cluster.Runtime, sc.Cluster.Nodes = "zookeeper", pick.Docker, 3
	sc.Cluster.Options = map[string]string{"read-mode": readMode}
	sc.Cluster.HealthTimeout = scen.Duration(2 * time.Minute)
	sc.Load.Rate = "150"
	sc.Load.Duration = scen.Duration(14 * time.Second)
	sc.Load.Keys = 4
	sc.Chaos.Nemesis = []string{nemesis}
	sc.Chaos.Interval = scen.Duration(4 * time.Second)
	sc.Chaos.Quiet = scen.Duration(3 * time.Second)
	sc.Out = t.TempDir()
	sc.Seed = seed
	return sc
}

func logErrors(t *testing.T, o *faultline.Outcome) {
	events, _, err := history.ReadFile(filepath.Join(o.Dir, scen.HistoryFile))
	if err != nil {
		t.Logf("read history: %v", err)
		return
	}
	errs := map[string]int{}
	for _, op := range history.Operations(events) {
		e := op.Error
		if len(e) > 50 {
			e = e[:50]
		}
		errs[op.Type.String()+" "+op.F+": "+e]++
	}
	t.Logf("outcomes: %v", errs)
	for _, r := range o.Summary.Checks {
		t.Logf("%s %s: %s", r.Checker, r.Verdict, r.Summary)
	}
}

// sync + get is linearizable: valid with a follower cut off, the fault
// that makes plain reads stale (TestPlainReadsStale). The leader cut off
// and kills run under the long tag (long_test.go).
func TestSyncReadsValid(t *testing.T) {
	syncReadsValid(t, "partition-follower")
}

func syncReadsValid(t *testing.T, nemeses ...string) {
	for _, nemesis := range nemeses {
		t.Run(nemesis, func(t *testing.T) {
			o := faultline.RunExpect(t, scenario(t, zookeeper.ReadSync, nemesis, 1), checkers.Valid)
			logErrors(t, o)
		})
	}
}

// A plain get is served by the member the client talks to: a follower cut
// off from the leader keeps answering from its own state for syncLimit
// ticks (10 s), while the majority moves on. Stale reads, invalid. (Cutting
// off the leader instead makes every member drop its clients at once: no
// stale read, README.)
func TestPlainReadsStale(t *testing.T) {
	o := faultline.RunExpect(t, scenario(t, zookeeper.ReadPlain, "partition-follower", 1), checkers.Invalid)
	logErrors(t, o)
	for _, r := range o.Summary.Checks {
		if (r.Checker == "stale-reads" || r.Checker == "linearizable") && r.Verdict == checkers.Invalid {
			return
		}
	}
	t.Errorf("want stale-reads or linearizable invalid")
}
