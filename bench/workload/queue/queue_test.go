package queue

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// Values are unique, every queue is used, the mix is as asked, dequeues
// carry no value, and the seed fixes the sequence.
func TestGenerator(t *testing.T) {
	c, err := Parse(workload.Config{Seed: 3, Options: map[string]string{"queues": "3", "enqueue-fraction": "0.7", "batch": "4"}})
	if err != nil || c.Queues != 3 || c.Batch != 4 {
		t.Fatalf("%+v %v", c, err)
	}
	run := func() []history.Event {
		g := New(c)
		var ops []history.Event
		for id := uint64(1); id <= 5000; id++ {
			op := history.Event{ID: id}
			g.Next(&op)
			ops = append(ops, op)
		}
		return ops
	}
	ops := run()
	seen, perQueue, enq := map[string]bool{}, map[string]int{}, 0
	for _, op := range ops {
		perQueue[op.Key]++
		switch op.F {
		case FEnqueue:
			enq++
			if _, err := strconv.ParseInt(string(op.Data), 10, 64); err != nil || seen[string(op.Data)] {
				t.Fatalf("enqueue value %q not a fresh integer", op.Data)
			}
			seen[string(op.Data)] = true
		case FDequeue:
			if op.Data != nil || op.Value != "" {
				t.Fatalf("dequeue invoked with a value: %+v", op)
			}
		default:
			t.Fatalf("op %q", op.F)
		}
	}
	if len(perQueue) != 3 || perQueue["q0"] == 0 || perQueue["q2"] == 0 {
		t.Errorf("queues used: %v", perQueue)
	}
	if enq < 3200 || enq > 3800 {
		t.Errorf("%d enqueues of 5000, want about 70%%", enq)
	}
	again := run()
	for i := range ops {
		if ops[i].F != again[i].F || ops[i].Key != again[i].Key || string(ops[i].Data) != string(again[i].Data) {
			t.Fatalf("op %d differs between two runs of one seed", i)
		}
	}
}

func TestParseRefusesBadOptions(t *testing.T) {
	for _, o := range []map[string]string{
		{"queues": "0"}, {"queues": "x"}, {"enqueue-fraction": "1"}, {"batch": "0"}, {"nope": "1"},
	} {
		_, err := Parse(workload.Config{Options: o})
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "load.workload_options") {
			t.Errorf("%v: %v", o, err)
		}
		if _, err := (Workload{}).Ops(workload.Config{Options: o}); err == nil {
			t.Errorf("Ops accepted %v", o)
		}
	}
}

// finalEnv records the final phase's operations; the first drain of each
// queue fails, the second is ok.
type finalEnv struct {
	mu    sync.Mutex
	ops   []history.Event
	tries map[string]int
	proc  history.Process
}

func (f *finalEnv) Nodes() int { return 3 }
func (f *finalEnv) NewProcess() history.Process {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.proc++
	return f.proc
}
func (f *finalEnv) Do(_ context.Context, op *history.Event, node int) targets.Outcome {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, *op)
	f.tries[op.Key]++
	if f.tries[op.Key] == 1 {
		return targets.Outcome{Type: history.Fail}
	}
	return targets.Outcome{Type: history.OK, Data: []byte("[]")}
}

func TestFinalDrainsEveryQueue(t *testing.T) {
	w := Workload{}
	gen, err := w.New(workload.Config{Options: map[string]string{"queues": "4"}})
	if err != nil {
		t.Fatal(err)
	}
	env := &finalEnv{tries: map[string]int{}}
	st := w.Final(context.Background(), gen, env)
	if st.Keys != 4 || st.Read != 4 || st.Attempts != 8 {
		t.Errorf("stats %+v, want 4 queues drained in 8 attempts", st)
	}
	for _, op := range env.ops {
		if op.F != FDrain || op.Data != nil {
			t.Errorf("final op %+v", op)
		}
	}
	for _, q := range Names(4) {
		if env.tries[q] != 2 {
			t.Errorf("queue %s drained %d times, want 2 (a failed drain is retried)", q, env.tries[q])
		}
	}
}
