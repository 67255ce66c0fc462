package gset_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/examples/gset"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime/local"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// The registration lines: everything else of the workload is in its folder.
func init() {
	workload.Register(gset.Workload{})
	checkers.Register(gset.CheckerName, gset.NewChecker)
}

func txn(id uint64, proc int, typ history.Type, t int64, data string) history.Event {
	return history.Event{ID: id, Process: history.Process(proc), Type: typ, Time: t, F: "txn", Data: json.RawMessage(data)}
}

// The checker on hand-built histories: valid with an unknown add that was
// never seen, invalid with a lost add and with a phantom element.
func TestCheckerVerdicts(t *testing.T) {
	add := func(id uint64, t0, t1 int64, typ history.Type, v string) []history.Event {
		return []history.Event{txn(id, int(id), history.Invoke, t0, `[["append","s",`+v+`]]`), txn(id, int(id), typ, t1, `[["append","s",`+v+`]]`)}
	}
	read := func(id uint64, t0, t1 int64, got string) []history.Event {
		return []history.Event{txn(id, int(id), history.Invoke, t0, `[["r","s",null]]`), txn(id, int(id), history.OK, t1, `[["r","s",`+got+`]]`)}
	}
	cat := func(parts ...[]history.Event) (out []history.Event) {
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	for _, c := range []struct {
		name string
		h    []history.Event
		want checkers.Verdict
	}{
		{"valid", cat(add(1, 0, 10, history.OK, "1"), add(2, 5, 15, history.Info, "2"), read(3, 20, 30, "[1]"), read(4, 31, 40, "[1,2]")), checkers.Valid},
		{"concurrent add may be missing", cat(add(1, 0, 30, history.OK, "1"), read(2, 20, 25, "null")), checkers.Valid},
		{"lost", cat(add(1, 0, 10, history.OK, "1"), read(2, 20, 30, "null")), checkers.Invalid},
		{"phantom", cat(add(1, 0, 10, history.OK, "1"), read(2, 20, 30, "[1,9]")), checkers.Invalid},
		{"failed add read", cat(add(1, 0, 10, history.Fail, "1"), read(2, 20, 30, "[1]")), checkers.Invalid},
		{"no reads", add(1, 0, 10, history.OK, "1"), checkers.Skipped},
	} {
		r := gset.Checker{}.Check(context.Background(), checkers.NewInput(c.h, ""))
		if r.Verdict != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, r.Verdict, r.Summary, c.want)
		}
	}
}

// A workload defined outside the core runs through faultline.RunContext on a
// real raftkv cluster: valid on the correct target, invalid with stale reads
// under a partition.
func TestGSetOnRaftkv(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	for _, c := range []struct {
		bug, nemesis string
		want         checkers.Verdict
	}{
		{"", "none", checkers.Valid},
		{"stale-reads", "partition", checkers.Invalid},
	} {
		sc := scenario.Default()
		sc.Cluster.Target, sc.Cluster.Runtime, sc.Cluster.Netns = "raftkv", pick.Local, pick.NetnsOff
		if c.bug != "" {
			sc.Cluster.Options = map[string]string{"bug": c.bug}
		}
		if c.nemesis != "none" {
			if !local.CanUseNamespaces() {
				t.Log("partitions need root: the known-bad case is not run here")
				continue
			}
			sc.Cluster.Netns = pick.NetnsOn
		}
		sc.Load.Workload = gset.Name
		sc.Load.Duration = scenario.Duration(4 * time.Second)
		sc.Load.Rate = "100"
		sc.Chaos.Nemesis = []string{c.nemesis}
		sc.Chaos.Interval = scenario.Duration(time.Second)
		sc.Out = t.TempDir()
		sc.Seed = 3
		out := faultline.RunExpect(t, sc, c.want)
		t.Logf("bug %q under %s: %s", c.bug, c.nemesis, out.Summary.Verdict)
	}
}
