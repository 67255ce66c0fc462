package workload

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// finalWorkers perform a final phase's operations in parallel: a few
// thousand keys must not take a round trip each, one after another.
const finalWorkers = 8

// ReadBack is the usual final phase: for each of n items (keys, queues,
// streams) it performs op(i) until one attempt is ok, or ctx ends. A failed
// attempt is retried as a new operation on the next node after 100 ms; a
// process whose attempt ended in info is retired for a fresh one, as during
// the load.
func ReadBack(ctx context.Context, env FinalEnv, n int, op func(i int) history.Event) FinalStats {
	if env.Nodes() == 0 {
		return FinalStats{Keys: n}
	}
	var read, attempts atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(finalWorkers, max(n, 1)) {
		wg.Go(func() {
			proc := env.NewProcess()
			for i := range work {
				for try := 0; ctx.Err() == nil; try++ {
					attempts.Add(1)
					o := op(i)
					o.Process = proc
					out := env.Do(ctx, &o, (i+try)%env.Nodes())
					if out.Type == history.OK {
						read.Add(1)
						break
					}
					if out.Type == history.Info {
						proc = env.NewProcess()
					}
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		})
	}
	for i := range n {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return FinalStats{Keys: n, Read: int(read.Load()), Attempts: int(attempts.Load())}
}

// MemberEnv is a FinalEnv whose target can answer per member
// (targets.MemberReader): each member's own view, for members-agree.
type MemberEnv interface {
	FinalEnv
	// MemberRead reads key from node i's local state and records it as a
	// final operation (F targets.FMemberRead, Node the member).
	MemberRead(ctx context.Context, key string, node int, proc history.Process) targets.Outcome
	// Probe records every member's consistency probe, one final operation
	// (F targets.FMemberProbe) per member.
	Probe(ctx context.Context)
}

// ReadMembers reads every key from every member (MemberEnv), then probes
// them; a target without per-member reads skips it (false).
func ReadMembers(ctx context.Context, env FinalEnv, keys []string) bool {
	me, ok := env.(MemberEnv)
	if !ok {
		return false
	}
	var wg sync.WaitGroup
	for n := range env.Nodes() {
		wg.Go(func() {
			proc := env.NewProcess()
			for _, k := range keys {
				if ctx.Err() != nil {
					return
				}
				if out := me.MemberRead(ctx, k, n, proc); out.Type == history.Info {
					proc = env.NewProcess()
				}
			}
		})
	}
	wg.Wait()
	me.Probe(ctx)
	return true
}
