// Package register is the register workload (Jepsen's independent
// registers): reads, blind writes and compare-and-sets of unique values over
// a few keys at once, each rotated after a bounded number of operations,
// then a final read of every key written. Its histories go to the
// linearizability, stale-read and lost-write checkers. The kv workload
// (bench/workload/kv) is the same generator over a large key space.
package register

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
)

// Workload is the register workload, or with Spread the kv workload: the
// same operations over Config.KeySpace keys picked by Config.KeyDist.
type Workload struct {
	Kind string // KindRegister or KindKV
}

var (
	_ workload.Workload = Workload{}
	_ workload.Finisher = Workload{}
)

// New is the register workload.
func New() Workload { return Workload{Kind: KindRegister} }

func (w Workload) Name() string { return w.Kind }

// Checkers: linearizability first, then the checks that explain what went
// wrong.
func (Workload) Checkers(workload.Config) []string {
	return []string{"linearizable", "stale-reads", "lost-writes"}
}

// Keyed resolves cfg into the generator's shape.
func (w Workload) Keyed(cfg workload.Config) (KeyedConfig, error) {
	for k := range cfg.Options {
		return KeyedConfig{}, fmt.Errorf("load.workload_options: %s has no option %q", w.Kind, k)
	}
	mix := DefaultMix()
	if cfg.Mix != "" {
		var err error
		if mix, err = ParseMix(cfg.Mix); err != nil {
			return KeyedConfig{}, err
		}
	}
	kc := KeyedConfig{Kind: w.Kind, Slots: cfg.Keys, OpsPerKey: cfg.OpsPerKey, KeyConcurrency: cfg.KeyConcurrency,
		Mix: mix, ValueSize: cfg.ValueSize, Seed: cfg.Seed}
	// The distribution only shapes kv, but a bad one is a mistake either way.
	if cfg.KeyDist != "" {
		dist, s, err := ParseKeyDist(cfg.KeyDist)
		if err != nil {
			return KeyedConfig{}, err
		}
		if w.Kind == KindKV {
			kc.Dist, kc.ZipfS = dist, s
		}
	}
	if w.Kind == KindKV {
		kc.Slots = cfg.KeySpace
	}
	return kc, nil
}

func (w Workload) New(cfg workload.Config) (workload.Generator, error) {
	kc, err := w.Keyed(cfg)
	if err != nil {
		return nil, err
	}
	return NewKeyed(kc)
}

func (w Workload) Ops(cfg workload.Config) ([]string, error) {
	kc, err := w.Keyed(cfg)
	if err != nil {
		return nil, err
	}
	var ops []string
	for _, o := range []struct {
		f string
		w float64
	}{{history.FRead, kc.Mix.Read}, {history.FWrite, kc.Mix.Write}, {history.FCAS, kc.Mix.CAS}} {
		if o.w > 0 {
			ops = append(ops, o.f)
		}
	}
	return ops, nil
}

// finalWorkers read keys in parallel: a few thousand keys must not take a
// round trip each, one after another.
const finalWorkers = 8

// Final reads every key a write was invoked on, once the cluster is healed
// and quiet: what the cluster ended up holding (the lost-write checker's
// evidence). A read that does not succeed is retried, as a new operation on
// the next node, until one succeeds or ctx ends; a process whose read ended
// in info is retired.
func (Workload) Final(ctx context.Context, gen workload.Generator, env workload.FinalEnv) workload.FinalStats {
	k, ok := gen.(*Keyed)
	if !ok || env.Nodes() == 0 {
		return workload.FinalStats{}
	}
	keys := k.Written()
	var read, attempts atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range finalWorkers {
		wg.Go(func() {
			proc := env.NewProcess()
			for i := range work {
				for try := 0; ctx.Err() == nil; try++ {
					attempts.Add(1)
					op := history.Event{Process: proc, F: history.FRead, Key: keys[i]}
					out := env.Do(ctx, &op, (i+try)%env.Nodes())
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
	for i := range keys {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return workload.FinalStats{Keys: len(keys), Read: int(read.Load()), Attempts: int(attempts.Load())}
}
