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
// wrong, then those of what the system reports (skipped where a target
// reports no revisions and has no per-member reads).
func (Workload) Checkers(workload.Config) []string {
	return []string{"linearizable", "stale-reads", "lost-writes", "etcd-revisions", "members-agree"}
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

// Final reads every key a write was invoked on, once the cluster is healed
// and quiet: what the cluster ended up holding (the lost-write checker's
// evidence).
func (Workload) Final(ctx context.Context, gen workload.Generator, env workload.FinalEnv) workload.FinalStats {
	k, ok := gen.(*Keyed)
	if !ok {
		return workload.FinalStats{}
	}
	keys := k.Written()
	st := workload.ReadBack(ctx, env, len(keys), func(i int) history.Event {
		return history.Event{F: history.FRead, Key: keys[i]}
	})
	// Then each member's own view of the same keys (members-agree).
	workload.ReadMembers(ctx, env, keys)
	return st
}
