package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
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

// MemberGrow adds a fresh member to the running cluster: the runtime makes
// one more node (runtime.Grower), the target announces it
// (targets.MemberChanger.AddMember: member add, then the node starts with
// --initial-cluster-state existing), and the fault is in place once it is
// healthy. Healing removes the member again and takes the node away. The
// added node is the fault's own: the load, the other faults and the final
// reads see only the nodes the cluster was launched with.
func MemberGrow() Fault { return memberGrow{} }

type memberGrow struct{}

var (
	_ Fault       = memberGrow{}
	_ PlanChecker = memberGrow{}
)

func (memberGrow) Kind() string { return "member-grow" }
func (memberGrow) Needs() Needs { return Needs{Nodes: 1, Members: true} }

// CheckPlan refuses runtimes that cannot add a node to a running cluster.
func (memberGrow) CheckPlan(p PlanInfo) error {
	if p.Runtime != "local" {
		return fmt.Errorf("--nemesis member-grow needs --runtime local: only the local runtime can add a node to a running cluster; docker cannot (got --runtime %s)", p.Runtime)
	}
	return nil
}

func (f memberGrow) Start(ctx context.Context, env *Env, _ *rand.Rand) (*Active, error) {
	mc, ok := env.Target.(targets.MemberChanger)
	if !ok {
		return nil, fmt.Errorf("member-grow: target %s cannot change its membership", env.Target.Name())
	}
	g, ok := env.Nodes[0].(runtime.Grower)
	if !ok {
		return nil, fmt.Errorf("member-grow: the runtime of node %s cannot add a node to a running cluster (the local runtime can)", env.Nodes[0].Name())
	}
	peers := make([]targets.Peer, 0, len(env.Nodes)+1)
	bases := make([]string, len(env.Nodes))
	for k, n := range env.Nodes {
		fn, ok := n.(runtime.FreshNode)
		if !ok {
			return nil, fmt.Errorf("member-grow: the runtime cannot tell how node %s's peers reach it", n.Name())
		}
		peers = append(peers, fn.Peer())
		bases[k] = n.Endpoint(targets.ClientPort)
	}
	hc := env.HTTP
	if hc == nil {
		hc = httpx.NewClient(2 * time.Second)
	}
	start := time.Now()
	added, err := g.AddNode(ctx)
	if err != nil {
		return nil, fmt.Errorf("member-grow: %w", err)
	}
	p := added.Peer()
	var announced atomic.Bool
	// shrink removes the member (when it was announced) and the node; it
	// is the heal, and HealAll's last resort when the run ends first.
	shrink := func(ctx context.Context) error {
		var errs []error
		if announced.Load() {
			if err := mc.RemoveMember(ctx, hc, bases, p); err != nil {
				errs = append(errs, fmt.Errorf("member-grow: remove member %s: %w", p.Name, err))
			}
		}
		if err := added.Remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("member-grow: %w", err))
		}
		return errors.Join(errs...)
	}
	remove := env.onHealAll(shrink)
	// On failure the node goes again; if that fails too, HealAll tries
	// once more.
	undo := func(err error) (*Active, error) {
		serr := shrink(context.WithoutCancel(ctx))
		if serr == nil {
			remove()
		}
		return nil, errors.Join(fmt.Errorf("member-grow %s: %w", p.Name, err), serr)
	}
	spec, err := mc.AddMember(ctx, hc, bases, len(peers), append(peers, p))
	if err != nil {
		return undo(err)
	}
	announced.Store(true)
	added.SetSpec(spec)
	if err := added.Start(ctx); err != nil {
		return undo(err)
	}
	// The added node is not among those the run's client may reach: it
	// gets a client of its own.
	own := httpx.NewClient(2*time.Second, httpx.WithAllow(httpx.AllowEndpoints(1, func(int) string { return added.Endpoint(targets.ClientPort) })))
	defer own.CloseIdleConnections()
	if err := waitHealthy(ctx, env.Target, own, added.Endpoint(targets.ClientPort)); err != nil {
		logs, _ := added.Logs(context.WithoutCancel(ctx))
		return undo(fmt.Errorf("not healthy: %w; last log lines:\n%s", err, runtime.Tail(logs, 10)))
	}
	took := time.Since(start)
	return &Active{
		Fault: &history.Fault{Kind: f.Kind(), Nodes: []string{p.Name}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("member %s (%s) added to the %d members (member add, then started with an empty data directory joining the existing cluster), healthy in %v: %d members; removed again and taken away when healed (no random choice)",
				p.Name, p.Host, len(env.Nodes), took.Round(time.Millisecond), len(env.Nodes)+1)},
		Heal: func(ctx context.Context) (string, error) {
			start := time.Now()
			if err := shrink(ctx); err != nil {
				return "", err
			}
			remove()
			return fmt.Sprintf("member %s removed and its node taken away in %v: %d members", p.Name, time.Since(start).Round(time.Millisecond), len(env.Nodes)), nil
		},
	}, nil
}

// waitHealthy polls base until the target calls it healthy, at most
// runtime.DefaultHealthTimeout.
func waitHealthy(ctx context.Context, t targets.Target, hc *http.Client, base string) error {
	ctx, cancel := context.WithTimeout(ctx, runtime.DefaultHealthTimeout)
	defer cancel()
	for {
		err := t.Healthy(ctx, hc, base)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
