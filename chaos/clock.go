package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

// Clock fault kinds.
const (
	ClockSkew   = "clock-skew"
	ClockBump   = "clock-bump"
	ClockStrobe = "clock-strobe"
)

// ClockFault shifts nodes' clocks as their programs read them (the target's
// clock hook, through runtime.ClockNode), and puts them back when healed:
//
//   - clock-skew: every node's clock is off by its own offset, seeded,
//     within ±max;
//   - clock-bump: one node's clock jumps by delta (seeded within ±max when
//     delta is 0) and stays there;
//   - clock-strobe: one node's clock oscillates, delta ahead during every
//     other period.
func ClockFault(kind string, c Choice, delta, max, period time.Duration) (Fault, error) {
	switch {
	case kind != ClockSkew && kind != ClockBump && kind != ClockStrobe:
		return nil, fmt.Errorf("unknown clock fault %q", kind)
	case max <= 0:
		return nil, fmt.Errorf("--nemesis %s:max=%v: want a positive duration", kind, max)
	case kind == ClockStrobe && period <= 0:
		return nil, fmt.Errorf("--nemesis %s:period=%v: want a positive duration", kind, period)
	case kind == ClockStrobe && delta == 0:
		return nil, fmt.Errorf("--nemesis %s:delta=0: a clock that strobes by nothing", kind)
	}
	return &clockFault{kind: kind, choose: c, delta: delta, max: max, period: period}, nil
}

type clockFault struct {
	kind               string
	choose             Choice
	delta, max, period time.Duration
}

func (f *clockFault) Kind() string { return f.kind }
func (f *clockFault) Needs() Needs { return Needs{Nodes: 1, Clock: true} }

// seeded draws an offset of at least a tenth of max, either way.
func seeded(rnd *rand.Rand, max time.Duration) time.Duration {
	d := max/10 + time.Duration(rnd.Int64N(int64(max-max/10)+1))
	if rnd.IntN(2) == 0 {
		d = -d
	}
	return d
}

func (f *clockFault) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	hook := "none"
	if h, ok := env.Target.(targets.ClockHooked); ok {
		hook = h.ClockHook()
	} else {
		return nil, fmt.Errorf("%s: target %s has no clock hook", f.kind, env.Target.Name())
	}
	var idx []int
	var clocks []runtime.Clock
	var why string
	switch f.kind {
	case ClockSkew:
		idx, why = seq(len(env.Nodes)), "all"
		for range idx {
			clocks = append(clocks, runtime.Clock{Offset: seeded(rnd, f.max)})
		}
	case ClockBump:
		var i int
		i, why = pick(ctx, env, rnd, f.choose)
		d := f.delta
		if d == 0 {
			d = seeded(rnd, f.max)
		}
		idx, clocks = []int{i}, []runtime.Clock{{Offset: d}}
	case ClockStrobe:
		var i int
		i, why = pick(ctx, env, rnd, f.choose)
		idx, clocks = []int{i}, []runtime.Clock{{Strobe: f.delta, Period: f.period}}
	}
	nodes := make([]runtime.ClockNode, len(idx))
	for k, i := range idx {
		cn, ok := env.Nodes[i].(runtime.ClockNode)
		if !ok {
			return nil, fmt.Errorf("%s: the runtime cannot set the clock of node %s (the local runtime can)", f.kind, env.Nodes[i].Name())
		}
		nodes[k] = cn
	}
	start := time.Now()
	var parts []string
	var errs []error
	for k, cn := range nodes {
		env.mark(&env.clocked, idx[k], true)
		if err := cn.SetClock(ctx, clocks[k]); err != nil {
			errs = append(errs, err)
		}
		parts = append(parts, cn.Name()+" "+describeClock(clocks[k]))
	}
	if err := errors.Join(errs...); err != nil {
		_, herr := resetClocks(context.WithoutCancel(ctx), env, idx)
		return nil, errors.Join(err, herr)
	}
	took := time.Since(start)
	return &Active{
		Fault: &history.Fault{Kind: f.kind, Nodes: names(env, idx), ApplyNanos: int64(took),
			Detail: fmt.Sprintf("clock of %s (%s); real time again when healed; mechanism: %s", strings.Join(parts, ", "), why, hook)},
		Heal: func(ctx context.Context) (string, error) { return resetClocks(ctx, env, idx) },
	}, nil
}

func describeClock(c runtime.Clock) string {
	if c.Period > 0 {
		return fmt.Sprintf("strobes %+v every other %v", c.Strobe, c.Period)
	}
	return fmt.Sprintf("off by %+v", c.Offset)
}

// resetClocks gives the nodes the real time back.
func resetClocks(ctx context.Context, env *Env, idx []int) (string, error) {
	var errs []error
	for _, i := range idx {
		cn, ok := env.Nodes[i].(runtime.ClockNode)
		if !ok {
			continue
		}
		if err := cn.SetClock(ctx, runtime.Clock{}); err != nil {
			errs = append(errs, err)
			continue
		}
		env.mark(&env.clocked, i, false)
	}
	return fmt.Sprintf("clocks of %v back to real time", names(env, idx)), errors.Join(errs...)
}

// healClocks is HealAll's part for clocks.
func healClocks(ctx context.Context, env *Env) error {
	if c := env.marked(env.clocked); len(c) > 0 {
		_, err := resetClocks(ctx, env, c)
		return err
	}
	return nil
}
