package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/runtime"
)

// MemberReplace removes a member (chosen) from the cluster and adds a fresh
// one in its place, with an empty data directory; healing waits until the
// fresh member is healthy.
func MemberReplace(c Choice) Fault { return &memberReplace{choose: c} }

type memberReplace struct{ choose Choice }

func (f *memberReplace) Kind() string { return "member-replace" }
func (f *memberReplace) Needs() Needs { return Needs{Nodes: 3, Members: true} }

func (f *memberReplace) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	mc, ok := env.Target.(targets.MemberChanger)
	if !ok {
		return nil, fmt.Errorf("member-replace: target %s cannot change its membership", env.Target.Name())
	}
	peers := make([]targets.Peer, len(env.Nodes))
	fresh := make([]runtime.FreshNode, len(env.Nodes))
	for k, n := range env.Nodes {
		fn, ok := n.(runtime.FreshNode)
		if !ok {
			return nil, fmt.Errorf("member-replace: the runtime cannot start node %s afresh (the local runtime can)", n.Name())
		}
		fresh[k], peers[k] = fn, fn.Peer()
	}
	i, why := pick(ctx, env, rnd, f.choose)
	var others []string
	for k, n := range env.Nodes {
		if k != i {
			others = append(others, n.Endpoint(targets.ClientPort))
		}
	}
	hc := env.HTTP
	if hc == nil {
		hc = httpx.NewClient(2 * time.Second)
	}
	start := time.Now()
	if _, err := killNodes(ctx, env, []int{i}); err != nil {
		return nil, err
	}
	// From here on a failure leaves the node stopped and marked killed:
	// HealAll starts it with whatever command line it has by then.
	undo := func(err error) (*Active, error) {
		_, herr := startNodes(context.WithoutCancel(ctx), env, []int{i})
		return nil, errors.Join(fmt.Errorf("member-replace %s: %w", peers[i].Name, err), herr)
	}
	if err := mc.RemoveMember(ctx, hc, others, peers[i]); err != nil {
		return undo(err)
	}
	removed := time.Since(start)
	if err := fresh[i].Wipe(ctx); err != nil {
		return undo(err)
	}
	spec, err := mc.AddMember(ctx, hc, others, i, peers)
	if err != nil {
		return undo(err)
	}
	fresh[i].SetSpec(spec)
	if _, err := startNodes(ctx, env, []int{i}); err != nil {
		return nil, err
	}
	took := time.Since(start)
	name := peers[i].Name
	return &Active{
		Fault: &history.Fault{Kind: f.Kind(), Nodes: []string{name}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("member %s (%s) killed and removed in %v, its data directory emptied, added again as a fresh member and started in %v; healed once it is healthy",
				name, why, removed.Round(time.Millisecond), took.Round(time.Millisecond))},
		Heal: func(ctx context.Context) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, runtime.DefaultHealthTimeout)
			defer cancel()
			start := time.Now()
			for {
				err := env.Target.Healthy(ctx, hc, env.Nodes[i].Endpoint(targets.ClientPort))
				if err == nil {
					return fmt.Sprintf("fresh member %s healthy %v after the heal began", name, time.Since(start).Round(time.Millisecond)), nil
				}
				select {
				case <-ctx.Done():
					return "", fmt.Errorf("fresh member %s not healthy: %w", name, err)
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
	}, nil
}

// MemberShrink removes a member (chosen) and stops it: the cluster runs one
// member short. Healing adds it back as a fresh member, with an empty data
// directory, and waits until it is healthy.
func MemberShrink(c Choice) Fault { return &memberShrink{choose: c} }

type memberShrink struct{ choose Choice }

func (f *memberShrink) Kind() string { return "member-shrink" }
func (f *memberShrink) Needs() Needs { return Needs{Nodes: 3, Members: true} }

func (f *memberShrink) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	mc, ok := env.Target.(targets.MemberChanger)
	if !ok {
		return nil, fmt.Errorf("member-shrink: target %s cannot change its membership", env.Target.Name())
	}
	peers := make([]targets.Peer, len(env.Nodes))
	fresh := make([]runtime.FreshNode, len(env.Nodes))
	for k, n := range env.Nodes {
		fn, ok := n.(runtime.FreshNode)
		if !ok {
			return nil, fmt.Errorf("member-shrink: the runtime cannot start node %s afresh (the local runtime can)", n.Name())
		}
		fresh[k], peers[k] = fn, fn.Peer()
	}
	i, why := pick(ctx, env, rnd, f.choose)
	var others []string
	for k, n := range env.Nodes {
		if k != i {
			others = append(others, n.Endpoint(targets.ClientPort))
		}
	}
	hc := env.HTTP
	if hc == nil {
		hc = httpx.NewClient(2 * time.Second)
	}
	start := time.Now()
	if _, err := killNodes(ctx, env, []int{i}); err != nil {
		return nil, err
	}
	if err := mc.RemoveMember(ctx, hc, others, peers[i]); err != nil {
		_, herr := startNodes(context.WithoutCancel(ctx), env, []int{i})
		return nil, errors.Join(fmt.Errorf("member-shrink %s: %w", peers[i].Name, err), herr)
	}
	took := time.Since(start)
	name := peers[i].Name
	return &Active{
		Fault: &history.Fault{Kind: f.Kind(), Nodes: []string{name}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("member %s (%s) killed and removed in %v: %d members left; added back as a fresh member when healed",
				name, why, took.Round(time.Millisecond), len(env.Nodes)-1)},
		Heal: func(ctx context.Context) (string, error) {
			start := time.Now()
			if err := fresh[i].Wipe(ctx); err != nil {
				return "", err
			}
			spec, err := mc.AddMember(ctx, hc, others, i, peers)
			if err != nil {
				return "", err
			}
			fresh[i].SetSpec(spec)
			if _, err := startNodes(ctx, env, []int{i}); err != nil {
				return "", err
			}
			ctx, cancel := context.WithTimeout(ctx, runtime.DefaultHealthTimeout)
			defer cancel()
			for {
				err := env.Target.Healthy(ctx, hc, env.Nodes[i].Endpoint(targets.ClientPort))
				if err == nil {
					return fmt.Sprintf("%s added back as a fresh member, healthy in %v", name, time.Since(start).Round(time.Millisecond)), nil
				}
				select {
				case <-ctx.Done():
					return "", fmt.Errorf("fresh member %s not healthy: %w", name, err)
				case <-time.After(100 * time.Millisecond):
				}
			}
		},
	}, nil
}
