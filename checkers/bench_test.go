package checkers

import (
	"context"
	"math"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/checkers/synth"
	"github.com/faultline/faultline/history"
)

// benchConfig is the benchmark: 1M reads and writes over 100 keys,
// 1% of them writes with an unknown outcome (and 1% failed operations).
func benchConfig(a synth.Anomaly) synth.Config {
	return synth.Config{Ops: 1_000_000, Keys: 100, Clients: 32, CASFraction: 0, Unknown: 0.01, Fail: 0.01, Seed: 42, Anomaly: a}
}

// BenchmarkLinearizable checks the 1M-operation histories, valid and with one
// stale read late in one key, and reports the peak heap of the check (the
// history included) and, measured in the same run, raw porcupine on the same
// history: partitioned by key, unknown writes left open to the end, bounded
// by FAULTLINE_RAW_TIMEOUT (default 30 s) and a 3 GiB heap so it cannot run
// away. FAULTLINE_RAW_TIMEOUT=0 skips it.
//
//	go test -run '^$' -bench Linearizable -benchtime 1x ./checkers
func BenchmarkLinearizable(b *testing.B) {
	rawTimeout := 30 * time.Second
	if s := os.Getenv("FAULTLINE_RAW_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			b.Fatalf("FAULTLINE_RAW_TIMEOUT: %v", err)
		}
		rawTimeout = d
	}
	for _, c := range []struct {
		name    string
		anomaly synth.Anomaly
		want    Verdict
	}{{"valid", synth.None, Valid}, {"violation", synth.StaleRead, Invalid}} {
		b.Run(c.name, func(b *testing.B) {
			ops, inj := synth.Generate(benchConfig(c.anomaly))
			if c.anomaly != synth.None && inj == nil {
				b.Fatal("the generator found no place for the anomaly")
			}
			in := &Input{Ops: ops}
			runtime.GC()
			// The history itself, held throughout: part of the peak.
			held := HeapBytes()
			var r Result
			var took, cpu time.Duration
			peak := peakHeap(func() {
				for b.Loop() {
					t0, c0 := time.Now(), cpuTime()
					r = (&Linearizable{Budget: 30 * time.Second}).Check(context.Background(), in)
					took, cpu = time.Since(t0), cpuTime()-c0
					if r.Verdict != c.want {
						b.Fatalf("verdict %s, want %s: %s\n%s", r.Verdict, c.want, r.Summary, r.Explanation)
					}
					if c.want == Invalid && (len(r.InvalidKeys) != 1 || r.InvalidKeys[0] != inj.Key) {
						b.Fatalf("invalid keys %v, want [%s]", r.InvalidKeys, inj.Key)
					}
				}
			})
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
			b.ReportMetric(float64(held)/(1<<20), "history-MB")
			b.ReportMetric(float64(len(ops))/took.Seconds(), "ops/s")
			// CPU time (all threads, GC included) does not depend on what
			// else the machine is running; wall time does.
			b.ReportMetric(cpu.Seconds(), "cpu-s")
			b.ReportMetric(float64(r.Stats["porcupine_calls"]), "porcupine-calls")
			b.Logf("%s: %v (explaining %d ms), peak heap %d MiB, %d spans, %d porcupine calls", c.name, took.Round(time.Millisecond),
				r.Stats["explain_ms"], peak>>20, r.Stats["spans"], r.Stats["porcupine_calls"])
			if r.Explanation != "" {
				b.Logf("explanation:\n%s", r.Explanation)
			}
			if rawTimeout <= 0 {
				return
			}
			b.StopTimer()
			runtime.GC()
			var res porcupine.CheckResult
			var rawTook time.Duration
			rawPeak := peakHeap(func() {
				t0 := time.Now()
				res = rawPorcupine(ops, rawTimeout, 3<<30, false)
				rawTook = time.Since(t0)
			})
			decided := 0.0
			if res != porcupine.Unknown {
				decided = 1
			}
			b.ReportMetric(rawTook.Seconds(), "raw-s")
			b.ReportMetric(float64(rawPeak)/(1<<20), "raw-peak-MB")
			b.ReportMetric(decided, "raw-decided")
			// How many times faster: a lower bound when raw did not decide.
			b.ReportMetric(rawTook.Seconds()/took.Seconds(), "raw/ours")
			b.Logf("raw porcupine: %s after %v, peak heap %d MiB", res, rawTook.Round(time.Millisecond), rawPeak>>20)
		})
	}
}

// rawPorcupine is the direct check: every operation of a key in one
// porcupine search, failed operations and unknown reads dropped, unknown
// writes open until the end of time. With maybe, an unknown write or cas
// may also not happen at all (the model's state is then the set of values
// the key may hold, as etcd's robustness tests do): that is exact, with cas
// too. Without it, an unknown write must happen, which is exact for blind
// writes only (it can always happen last). It gives up after timeout or
// when the heap passes limit.
func rawPorcupine(ops []history.Op, timeout time.Duration, limit uint64, maybe bool) porcupine.CheckResult {
	var hist []porcupine.Operation
	for _, op := range ops {
		if op.Type == history.Fail || op.F == history.FRead && op.Type != history.OK {
			continue
		}
		ret := op.Return
		if op.Type == history.Info {
			ret = math.MaxInt64
		}
		out := &RegisterOutput{}
		if op.F == history.FRead {
			out.Value = op.Value
		}
		in := &rawInput{RegisterInput: RegisterInput{F: op.F, From: op.From}, maybe: maybe && op.Type == history.Info}
		if op.F != history.FRead {
			in.Value = op.Value
		}
		hist = append(hist, porcupine.Operation{ClientId: int(op.Process), Input: in, Call: op.Call, Output: out, Return: ret,
			Metadata: op.Key})
	}
	var over atomic.Bool
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if HeapBytes() > limit {
					over.Store(true)
				}
			}
		}
	}()
	defer close(done)
	set := registerModel([]string{"", "-"}, nil, true) // for its Equal and Hash on sets
	m := porcupine.Model{Equal: set.Equal, Hash: set.Hash}
	m.Init = func() interface{} { return stateSet{""} }
	m.Step = func(state, input, output interface{}) (bool, interface{}) {
		if over.Load() {
			return false, state
		}
		s, in := state.(stateSet), input.(*rawInput)
		ok, next := setStep(s, &in.RegisterInput, output.(*RegisterOutput))
		if !in.maybe {
			return ok, next
		}
		if !ok {
			return true, s // it did not happen
		}
		u := append(stateSet{}, s...)
		for _, v := range next.(stateSet) {
			if _, found := slices.BinarySearch(u, v); !found {
				u = append(u, v)
			}
		}
		slices.Sort(u)
		return true, u
	}
	m.Partition = func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range h {
			k := op.Metadata.(string)
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, p := range byKey {
			out = append(out, p)
		}
		return out
	}
	res := porcupine.CheckOperationsTimeout(m, hist, timeout)
	if over.Load() {
		return porcupine.Unknown
	}
	return res
}

type rawInput struct {
	RegisterInput
	maybe bool
}

// peakHeap runs f and returns the largest heap seen while it ran.
func peakHeap(f func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if h := HeapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	<-stopped
	return peak.Load()
}

// BenchmarkRevisionOrder checks an etcd-like history (every completed
// operation reports its revision, one counter across keys; 100,000
// operations, 32 clients over 8 keys, 10 ms latency and 0.1 ms between a
// client's operations, so that a key is rarely quiet) with and without
// revision ordering, both in the same run, and reports the cost of each and
// their ratio. The verdicts must agree.
//
//	go test -run '^$' -bench RevisionOrder -benchtime 1x ./checkers
func BenchmarkRevisionOrder(b *testing.B) {
	for _, c := range []struct {
		name    string
		anomaly synth.Anomaly
		want    Verdict
	}{{"valid", synth.None, Valid}, {"violation", synth.StaleRead, Invalid}} {
		b.Run(c.name, func(b *testing.B) {
			cfg := synth.Config{Ops: 100_000, Keys: 8, Clients: 32, CASFraction: 0.2, Unknown: 0.01, Fail: 0.01,
				Latency: 10 * time.Millisecond, Think: 100 * time.Microsecond, Seed: 35, Anomaly: c.anomaly, Revisions: true}
			ops, inj := synth.Generate(cfg)
			if c.anomaly != synth.None && inj == nil {
				b.Fatal("the generator found no place for the anomaly")
			}
			in := &Input{Ops: ops}
			var cost [2]time.Duration
			var res [2]Result
			for b.Loop() {
				for k, ignore := range []bool{false, true} {
					runtime.GC()
					c0 := cpuTime()
					res[k] = (&Linearizable{Budget: 60 * time.Second, IgnoreRevisions: ignore}).Check(context.Background(), in)
					cost[k] = cpuTime() - c0
					if res[k].Verdict != c.want {
						b.Fatalf("ignore revisions %t: verdict %s, want %s: %s", ignore, res[k].Verdict, c.want, res[k].Summary)
					}
				}
			}
			b.ReportMetric(cost[0].Seconds(), "ordered-cpu-s")
			b.ReportMetric(cost[1].Seconds(), "recorded-cpu-s")
			b.ReportMetric(cost[1].Seconds()/cost[0].Seconds(), "recorded/ordered")
			b.ReportMetric(float64(res[0].Stats["porcupine_calls"]), "ordered-porcupine-calls")
			b.ReportMetric(float64(res[1].Stats["porcupine_calls"]), "recorded-porcupine-calls")
			b.Logf("%s: with revision order %v CPU (%d keys ordered, %d checked again as recorded, %d spans, %d without search), without %v CPU (%d spans, %d without search)",
				c.name, cost[0].Round(time.Millisecond), res[0].Stats["keys_ordered_by_revision"], res[0].Stats["keys_rechecked_as_recorded"],
				res[0].Stats["spans"], res[0].Stats["spans_without_search"], cost[1].Round(time.Millisecond), res[1].Stats["spans"], res[1].Stats["spans_without_search"])
		})
	}
}
