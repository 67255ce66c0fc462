package queue

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// simConfig describes a simulated FIFO queue system under load.
type simConfig struct {
	Seed      uint64
	Messages  int // enqueues attempted
	Queues    int
	Producers int
	Consumers int
	Batch     int
	// Unknown and Fail are the fractions of operations with those outcomes.
	Unknown, Fail float64
	Drain         bool
}

// simOp is one operation of the simulation, before it becomes events.
type simOp struct {
	proc      int
	f, key    string
	call, ret int64 // ret -1: never completed
	t         history.Type
	value     int64   // enqueue
	got       []int64 // dequeue, drain
	reports   bool    // an info dequeue that says what it received
}

// simulate runs producers and consumers against correct FIFO queues: an
// operation takes effect at its invocation; an unknown enqueue takes effect
// or not, an unknown dequeue either reports what it received or took
// nothing (the queue redelivers), a failed operation has no effect. After
// an info the process retires, as in Faultline.
func simulate(cfg simConfig) []simOp {
	rnd := rand.New(rand.NewPCG(cfg.Seed, 1))
	queues := make([][]int64, cfg.Queues)
	heads := make([]int, cfg.Queues)
	type proc struct {
		id       int
		producer bool
		busy     int // index in ops of its in-flight op, -1 idle
	}
	var procs []*proc
	next := 0
	for i := range cfg.Producers + cfg.Consumers {
		procs = append(procs, &proc{id: next, producer: i < cfg.Producers, busy: -1})
		next++
	}
	ops := make([]simOp, 0, cfg.Messages*3)
	var now int64
	sent := 0
	outcome := func() history.Type {
		switch x := rnd.Float64(); {
		case x < cfg.Unknown:
			return history.Info
		case x < cfg.Unknown+cfg.Fail:
			return history.Fail
		}
		return history.OK
	}
	for sent < cfg.Messages || slices.ContainsFunc(procs, func(p *proc) bool { return p.busy >= 0 }) {
		now += 1 + rnd.Int64N(200_000)
		p := procs[rnd.IntN(len(procs))]
		if p.busy >= 0 {
			op := &ops[p.busy]
			op.ret = now
			p.busy = -1
			if op.t == history.Info {
				p.id = next // retired: a fresh process takes its place
				next++
			}
			continue
		}
		if p.producer && sent >= cfg.Messages {
			continue
		}
		q := rnd.IntN(cfg.Queues)
		op := simOp{proc: p.id, key: "q" + strconv.Itoa(q), call: now, ret: -1, t: outcome()}
		if p.producer {
			sent++
			op.f, op.value = FEnqueue, int64(sent)
			if op.t == history.OK || (op.t == history.Info && rnd.IntN(2) == 0) {
				queues[q] = append(queues[q], op.value)
			}
		} else {
			op.f = FDequeue
			op.reports = op.t == history.Info && rnd.IntN(2) == 0
			if op.t == history.OK || op.reports {
				n := min(1+rnd.IntN(cfg.Batch), len(queues[q])-heads[q])
				op.got = slices.Clone(queues[q][heads[q] : heads[q]+n])
				heads[q] += n
			}
		}
		p.busy = len(ops)
		ops = append(ops, op)
	}
	if cfg.Drain {
		for q := range queues {
			now += 1e6
			ops = append(ops, simOp{proc: next, f: FDrain, key: "q" + strconv.Itoa(q), call: now, ret: now + 1e6, t: history.OK,
				got: slices.Clone(queues[q][heads[q]:])})
		}
	}
	return ops
}

// events turns simulated operations into a history, ordered by time.
func events(ops []simOp) []history.Event {
	evs := make([]history.Event, 0, 2*len(ops))
	for i, op := range ops {
		id := uint64(i + 1)
		inv := history.Event{Time: op.call, Type: history.Invoke, Process: history.Process(op.proc), F: op.f, ID: id, Key: op.key, Final: op.f == FDrain}
		if op.f == FEnqueue {
			inv.Data = strconv.AppendInt(nil, op.value, 10)
		}
		evs = append(evs, inv)
		if op.ret < 0 {
			continue
		}
		done := inv
		done.Time, done.Type, done.Data = op.ret, op.t, nil
		if op.got != nil || op.f == FDrain {
			done.Data, _ = json.Marshal(op.got)
			if len(op.got) == 0 {
				done.Data = json.RawMessage("[]")
			}
		}
		evs = append(evs, done)
	}
	slices.SortStableFunc(evs, func(a, b history.Event) int { return int(a.Time - b.Time) })
	return evs
}

// anomaly edits a correct simulated history; it returns the message it
// concerns, or -1 when the history has no place for it.
type anomaly struct {
	name   string
	stat   string
	inject func(ops []simOp, rnd *rand.Rand) int64
}

// deliveredOnce finds a message enqueued ok and delivered exactly once by
// an ok dequeue or the drain: the index of its delivery and the position.
func deliveredOnce(ops []simOp, rnd *rand.Rand) (int, int, int64) {
	okEnq := map[int64]bool{}
	count := map[int64]int{}
	for _, op := range ops {
		if op.f == FEnqueue && op.t == history.OK {
			okEnq[op.value] = true
		}
		for _, v := range op.got {
			count[v]++
		}
	}
	var cands [][2]int
	for i, op := range ops {
		if op.t != history.OK {
			continue
		}
		for j, v := range op.got {
			if okEnq[v] && count[v] == 1 {
				cands = append(cands, [2]int{i, j})
			}
		}
	}
	if len(cands) == 0 {
		return -1, -1, -1
	}
	c := cands[rnd.IntN(len(cands))]
	return c[0], c[1], ops[c[0]].got[c[1]]
}

var anomalies = []anomaly{
	{"drop", "lost", func(ops []simOp, rnd *rand.Rand) int64 {
		i, j, v := deliveredOnce(ops, rnd)
		if i >= 0 {
			ops[i].got = slices.Delete(ops[i].got, j, j+1)
		}
		return v
	}},
	{"duplicate", "duplicated", func(ops []simOp, rnd *rand.Rand) int64 {
		i, _, v := deliveredOnce(ops, rnd)
		if i >= 0 {
			k := len(ops) - 1 - rnd.IntN(len(ops)-i) // a later delivery of the queue, or the drain
			for ; k > i && (ops[k].key != ops[i].key || ops[k].t != history.OK || ops[k].f == FEnqueue); k-- {
			}
			if k == i {
				return -1
			}
			ops[k].got = append(ops[k].got, v)
		}
		return v
	}},
	{"phantom", "unexpected", func(ops []simOp, rnd *rand.Rand) int64 {
		i, _, _ := deliveredOnce(ops, rnd)
		if i < 0 {
			return -1
		}
		ops[i].got = append(ops[i].got, 1<<40)
		return 1 << 40
	}},
	{"failed-delivered", "unexpected", func(ops []simOp, rnd *rand.Rand) int64 {
		i, _, _ := deliveredOnce(ops, rnd)
		for _, op := range ops {
			if i >= 0 && op.f == FEnqueue && op.t == history.Fail && op.key == ops[i].key {
				ops[i].got = append(ops[i].got, op.value)
				return op.value
			}
		}
		return -1
	}},
}

// Generated correct histories are always valid; with one injected anomaly
// they are always invalid, naming the message.
func TestPropertySimulated(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 15
	}
	ctx := context.Background()
	injected := map[string]int{}
	for seed := range uint64(seeds) {
		rnd := rand.New(rand.NewPCG(seed, 2))
		cfg := simConfig{Seed: seed, Messages: 50 + rnd.IntN(500), Queues: 1 + rnd.IntN(4), Producers: 1 + rnd.IntN(5),
			Consumers: 1 + rnd.IntN(5), Batch: 1 + rnd.IntN(4), Unknown: 0.1 * rnd.Float64(), Fail: 0.1 * rnd.Float64(), Drain: true}
		ops := simulate(cfg)
		c := &Checker{Batch: cfg.Batch, Redelivers: true}
		r := c.Check(ctx, checkers.NewInput(events(ops), ""))
		if r.Verdict != checkers.Valid {
			t.Fatalf("seed %d %+v: %s on a correct history: %s\n%s", seed, cfg, r.Verdict, r.Summary, r.Explanation)
		}
		// Without Redelivers, nothing is missing: still valid.
		if r := (&Checker{Batch: cfg.Batch}).Check(ctx, checkers.NewInput(events(ops), "")); r.Verdict != checkers.Valid {
			t.Fatalf("seed %d: %s without Redelivers: %s", seed, r.Verdict, r.Summary)
		}
		// No drain: never valid by absence when something is undelivered.
		cfg.Drain = false
		nd := simulate(cfg)
		if r := c.Check(ctx, checkers.NewInput(events(nd), "")); r.Verdict == checkers.Invalid ||
			(r.Stats["acknowledged_unverified"] > 0) != (r.Verdict == checkers.Unknown) {
			t.Fatalf("seed %d without a drain: %s (%v): %s", seed, r.Verdict, r.Stats, r.Summary)
		}
		for _, a := range anomalies {
			bad := slices.Clone(ops)
			for i := range bad {
				bad[i].got = slices.Clone(bad[i].got)
			}
			v := a.inject(bad, rnd)
			if v < 0 {
				continue
			}
			injected[a.name]++
			r := c.Check(ctx, checkers.NewInput(events(bad), ""))
			if r.Verdict != checkers.Invalid || r.Stats[a.stat] != 1 {
				t.Fatalf("seed %d %s of %d: %s %v, want invalid with one %s: %s", seed, a.name, v, r.Verdict, r.Stats, a.stat, r.Summary)
			}
			d := r.Details.(Details)
			list := map[string][]Finding{"lost": d.Lost, "duplicated": d.Duplicated, "unexpected": d.Unexpected}[a.stat]
			if len(list) != 1 || list[0].Message != v {
				t.Fatalf("seed %d %s: findings %+v, want message %d", seed, a.name, list, v)
			}
		}
	}
	for _, a := range anomalies {
		if injected[a.name] < seeds/2 {
			t.Errorf("%s injected in only %d of %d histories", a.name, injected[a.name], seeds)
		}
	}
}

// BenchmarkQueue checks a history of 1M messages (4 queues, 16 producers,
// 16 consumers, batches up to 4, 1% unknown and 1% failed outcomes) and
// reports the time of a check and its peak heap above the history's.
//
//	go test -run '^$' -bench Queue -benchtime 1x ./checkers/queue
func BenchmarkQueue(b *testing.B) {
	ops := simulate(simConfig{Seed: 1, Messages: 1_000_000, Queues: 4, Producers: 16, Consumers: 16, Batch: 4, Unknown: 0.01, Fail: 0.01, Drain: true})
	in := checkers.NewInput(events(ops), "")
	ops = nil
	var r checkers.Result
	var took time.Duration
	peak, held := peakHeap(func() {
		for b.Loop() {
			t0 := time.Now()
			r = (&Checker{Batch: 4, Redelivers: true}).Check(context.Background(), in)
			took = time.Since(t0)
		}
	})
	if r.Verdict != checkers.Valid {
		b.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
	b.ReportMetric(float64(len(in.Ops)), "ops")
	b.ReportMetric(took.Seconds(), "s/check")
	b.ReportMetric(float64(peak-held)/(1<<20), "MiB-peak-above-history")
	b.Logf("%d ops (history %d MiB): check %s, peak heap %d MiB above the history; %s",
		len(in.Ops), held>>20, took, (peak-held)>>20, r.Summary)
}

// peakHeap runs f, sampling the live heap every 2 ms, and returns the peak
// and the heap held before f began (after a GC).
func peakHeap(f func()) (peak, held uint64) {
	runtime.GC()
	held = heapBytes()
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		p := held
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- max(p, heapBytes())
				return
			case <-t.C:
				p = max(p, heapBytes())
			}
		}
	}()
	f()
	close(stop)
	return <-done, held
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
