package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime"
)

// Kill kills one node (chosen) with SIGKILL; healing restarts it with its
// data.
func Kill(kind string, c Choice) Fault { return &kill{kind: kind, choose: c} }

type kill struct {
	kind   string
	choose Choice
	// sig other than SIGKILL (0) stops the node gracefully (signal.go).
	sig   syscall.Signal
	grace time.Duration
}

func (f *kill) Kind() string { return f.kind }
func (f *kill) Needs() Needs { return Needs{Nodes: 1} }

func (f *kill) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	if f.sig != 0 && f.sig != syscall.SIGKILL {
		return f.startSignal(ctx, env, rnd)
	}
	i, why := pick(ctx, env, rnd, f.choose)
	took, err := killNodes(ctx, env, []int{i})
	if err != nil {
		return nil, err
	}
	name := env.Nodes[i].Name()
	return &Active{
		Fault: &history.Fault{Kind: f.kind, Nodes: []string{name}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("kill -9 %s (%s) in %v; restarted with its data when healed", name, why, took.Round(time.Microsecond))},
		Heal: func(ctx context.Context) (string, error) { return startNodes(ctx, env, []int{i}) },
	}, nil
}

// KillAll kills every node at once; healing restarts them all with their
// data.
func KillAll() Fault { return killAll{} }

type killAll struct{}

func (killAll) Kind() string { return "kill-all" }
func (killAll) Needs() Needs { return Needs{Nodes: 1} }

func (killAll) Start(ctx context.Context, env *Env, _ *rand.Rand) (*Active, error) {
	all := seq(len(env.Nodes))
	took, err := killNodes(ctx, env, all)
	if err != nil {
		return nil, err
	}
	return &Active{
		Fault: &history.Fault{Kind: "kill-all", Nodes: names(env, all), ApplyNanos: int64(took),
			Detail: fmt.Sprintf("kill -9 every node at once in %v; all restarted with their data when healed", took.Round(time.Microsecond))},
		Heal: func(ctx context.Context) (string, error) { return startNodes(ctx, env, all) },
	}, nil
}

// killNodes kills the nodes at once. A node is marked killed before it is
// killed, so HealAll restarts it whatever happens next; on error the nodes
// are restarted.
func killNodes(ctx context.Context, env *Env, idx []int) (time.Duration, error) {
	start := time.Now()
	err := each(idx, func(i int) error {
		env.mark(&env.killed, i, true)
		return env.Nodes[i].Kill(ctx)
	})
	took := time.Since(start)
	rearm(ctx, env, idx)
	if err != nil {
		_, herr := startNodes(context.WithoutCancel(ctx), env, idx)
		return took, errors.Join(err, herr)
	}
	return took, nil
}

func startNodes(ctx context.Context, env *Env, idx []int) (string, error) {
	start := time.Now()
	err := each(idx, func(i int) error {
		if err := env.Nodes[i].Start(ctx); err != nil {
			return err
		}
		env.mark(&env.killed, i, false)
		return nil
	})
	took := time.Since(start)
	if err == nil {
		rearm(ctx, env, idx)
	}
	return fmt.Sprintf("restarted %v in %v", names(env, idx), took.Round(time.Microsecond)), err
}

// rearm tells a firewall that keeps something per network namespace
// (connections, sidecars) that these nodes stopped or restarted: a
// restarted node has a new namespace. It re-arms in the background, so that
// neither the fault nor the next network fault waits for it.
func rearm(ctx context.Context, env *Env, idx []int) {
	a, ok := env.Firewall.(interface {
		Rearm(context.Context, []runtime.Node)
	})
	if !ok {
		return
	}
	nodes := make([]runtime.Node, len(idx))
	for k, i := range idx {
		nodes[k] = env.Nodes[i]
	}
	a.Rearm(context.WithoutCancel(ctx), nodes)
}

// Pause freezes every process of one node (chosen); healing thaws it.
func Pause(kind string, c Choice) Fault { return &pause{kind: kind, choose: c} }

type pause struct {
	kind   string
	choose Choice
}

func (f *pause) Kind() string { return f.kind }
func (f *pause) Needs() Needs { return Needs{Nodes: 1} }

func (f *pause) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	i, why := pick(ctx, env, rnd, f.choose)
	n := env.Nodes[i]
	start := time.Now()
	env.mark(&env.paused, i, true)
	if err := n.Pause(ctx); err != nil {
		// It may or may not have been frozen: thaw, ignoring "not paused".
		_ = n.Resume(context.WithoutCancel(ctx))
		env.mark(&env.paused, i, false)
		return nil, err
	}
	took := time.Since(start)
	return &Active{
		Fault: &history.Fault{Kind: f.kind, Nodes: []string{n.Name()}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("pause %s (%s): every process frozen in %v; resumed when healed", n.Name(), why, took.Round(time.Microsecond))},
		Heal: func(ctx context.Context) (string, error) {
			start := time.Now()
			if err := n.Resume(ctx); err != nil {
				return "", err
			}
			env.mark(&env.paused, i, false)
			return fmt.Sprintf("resumed %s in %v", n.Name(), time.Since(start).Round(time.Microsecond)), nil
		},
	}, nil
}

// each runs f for every index at once and joins the errors.
func each(idx []int, f func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, len(idx))
	for k, i := range idx {
		wg.Go(func() { errs[k] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
