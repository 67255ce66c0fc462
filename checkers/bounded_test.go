package checkers

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// hardAndEasy is one key whose search blows up (40 concurrent writes and a
// concurrent read of a value none wrote: porcupine tries every subset of
// the writes) and 50 easy keys.
func hardAndEasy() []history.Event {
	var parts [][]history.Event
	for i := range 40 {
		parts = append(parts, op(uint64(i+1), i, W, "a-hard", fmt.Sprint(i+1), int64(i), 1e9+int64(i), ok))
	}
	parts = append(parts, op(100, 99, R, "a-hard", "phantom", 5e8, 2e9, ok))
	id := uint64(1000)
	for k := range 50 {
		key := fmt.Sprintf("k%d", k)
		for i := range 10 {
			at := int64(i) * 100
			parts = append(parts, op(id, 0, W, key, fmt.Sprint(id), at, at+10, ok), op(id+1, 1, R, key, fmt.Sprint(id), at+20, at+30, ok))
			id += 2
		}
	}
	return hist(parts...)
}

// A key that blows up is left unknown, by name and with its reason, and the
// other keys are still decided: one worker, and the hard key comes first.
func TestBudgetLeavesOnlyTheHardKeyUnknown(t *testing.T) {
	in := NewInput(hardAndEasy(), "")
	start := time.Now()
	r := (&Linearizable{Budget: 2 * time.Second, Workers: 1, MemoryLimit: HeapBytes() + 4<<30}).Check(context.Background(), in)
	if r.Verdict != Unknown || !slices.Equal(r.UnknownKeys, []string{"a-hard"}) || len(r.InvalidKeys) > 0 {
		t.Fatalf("verdict %s, unknown %v, invalid %v: %s", r.Verdict, r.UnknownKeys, r.InvalidKeys, r.Summary)
	}
	if !strings.Contains(r.Explanation, "a-hard: undecided: the time budget ran out") {
		t.Errorf("explanation: %s", r.Explanation)
	}
	if r.Stats["keys"] != 51 {
		t.Errorf("stats %v", r.Stats)
	}
	t.Logf("%v: %s (%d turns)", time.Since(start).Round(time.Millisecond), r.Summary, r.Stats["turns"])
}

// The memory watchdog stops the search that holds the memory, long before
// the time budget, and only that one.
func TestMemoryWatchdogStopsTheHeaviestSearch(t *testing.T) {
	in := NewInput(hardAndEasy(), "")
	start := time.Now()
	// A long budget gives the hard key long slices: the watchdog, not a
	// slice, must be what stops it.
	r := (&Linearizable{Budget: 10 * time.Minute, MemoryLimit: HeapBytes() + 8<<20}).Check(context.Background(), in)
	if r.Verdict != Unknown || !slices.Equal(r.UnknownKeys, []string{"a-hard"}) || r.Stats["memory_stops"] < 1 {
		t.Fatalf("verdict %s, unknown %v, stats %v: %s", r.Verdict, r.UnknownKeys, r.Stats, r.Summary)
	}
	if !strings.Contains(r.Explanation, "memory watchdog") {
		t.Errorf("explanation: %s", r.Explanation)
	}
	if d := time.Since(start); d > 2*time.Minute {
		t.Errorf("took %v: the watchdog did not act before the budget", d)
	}
	t.Logf("%v: %s, peak heap %d MiB", time.Since(start).Round(time.Millisecond), r.Summary, r.Stats["peak_heap_mb"])
}

// Cancelling the context leaves keys unknown, never valid.
func TestCancelledCheckIsUnknown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := (&Linearizable{}).Check(ctx, NewInput(hardAndEasy(), ""))
	if r.Verdict != Unknown || len(r.UnknownKeys) != 51 || !strings.Contains(r.Explanation, "cancelled") {
		t.Fatalf("verdict %s, %d unknown: %s", r.Verdict, len(r.UnknownKeys), r.Explanation)
	}
}

// The watchdog stops the search with the most steps, and only it, when the
// live heap is over the limit; it remembers the peak.
func TestWatchdogPicksTheHeaviest(t *testing.T) {
	var heavy, light searcher
	heavy.steps.Store(1_000_000)
	light.steps.Store(10)
	// The heap now may still hold the garbage of the tests before (it
	// counts until swept): without it, the 128 MiB below are over the limit.
	runtime.GC()
	w := newWatchdog(HeapBytes() + 32<<20)
	w.watch(&heavy)
	w.watch(&light)
	hog := make([]byte, 128<<20) // live until the end: the heap is over the limit
	w.start()
	deadline := time.Now().Add(10 * time.Second)
	for heavy.stop.Load() == running && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	w.unwatch(&heavy)
	w.unwatch(&light)
	peak := w.close()
	if heavy.stop.Load() != stopMemory || light.stop.Load() != running || w.killed.Load() != 1 {
		t.Fatalf("heavy %d light %d killed %d", heavy.stop.Load(), light.stop.Load(), w.killed.Load())
	}
	if peak < 128<<20 {
		t.Errorf("peak %d MiB, want at least the 128 MiB held", peak>>20)
	}
	runtime.KeepAlive(hog)
}
