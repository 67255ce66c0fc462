package load

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/history"
)

// The live counters agree with the load's own counts, snapshots come while
// the load runs, and the last one is marked done.
func TestProgressSnapshots(t *testing.T) {
	srv := httptest.NewServer(&trivialServer{})
	defer srv.Close()
	rec, err := history.Create(filepath.Join(t.TempDir(), "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	w, err := register.NewKeyed(register.KeyedConfig{Kind: register.KindRegister, Slots: 8, OpsPerKey: 100, KeyConcurrency: 2, Mix: register.DefaultMix(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := 1500 * time.Millisecond
	pacer, _ := ParseRate("400", d)
	live := &LiveCounts{}
	l := &Load{Client: etcdClient(t), Nodes: []Node{testNode{"n1", srv.URL}}, Workload: w, Rec: rec, Pacer: pacer,
		Duration: d, MaxInFlight: 64, Timeout: 5 * time.Second, Live: live}
	var mu sync.Mutex
	var snaps []Progress
	stop := WatchProgress(100*time.Millisecond, func(p Progress) {
		mu.Lock()
		snaps = append(snaps, p)
		mu.Unlock()
	}, d, rec.Now, live, nil)
	stats, err := l.Run(context.Background())
	stop()
	stop() // idempotent
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(snaps) < 5 {
		t.Fatalf("%d snapshots in 1.5 s at 100 ms", len(snaps))
	}
	last := snaps[len(snaps)-1]
	if !last.Done || last.Invoked != stats.Invoked || last.OK+last.Fail+last.Info != stats.Completed || last.Total != d || last.Elapsed > d {
		t.Errorf("last snapshot %+v, stats %+v", last, stats)
	}
	mid := snaps[len(snaps)/2]
	if mid.Done || mid.Invoked == 0 || mid.Rate < 100 || mid.Rate > 1000 {
		t.Errorf("snapshot in the middle: %+v (rate 400 wanted, roughly)", mid)
	}
}

type nullRecorder struct{}

func (nullRecorder) Now() int64           { return 0 }
func (nullRecorder) Append(history.Event) {}

// The fault watch follows the nemesis's events: injected, healing, healed.
func TestFaultWatch(t *testing.T) {
	w := &FaultWatch{Recorder: nullRecorder{}}
	nem := func(typ history.Type, f string, fault *history.Fault) {
		w.Append(history.Event{Type: typ, Process: history.Nemesis, F: f, Fault: fault})
	}
	steps := []struct {
		do   func()
		want string
	}{
		{func() { nem(history.Invoke, history.FStart, &history.Fault{Kind: "partition"}) }, ""},
		{func() { nem(history.OK, history.FStart, &history.Fault{Kind: "partition", Nodes: []string{"n1"}}) }, "partition n1"},
		{func() { w.Append(history.Event{Type: history.OK, Process: 3, F: history.FRead}) }, "partition n1"},
		{func() { nem(history.Invoke, history.FStop, &history.Fault{Kind: "partition", Nodes: []string{"n1"}}) }, "partition n1 (healing)"},
		{func() { nem(history.OK, history.FStop, &history.Fault{Kind: "partition"}) }, ""},
		{func() { nem(history.OK, history.FStart, &history.Fault{Kind: "kill", Nodes: []string{"n2"}}) }, "kill n2"},
		{func() { nem(history.Info, history.FStop, &history.Fault{Kind: "kill"}) }, ""},
		{func() { nem(history.Fail, history.FStart, &history.Fault{Kind: "pause"}) }, ""},
	}
	for i, s := range steps {
		s.do()
		if got := w.Current(); got != s.want {
			t.Errorf("step %d: %q, want %q", i, got, s.want)
		}
	}
}
