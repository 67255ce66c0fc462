package checkers

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// op builds one operation: f on key k, value v, [call, ret], outcome t.
func op(id uint64, p int, f, k, v string, call, ret int64, t history.Type) []history.Event {
	inv := history.Event{Time: call, Type: history.Invoke, Process: history.Process(p), F: f, ID: id, Key: k}
	if f != history.FRead {
		inv.Value = v
	}
	done := inv
	done.Type, done.Time = t, ret
	if f == history.FRead {
		done.Value = v
	}
	if ret < 0 {
		return []history.Event{inv}
	}
	return []history.Event{inv, done}
}

func hist(ops ...[]history.Event) []history.Event {
	var evs []history.Event
	for _, o := range ops {
		evs = append(evs, o...)
	}
	// Order by time as a recorder would have written them.
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Time < evs[j-1].Time; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	return evs
}

const (
	R = history.FRead
	W = history.FWrite
)

func TestLinearizableHandBuilt(t *testing.T) {
	ok, fail, info := history.OK, history.Fail, history.Info
	cases := []struct {
		name string
		evs  []history.Event
		want Verdict
	}{
		{"sequential write then read", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "1", 20, 30, ok)), Valid},
		{"read of initial nil", hist(op(1, 0, R, "a", "", 0, 10, ok), op(2, 1, W, "a", "1", 20, 30, ok)), Valid},
		{"concurrent read may see either", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "a", "2", 20, 40, ok),
			op(3, 2, R, "a", "1", 25, 35, ok)), Valid},
		{"stale read after acknowledged write", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
			op(3, 1, R, "a", "1", 40, 50, ok)), Invalid},
		{"read sees a value never written", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "7", 20, 30, ok)), Invalid},
		{"failed write seen by a read", hist(op(1, 0, W, "a", "1", 0, 10, fail), op(2, 1, R, "a", "1", 20, 30, ok)), Invalid},
		{"unknown write seen later is fine", hist(op(1, 0, W, "a", "1", 0, 10, info), op(2, 1, R, "a", "1", 100, 110, ok)), Valid},
		{"unknown write never completed, seen", hist(op(1, 0, W, "a", "1", 0, -1, info), op(2, 1, R, "a", "1", 100, 110, ok)), Valid},
		{"unknown write unseen is dropped", hist(op(1, 0, W, "a", "1", 0, 10, info), op(2, 1, R, "a", "", 100, 110, ok)), Valid},
		{"read before the write was invoked", hist(op(1, 1, R, "a", "1", 0, 10, ok), op(2, 0, W, "a", "1", 20, 30, info)), Invalid},
		{"failed reads carry nothing", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "zzz", 20, 30, fail)), Valid},
		{"keys are independent", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "b", "2", 0, 10, ok),
			op(3, 2, R, "a", "1", 20, 30, ok), op(4, 3, R, "b", "2", 20, 30, ok)), Valid},
		{"lost write: later read sees the older value", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "1", 15, 18, ok),
			op(3, 0, W, "a", "2", 20, 30, ok), op(4, 1, R, "a", "2", 35, 38, ok), op(5, 2, R, "a", "1", 40, 50, ok)), Invalid},
		{"nothing to check", nil, Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := (&Linearizable{Budget: 10 * time.Second}).Check(context.Background(), NewInput(c.evs, ""))
			if r.Verdict != c.want {
				t.Fatalf("verdict %s, want %s (%s)", r.Verdict, c.want, r.Summary)
			}
		})
	}
}

func TestCASModel(t *testing.T) {
	cas := func(id uint64, p int, k, from, to string, call, ret int64, ty history.Type) []history.Event {
		inv := history.Event{Time: call, Type: history.Invoke, Process: history.Process(p), F: history.FCAS, ID: id, Key: k, Value: to, From: from}
		done := inv
		done.Type, done.Time = ty, ret
		return []history.Event{inv, done}
	}
	valid := hist(op(1, 0, W, "a", "1", 0, 10, history.OK), cas(2, 1, "a", "1", "2", 20, 30, history.OK), op(3, 2, R, "a", "2", 40, 50, history.OK))
	invalid := hist(op(1, 0, W, "a", "1", 0, 10, history.OK), cas(2, 1, "a", "5", "2", 20, 30, history.OK))
	// Two concurrent cas from the same value cannot both succeed.
	double := hist(op(1, 0, W, "a", "1", 0, 10, history.OK), cas(2, 1, "a", "1", "2", 20, 30, history.OK),
		cas(3, 2, "a", "1", "3", 20, 30, history.OK))
	for name, c := range map[string]struct {
		evs  []history.Event
		want Verdict
	}{"valid": {valid, Valid}, "wrong from": {invalid, Invalid}, "double cas": {double, Invalid}} {
		r := (&Linearizable{}).Check(context.Background(), NewInput(c.evs, ""))
		if r.Verdict != c.want {
			t.Errorf("%s: verdict %s, want %s", name, r.Verdict, c.want)
		}
	}
}

func TestInvalidWritesVisualization(t *testing.T) {
	dir := t.TempDir()
	evs := hist(op(1, 0, W, "a", "1", 0, 10, history.OK), op(2, 0, W, "a", "2", 20, 30, history.OK),
		op(3, 1, R, "a", "1", 40, 50, history.OK))
	evs = append(evs,
		history.Event{Time: 15, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: "partition"}},
		history.Event{Time: 45, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition"}})
	r := (&Linearizable{}).Check(context.Background(), NewInput(evs, dir))
	if r.Verdict != Invalid || len(r.Artifacts) != 1 {
		t.Fatalf("verdict %s artifacts %v", r.Verdict, r.Artifacts)
	}
	b, err := os.ReadFile(filepath.Join(dir, r.Artifacts[0]))
	if err != nil || len(b) == 0 {
		t.Fatalf("visualization: %v", err)
	}
}

func TestOverall(t *testing.T) {
	if Overall([]Result{{Verdict: Valid}, {Verdict: Unknown}}) != Unknown {
		t.Error("unknown must not pass")
	}
	if Overall([]Result{{Verdict: Unknown}, {Verdict: Invalid}}) != Invalid {
		t.Error("invalid wins")
	}
	if Overall(nil) != Unknown {
		t.Error("no checks is not a pass")
	}
}
