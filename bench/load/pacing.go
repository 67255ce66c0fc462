package load

import (
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// pacing wraps the run's pacer for vegeta's attack loop and remembers, hit by
// hit, when each request was meant to leave.
//
// vegeta's loop calls Pace once per hit, sleeps, then hands a tick to a free
// worker, blocking while all MaxWorkers are busy; when it falls behind, its
// pacers answer "now" until it has caught up. Each worker that takes a tick
// runs the targeter, which takes the next intended time from a queue. The
// queue never holds more than the ticks handed out and not yet targeted plus
// one, so it is bounded by the workers.
//
// With dropAfter set, hits that could not be sent within dropAfter of their
// intended time are skipped (counted as dropped, never sent) instead of being
// sent in a burst once the target recovers.
type pacing struct {
	inner     vegeta.Pacer
	sched     Schedule // nil: no intended times (closed loop)
	dropAfter time.Duration
	now       func() int64 // the history's clock
	intended  chan int64

	// Only vegeta's attack loop goroutine touches these until it is done.
	started bool
	offset  int64  // history time of the attack's start
	idx     uint64 // next hit of the schedule

	dropped atomic.Int64
	overrun atomic.Int64 // intended times the queue could not take (a bug if > 0)
}

func newPacing(p vegeta.Pacer, dropAfter time.Duration, now func() int64, workers int) *pacing {
	pc := &pacing{inner: p, dropAfter: dropAfter, now: now}
	if _, closed := p.(ClosedLoop); !closed {
		pc.sched, _ = p.(Schedule)
		pc.intended = make(chan int64, workers+64)
	}
	return pc
}

// Pace implements vegeta.Pacer.
func (p *pacing) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if !p.started {
		p.started = true
		p.offset = p.now() - int64(elapsed)
	}
	if p.intended == nil {
		return p.inner.Pace(elapsed, hits)
	}
	if p.sched != nil && p.dropAfter > 0 && elapsed > p.dropAfter {
		if n := p.sched.DueBy(elapsed - p.dropAfter); n > p.idx {
			p.dropped.Add(int64(n - p.idx))
			p.idx = n
		}
	}
	wait, stop := p.inner.Pace(elapsed, p.idx)
	if stop {
		return wait, stop
	}
	due := elapsed + max(wait, 0)
	if wait <= 0 && p.sched != nil {
		// Behind schedule: the hit was due earlier than now.
		due = min(p.sched.Due(p.idx), elapsed)
	}
	select {
	case p.intended <- p.offset + int64(due):
	default:
		p.overrun.Add(1)
	}
	p.idx++
	return wait, false
}

// Rate implements vegeta.Pacer.
func (p *pacing) Rate(elapsed time.Duration) float64 { return p.inner.Rate(elapsed) }

// next is the intended time of the hit being targeted, 0 if none.
func (p *pacing) next() int64 {
	if p.intended == nil {
		return 0
	}
	select {
	case t := <-p.intended:
		return t
	default:
		return 0
	}
}

// unsent is how many hits the schedule meant to send by elapsed end (less a
// LateAfter grace) that were never sent; call it once the attack is over.
func (p *pacing) unsent(end time.Duration, grace time.Duration) int64 {
	if p.sched == nil || end <= grace {
		return 0
	}
	if due := p.sched.DueBy(end - grace); due > p.idx {
		return int64(due - p.idx)
	}
	return 0
}
