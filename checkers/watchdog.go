package checkers

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// Why a search was stopped.
const (
	running    int32 = iota
	stopSlice        // its time slice ran out: it goes back in the queue
	stopBudget       // the check's time budget ran out
	stopMemory       // the memory watchdog chose it
	stopCancel       // the caller cancelled the check
)

// searcher runs porcupine calls that can be stopped from outside. Porcupine
// takes only a timeout; the model's step function polls stop instead, so a
// time slice, the budget, the memory watchdog or a cancelled context can all
// end a search. A stopped search fails every step, which makes porcupine
// unwind at once and answer Illegal: that answer is discarded.
type searcher struct {
	e    *engine
	stop atomic.Int32
	// steps counts model steps in the current call: porcupine's cache grows
	// with them, so they are the watchdog's gauge of who holds the memory.
	steps atomic.Int64
	calls atomic.Int64
}

func (s *searcher) call(ops []porcupine.Operation, states []string) porcupine.CheckResult {
	s.steps.Store(0)
	s.calls.Add(1)
	m := s.e.porcupine(ops, states, func() bool {
		s.steps.Add(1)
		return s.stop.Load() != running
	})
	res := porcupine.CheckOperationsTimeout(m, ops, 0)
	if s.stop.Load() != running {
		return porcupine.Unknown
	}
	return res
}

// watchdog samples the heap while a check runs, remembers the peak, and when
// the heap stays over the limit after a collection it stops the search that
// has taken the most steps: that key is left unknown, the others go on.
type watchdog struct {
	limit uint64
	every time.Duration

	mu      sync.Mutex
	running map[*searcher]struct{}

	peak   atomic.Uint64
	killed atomic.Int64
	stopc  chan struct{}
	done   chan struct{}
}

func newWatchdog(limit uint64) *watchdog {
	return &watchdog{limit: limit, every: 20 * time.Millisecond, running: map[*searcher]struct{}{},
		stopc: make(chan struct{}), done: make(chan struct{})}
}

func (w *watchdog) watch(s *searcher) {
	w.mu.Lock()
	w.running[s] = struct{}{}
	w.mu.Unlock()
}

func (w *watchdog) unwatch(s *searcher) {
	w.mu.Lock()
	delete(w.running, s)
	w.mu.Unlock()
}

const heapMetric = "/memory/classes/heap/objects:bytes"

// HeapBytes is the heap held by objects, live or not yet swept.
func HeapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func (w *watchdog) start() {
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.every)
		defer t.Stop()
		var lastGC time.Time
		var victim *searcher
		for {
			select {
			case <-w.stopc:
				return
			case <-t.C:
			}
			h := HeapBytes()
			w.notePeak(h)
			if w.limit == 0 || h <= w.limit {
				continue
			}
			// The last search stopped still holds its memory until it has
			// unwound: wait for it rather than stop another.
			if victim != nil {
				if w.watched(victim) {
					continue
				}
				victim, lastGC = nil, time.Time{}
			}
			// Over the limit may be garbage: collect once (at most every
			// second), and act only if the live heap is still over.
			if time.Since(lastGC) > time.Second {
				runtime.GC()
				lastGC = time.Now()
				if h = HeapBytes(); h <= w.limit {
					continue
				}
			}
			if s := w.heaviest(); s != nil && s.stop.CompareAndSwap(running, stopMemory) {
				w.killed.Add(1)
				victim = s
			}
		}
	}()
}

func (w *watchdog) notePeak(h uint64) {
	for {
		p := w.peak.Load()
		if h <= p || w.peak.CompareAndSwap(p, h) {
			return
		}
	}
}

func (w *watchdog) watched(s *searcher) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.running[s]
	return ok
}

func (w *watchdog) heaviest() *searcher {
	w.mu.Lock()
	defer w.mu.Unlock()
	var best *searcher
	var most int64 = -1
	for s := range w.running {
		if n := s.steps.Load(); n > most && s.stop.Load() == running {
			best, most = s, n
		}
	}
	return best
}

// close stops the watchdog and returns the peak heap it saw.
func (w *watchdog) close() uint64 {
	close(w.stopc)
	<-w.done
	w.notePeak(HeapBytes())
	return w.peak.Load()
}
