package stream

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
	"github.com/faultline/faultline/checkers/delivery"
	"github.com/faultline/faultline/history"
)

// simConfig describes a simulated log system under load.
type simConfig struct {
	Seed      uint64
	Messages  int // sends attempted
	Streams   int
	Producers int
	Consumers int
	Batch     int
	// Unknown and Fail are the fractions of operations with those outcomes;
	// Seek the fraction of consumer operations that move their position.
	Unknown, Fail, Seek float64
	// Sparse leaves gaps between offsets (offsets that never hold a message).
	Sparse  bool
	ReadAll bool
}

// simOp is one operation of the simulation, before it becomes events.
type simOp struct {
	proc      int
	f, key    string
	call, ret int64 // ret -1: never completed
	t         history.Type
	value     int64 // send
	ackOff    int64
	ackHow    int // 0: no offset, 1: [offset, value], 2: version
	recs      []delivery.Pair
}

// simulate runs producers and consumers against correct logs: a send is
// appended at its invocation (an unknown one, or not), each consumer
// process reads from its own position forward, and sometimes seeks
// (recorded as an assign). After an info the process retires and a fresh
// one takes its place, resuming where it left off.
func simulate(cfg simConfig) []simOp {
	rnd := rand.New(rand.NewPCG(cfg.Seed, 3))
	type log struct {
		recs []delivery.Pair
		next int64
	}
	logs := make([]log, cfg.Streams)
	type proc struct {
		id       int
		producer bool
		busy     int
		pos      []int
	}
	var procs []*proc
	next := 0
	for i := range cfg.Producers + cfg.Consumers {
		procs = append(procs, &proc{id: next, producer: i < cfg.Producers, busy: -1, pos: make([]int, cfg.Streams)})
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
				p.id = next
				next++
			}
			continue
		}
		if p.producer && sent >= cfg.Messages {
			continue
		}
		s := rnd.IntN(cfg.Streams)
		l := &logs[s]
		op := simOp{proc: p.id, key: "s" + strconv.Itoa(s), call: now, ret: -1, t: outcome()}
		switch {
		case p.producer:
			sent++
			op.f, op.value = FSend, int64(sent)
			if op.t == history.OK || (op.t == history.Info && rnd.IntN(2) == 0) {
				l.recs = append(l.recs, delivery.Pair{Offset: l.next, Value: op.value})
				op.ackOff, op.ackHow = l.next, rnd.IntN(3)
				l.next++
				if cfg.Sparse && rnd.IntN(3) == 0 {
					l.next += 1 + rnd.Int64N(3)
				}
			}
		case rnd.Float64() < cfg.Seek:
			op.f, op.t = FAssign, history.OK
			p.pos[s] = rnd.IntN(len(l.recs) + 1)
		default:
			op.f = FPoll
			if op.t == history.OK || (op.t == history.Info && rnd.IntN(2) == 0) {
				n := min(1+rnd.IntN(cfg.Batch), len(l.recs)-p.pos[s])
				op.recs = slices.Clone(l.recs[p.pos[s] : p.pos[s]+n])
				p.pos[s] += n
			}
		}
		p.busy = len(ops)
		ops = append(ops, op)
	}
	if cfg.ReadAll {
		for s := range logs {
			now += 1e6
			ops = append(ops, simOp{proc: next, f: FReadAll, key: "s" + strconv.Itoa(s), call: now, ret: now + 1e6, t: history.OK,
				recs: slices.Clone(logs[s].recs)})
			next++
		}
	}
	return ops
}

// events turns simulated operations into a history, ordered by time.
func events(ops []simOp) []history.Event {
	evs := make([]history.Event, 0, 2*len(ops))
	var buf []byte
	for i, op := range ops {
		id := uint64(i + 1)
		inv := history.Event{Time: op.call, Type: history.Invoke, Process: history.Process(op.proc), F: op.f, ID: id, Key: op.key, Final: op.f == FReadAll}
		if op.f == FSend {
			inv.Data = strconv.AppendInt(nil, op.value, 10)
		}
		evs = append(evs, inv)
		if op.ret < 0 {
			continue
		}
		done := inv
		done.Time, done.Type, done.Data = op.ret, op.t, nil
		switch {
		case op.f == FSend && op.t == history.OK && op.ackHow == 1:
			done.Data = []byte("[" + strconv.FormatInt(op.ackOff, 10) + "," + strconv.FormatInt(op.value, 10) + "]")
		case op.f == FSend && op.t == history.OK && op.ackHow == 2:
			done.Version = strconv.AppendInt(nil, op.ackOff, 10)
		case op.f == FPoll || op.f == FReadAll:
			buf = append(buf[:0], '[')
			for j, p := range op.recs {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, '[')
				buf = strconv.AppendInt(buf, p.Offset, 10)
				buf = append(buf, ',')
				buf = strconv.AppendInt(buf, p.Value, 10)
				buf = append(buf, ']')
			}
			done.Data = append(json.RawMessage(nil), append(buf, ']')...)
		}
		evs = append(evs, done)
	}
	slices.SortStableFunc(evs, func(a, b history.Event) int { return int(a.Time - b.Time) })
	return evs
}

type anomaly struct {
	name string
	stat string
	// inject edits a correct history and returns the message it concerns
	// (-1: no place for it here).
	inject func(ops []simOp, rnd *rand.Rand) int64
	// names checks the finding names the message.
	names func(d Details, v int64) bool
}

func readAll(ops []simOp, key string) *simOp {
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i].f == FReadAll && ops[i].key == key {
			return &ops[i]
		}
	}
	return nil
}

// okSends are the acknowledged sends, in invocation order.
func okSends(ops []simOp) []int {
	var out []int
	for i, op := range ops {
		if op.f == FSend && op.t == history.OK {
			out = append(out, i)
		}
	}
	return out
}

func pick[T any](rnd *rand.Rand, xs []T) (T, bool) {
	var zero T
	if len(xs) == 0 {
		return zero, false
	}
	return xs[rnd.IntN(len(xs))], true
}

func hasValue(ms []Message, v int64) bool {
	return slices.ContainsFunc(ms, func(m Message) bool { return m.Value == v })
}

var anomalies = []anomaly{
	{name: "drop", stat: "lost", inject: func(ops []simOp, rnd *rand.Rand) int64 {
		i, ok := pick(rnd, okSends(ops))
		if !ok {
			return -1
		}
		ra := readAll(ops, ops[i].key)
		ra.recs = slices.DeleteFunc(ra.recs, func(p delivery.Pair) bool { return p.Value == ops[i].value })
		return ops[i].value
	}, names: func(d Details, v int64) bool { return hasValue(d.Lost, v) }},

	{name: "duplicate", stat: "duplicates", inject: func(ops []simOp, rnd *rand.Rand) int64 {
		i, ok := pick(rnd, okSends(ops))
		if !ok {
			return -1
		}
		ra := readAll(ops, ops[i].key)
		ra.recs = append(ra.recs, delivery.Pair{Offset: ra.recs[len(ra.recs)-1].Offset + 1, Value: ops[i].value})
		return ops[i].value
	}, names: func(d Details, v int64) bool { return hasValue(d.Duplicates, v) }},

	{name: "reorder", stat: "reordered", inject: func(ops []simOp, rnd *rand.Rand) int64 {
		// Two successive acknowledged sends of one producer to one stream,
		// with no send of unknown outcome of it in between: swap them.
		last := map[[2]string]int{}
		var pairs [][2]int
		for i, op := range ops {
			if op.f != FSend {
				continue
			}
			k := [2]string{strconv.Itoa(op.proc), op.key}
			if j, ok := last[k]; ok && op.t == history.OK {
				pairs = append(pairs, [2]int{j, i})
			}
			if op.t == history.OK {
				last[k] = i
			}
		}
		pr, ok := pick(rnd, pairs)
		if !ok {
			return -1
		}
		a, b := &ops[pr[0]], &ops[pr[1]]
		va, vb := a.value, b.value
		for i := range ops {
			for j, p := range ops[i].recs {
				switch p.Value {
				case va:
					ops[i].recs[j].Value = vb
				case vb:
					ops[i].recs[j].Value = va
				}
			}
		}
		a.ackOff, b.ackOff = b.ackOff, a.ackOff
		return va
	}, names: func(d Details, v int64) bool {
		return slices.ContainsFunc(d.Reordered, func(r Reorder) bool { return r.FirstValue == v })
	}},

	{name: "skip", stat: "poll_skips", inject: func(ops []simOp, rnd *rand.Rand) int64 {
		// The middle record of a poll of 3 or more, at an offset its
		// consumer reads nowhere else.
		type at struct {
			proc int
			key  string
			off  int64
		}
		read := map[at]int{}
		for _, op := range ops {
			if op.f == FPoll {
				for _, p := range op.recs {
					read[at{op.proc, op.key, p.Offset}]++
				}
			}
		}
		var cands []int
		for i, op := range ops {
			if op.f == FPoll && op.t == history.OK && len(op.recs) >= 3 && read[at{op.proc, op.key, op.recs[1].Offset}] == 1 {
				cands = append(cands, i)
			}
		}
		i, ok := pick(rnd, cands)
		if !ok {
			return -1
		}
		v := ops[i].recs[1].Value
		ops[i].recs = slices.Delete(ops[i].recs, 1, 2)
		return v
	}, names: func(d Details, v int64) bool {
		return slices.ContainsFunc(d.PollSkips, func(s Skip) bool { return slices.Contains(s.Values, v) })
	}},

	{name: "backwards", stat: "nonmonotonic_polls", inject: func(ops []simOp, rnd *rand.Rand) int64 {
		// A poll that follows another of its consumer with records, with no
		// seek between: it reads the previous poll's last record again.
		prev := map[[2]string]int{}
		var pairs [][2]int
		for i, op := range ops {
			k := [2]string{strconv.Itoa(op.proc), op.key}
			switch {
			case op.f == FAssign:
				delete(prev, k)
			case op.f == FPoll && op.t == history.OK && len(op.recs) > 0:
				if j, ok := prev[k]; ok {
					pairs = append(pairs, [2]int{j, i})
				}
				prev[k] = i
			}
		}
		pr, ok := pick(rnd, pairs)
		if !ok {
			return -1
		}
		p := ops[pr[0]].recs[len(ops[pr[0]].recs)-1]
		ops[pr[1]].recs = append([]delivery.Pair{p}, ops[pr[1]].recs...)
		return p.Offset
	}, names: func(d Details, off int64) bool {
		return slices.ContainsFunc(d.NonMonotonic, func(b Backwards) bool { return b.From == off && b.To == off })
	}},

	{name: "ack-offset", stat: "inconsistent_offsets", inject: func(ops []simOp, rnd *rand.Rand) int64 {
		var cands []int
		for _, i := range okSends(ops) {
			if ops[i].ackHow != 0 {
				cands = append(cands, i)
			}
		}
		i, ok := pick(rnd, cands)
		if !ok {
			return -1
		}
		ops[i].ackOff += 1 << 30
		return ops[i].value
	}, names: func(d Details, v int64) bool {
		return slices.ContainsFunc(d.Inconsistent, func(x Inconsistent) bool { return x.Value != nil && *x.Value == v })
	}},
}

// Generated correct histories are always valid; with one injected anomaly
// they are always invalid, naming it.
func TestPropertySimulated(t *testing.T) {
	seeds := 60
	if testing.Short() {
		seeds = 15
	}
	ctx := context.Background()
	injected := map[string]int{}
	for seed := range uint64(seeds) {
		rnd := rand.New(rand.NewPCG(seed, 4))
		cfg := simConfig{Seed: seed, Messages: 50 + rnd.IntN(500), Streams: 1 + rnd.IntN(4), Producers: 1 + rnd.IntN(5),
			Consumers: 1 + rnd.IntN(5), Batch: 1 + rnd.IntN(5), Unknown: 0.1 * rnd.Float64(), Fail: 0.1 * rnd.Float64(),
			Seek: 0.05 * rnd.Float64(), Sparse: rnd.IntN(2) == 0, ReadAll: true}
		ops := simulate(cfg)
		c := &Checker{}
		r := c.Check(ctx, checkers.NewInput(events(ops), ""))
		if r.Verdict != checkers.Valid {
			t.Fatalf("seed %d %+v: %s on a correct history: %s\n%s", seed, cfg, r.Verdict, r.Summary, r.Explanation)
		}
		cfg.ReadAll = false
		if r := c.Check(ctx, checkers.NewInput(events(simulate(cfg)), "")); r.Verdict != checkers.Unknown {
			t.Fatalf("seed %d without read-all: %s, want unknown: %s", seed, r.Verdict, r.Summary)
		}
		for _, a := range anomalies {
			bad := slices.Clone(ops)
			for i := range bad {
				bad[i].recs = slices.Clone(bad[i].recs)
			}
			v := a.inject(bad, rnd)
			if v < 0 {
				continue
			}
			injected[a.name]++
			r := c.Check(ctx, checkers.NewInput(events(bad), ""))
			if r.Verdict != checkers.Invalid || r.Stats[a.stat] != 1 || !a.names(r.Details.(Details), v) {
				t.Fatalf("seed %d %s (%d): %s %v, want invalid with one %s naming it: %s\n%s", seed, a.name, v, r.Verdict, r.Stats, a.stat, r.Summary, r.Explanation)
			}
		}
	}
	for _, a := range anomalies {
		if injected[a.name] < seeds/2 {
			t.Errorf("%s injected in only %d of %d histories", a.name, injected[a.name], seeds)
		}
	}
}

// BenchmarkLog checks a history of 1M messages (8 streams, 16 producers,
// 16 consumers reading every stream, batches up to 8, 1% unknown and 1%
// failed outcomes, 0.1% seeks) and reports the time of a check and its peak
// heap above the history's.
//
//	go test -run '^$' -bench Log -benchtime 1x ./checkers/stream
func BenchmarkLog(b *testing.B) {
	ops := simulate(simConfig{Seed: 1, Messages: 1_000_000, Streams: 8, Producers: 16, Consumers: 16, Batch: 8,
		Unknown: 0.01, Fail: 0.01, Seek: 0.001, ReadAll: true})
	in := checkers.NewInput(events(ops), "")
	ops = nil
	var r checkers.Result
	var took time.Duration
	peak, held := peakHeap(func() {
		for b.Loop() {
			t0 := time.Now()
			r = (&Checker{}).Check(context.Background(), in)
			took = time.Since(t0)
		}
	})
	if r.Verdict != checkers.Valid {
		b.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
	b.ReportMetric(float64(len(in.Ops)), "ops")
	b.ReportMetric(took.Seconds(), "s/check")
	b.ReportMetric(float64(peak-held)/(1<<20), "MiB-peak-above-history")
	b.Logf("%d ops, %d records read (history %d MiB): check %s, peak heap %d MiB above the history; %s",
		len(in.Ops), r.Stats["delivered"], held>>20, took, (peak-held)>>20, r.Summary)
}

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
