package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/faultline/faultline/history"
)

// Choice says which node a single-node fault picks.
type Choice string

const (
	ChooseLeader   Choice = "leader"
	ChooseFollower Choice = "follower"
	ChooseRandom   Choice = "random"
)

// Isolate cuts one node off from all the others, in both directions, with
// nftables rules in every node's network namespace. Clients still reach it.
type Isolate struct {
	Choose Choice
}

func (p *Isolate) Kind() string { return "partition" }

func (p *Isolate) pick(ctx context.Context, env *Env) (int, string, error) {
	n := len(env.Nodes)
	switch p.Choose {
	case ChooseRandom:
		return env.Rand.IntN(n), "random", nil
	case ChooseFollower, ChooseLeader, "":
		l, err := env.Leader(ctx)
		if err != nil {
			// The choice must not block the fault: with no leader known, any
			// node will do, and the history says so.
			return env.Rand.IntN(n), "random (no leader known: " + err.Error() + ")", nil
		}
		if p.Choose == ChooseFollower {
			return (l + 1 + env.Rand.IntN(n-1)) % n, "follower", nil
		}
		return l, "leader", nil
	}
	return -1, "", fmt.Errorf("partition: unknown choice %q", p.Choose)
}

// Start isolates the chosen node.
func (p *Isolate) Start(ctx context.Context, env *Env) (*history.Fault, error) {
	if len(env.Nodes) < 2 {
		return nil, errors.New("partition needs at least 2 nodes")
	}
	i, why, err := p.pick(ctx, env)
	if err != nil {
		return nil, err
	}
	victim := env.Nodes[i]
	groups := [][]int{{i}, nil}
	for j := range env.Nodes {
		if j != i {
			groups[1] = append(groups[1], j)
		}
	}
	f, err := applyGroups(ctx, env, groups)
	if err != nil {
		return nil, err
	}
	f.Kind = p.Kind()
	f.Nodes = []string{victim.Name()}
	f.Detail = fmt.Sprintf("isolate %s (%s) from the other nodes; rules in place in %v", victim.Name(), why,
		time.Duration(f.ApplyNanos).Round(time.Microsecond))
	return f, nil
}

// Stop removes the rules from every node.
func (p *Isolate) Stop(ctx context.Context, env *Env) error { return HealNetwork(ctx, env) }

// applyGroups cuts every link between nodes of different groups, both ways,
// installing each node's rules concurrently. It reports the links cut and how
// long installation took.
func applyGroups(ctx context.Context, env *Env, groups [][]int) (*history.Fault, error) {
	group := make(map[int]int)
	for g, members := range groups {
		for _, m := range members {
			group[m] = g
		}
	}
	rules := make([]Rules, len(env.Nodes))
	var links []string
	for a := range env.Nodes {
		ga, ok := group[a]
		if !ok {
			continue
		}
		for b := range env.Nodes {
			gb, ok := group[b]
			if !ok || ga == gb {
				continue
			}
			addr, err := parseAddrs(env.Nodes[b].Addr())
			if err != nil {
				return nil, err
			}
			rules[a].DropFrom = append(rules[a].DropFrom, addr...)
			rules[a].DropTo = append(rules[a].DropTo, addr...)
			links = append(links, env.Nodes[a].Name()+"->"+env.Nodes[b].Name())
		}
	}
	// Resolve namespaces first so the timed part is only the rule transactions.
	paths := make([]string, len(env.Nodes))
	for i, n := range env.Nodes {
		if rules[i].Empty() {
			continue
		}
		p, err := n.NetNS(ctx)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(env.Nodes))
	for i := range env.Nodes {
		if rules[i].Empty() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = env.Firewall.Apply(paths[i], rules[i])
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, errors.Join(err, HealNetwork(context.WithoutCancel(ctx), env))
	}
	return &history.Fault{Links: links, ApplyNanos: int64(took)}, nil
}
