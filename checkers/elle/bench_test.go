//go:build unix

package elle

import (
	"context"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/checkers"
)

// BenchmarkListAppend is the benchmark: 100,000 list-append
// transactions of up to 4 micro-operations over 1,000 keys from 20
// clients (1% indeterminate, 1% failed), checked strict-serializable
// (real-time edges included), valid and with one G-single planted. It
// reports the peak heap of the check (the history included) and the time
// per transaction.
//
//	go test -run '^$' -bench ListAppend -benchtime 1x ./checkers/elle
func BenchmarkListAppend(b *testing.B) { benchWorkload(b, ListAppend) }

// BenchmarkRWRegister is the same for registers (writes follow reads on).
func BenchmarkRWRegister(b *testing.B) { benchWorkload(b, RWRegister) }

func benchWorkload(b *testing.B, w Workload) {
	for _, c := range []struct {
		name  string
		plant string
		want  checkers.Verdict
	}{{"valid", "", checkers.Valid}, {"g-single", GSingle, checkers.Invalid}} {
		b.Run(c.name, func(b *testing.B) {
			evs := generate(genConfig{workload: w, txns: 100_000, keys: 1000, procs: 20, maxMops: 4, info: 0.01, fail: 0.01, seed: 42, plant: c.plant})
			in := checkers.NewInput(evs, "")
			chk, err := New(w, WithModel(StrictSerializable))
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			held := checkers.HeapBytes()
			var r checkers.Result
			var took, cpu time.Duration
			peak := peakHeap(func() {
				for b.Loop() {
					t0, c0 := time.Now(), cpuTime()
					r = chk.Check(context.Background(), in)
					took, cpu = time.Since(t0), cpuTime()-c0
				}
			})
			if r.Verdict != c.want || c.plant != "" && r.Stats["anomaly_"+c.plant] == 0 {
				b.Fatalf("verdict %s, want %s: %s\n%s", r.Verdict, c.want, r.Summary, r.Explanation)
			}
			n := r.Stats["txns"]
			b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
			b.ReportMetric(float64(held)/(1<<20), "history-MB")
			b.ReportMetric(float64(took.Nanoseconds())/float64(n), "ns/txn")
			// CPU time (all threads, GC included) does not depend on what
			// else the machine runs; wall time does.
			b.ReportMetric(cpu.Seconds(), "cpu-s")
			b.Logf("%s: %d txns in %v (%.1f µs/txn), peak heap %d MiB (history %d MiB); %s",
				c.name, n, took.Round(time.Millisecond), float64(took.Microseconds())/float64(n), peak>>20, held>>20, r.Summary)
		})
	}
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakHeap samples the live heap every 5 ms while f runs.
func peakHeap(f func()) uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			if h := checkers.HeapBytes(); h > peak.Load() {
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
