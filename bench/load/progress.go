package load

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/history"
)

// Progress is a live snapshot of a run's load, for a progress display.
type Progress struct {
	// Elapsed is the time since the load started; Total is its planned
	// length (--duration).
	Elapsed, Total time.Duration
	// Invoked counts operations sent; OK, Fail and Info those completed,
	// by outcome.
	Invoked, OK, Fail, Info int64
	// Rate is the operations completed per second, and OKRate those that
	// succeeded, since the previous snapshot.
	Rate, OKRate float64
	// Fault is the fault active now, e.g. "partition n1", "kill n2
	// (healing)"; empty when none is.
	Fault string
	// Done marks the last snapshot, taken when the load has ended.
	Done bool
}

// LiveCounts are the load's counters, readable while it runs. The load
// touches them only when it has some (Load.Live), with one atomic add per
// event: the recording path stays as it was.
type LiveCounts struct {
	Invoked atomic.Int64
	_       [56]byte // the targeter's counter apart from the result loop's
	OK      atomic.Int64
	Fail    atomic.Int64
	Info    atomic.Int64
}

func (c *LiveCounts) completed(t history.Type) {
	switch t {
	case history.OK:
		c.OK.Add(1)
	case history.Fail:
		c.Fail.Add(1)
	default:
		c.Info.Add(1)
	}
}

// Recorder is where FaultWatch passes the events: the history (a
// *history.Writer), as chaos.Recorder.
type Recorder interface {
	Now() int64
	Append(history.Event)
}

// FaultWatch passes the nemesis's events to the history and remembers
// which fault is active, for the progress display.
type FaultWatch struct {
	Recorder
	mu  sync.Mutex
	cur string
}

func (w *FaultWatch) Append(e history.Event) {
	w.Recorder.Append(e)
	if !e.IsNemesis() || e.Fault == nil {
		return
	}
	desc := e.Fault.Kind
	if len(e.Fault.Nodes) > 0 {
		desc += " " + strings.Join(e.Fault.Nodes, ",")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case e.F == history.FStart && e.Type == history.OK:
		w.cur = desc
	case e.F == history.FStart && e.Type == history.Fail:
		w.cur = ""
	case e.F == history.FStop && e.Type == history.Invoke:
		w.cur = desc + " (healing)"
	case e.F == history.FStop:
		w.cur = ""
	}
}

// Current is the fault active now, as Progress.Fault says it.
func (w *FaultWatch) Current() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// WatchProgress samples the load's counters every period (by default
// 500 ms) and calls f with each snapshot, on a goroutine of its own, until
// the returned stop is called, which sends the last snapshot. faults may
// be nil (no fault is shown).
func WatchProgress(every time.Duration, f func(Progress), total time.Duration, now func() int64,
	live *LiveCounts, faults *FaultWatch) (stop func()) {
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	var last struct {
		at        int64
		done, oks int64
	}
	snap := func(done bool) {
		p := Progress{Elapsed: time.Duration(now()), Total: total, Invoked: live.Invoked.Load(),
			OK: live.OK.Load(), Fail: live.Fail.Load(), Info: live.Info.Load(), Done: done}
		p.Elapsed = min(p.Elapsed, total)
		if faults != nil {
			p.Fault = faults.Current()
		}
		t := now()
		if dt := float64(t-last.at) / 1e9; dt > 0 {
			completed := p.OK + p.Fail + p.Info
			p.Rate = float64(completed-last.done) / dt
			p.OKRate = float64(p.OK-last.oks) / dt
			last.at, last.done, last.oks = t, completed, p.OK
		}
		f(p)
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tk := time.NewTicker(every)
		defer tk.Stop()
		for {
			select {
			case <-tk.C:
				snap(false)
			case <-quit:
				snap(true)
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			<-finished
		})
	}
}
