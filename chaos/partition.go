package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/history"
)

// netPlan is a network fault worked out node by node before anything is
// installed: each node's rules, the directed links it breaks and the nodes
// it is about.
type netPlan struct {
	env    *Env
	rules  []netfault.Rules
	links  []string
	nodes  []string
	detail string
	errs   []error
}

func newPlan(env *Env) *netPlan {
	return &netPlan{env: env, rules: make([]netfault.Rules, len(env.Nodes))}
}

func (p *netPlan) addr(i int) netip.Addr {
	s := p.env.Nodes[i].Addr()
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		p.errs = append(p.errs, fmt.Errorf("node %s has no IPv4 address (%q)", p.env.Nodes[i].Name(), s))
	}
	return a
}

func (p *netPlan) link(a, b string) { p.links = append(p.links, a+"->"+b) }

// cut drops every packet between nodes a and b, in both namespaces.
func (p *netPlan) cut(a, b int) {
	p.rules[a].Cut = append(p.rules[a].Cut, p.addr(b))
	p.rules[b].Cut = append(p.rules[b].Cut, p.addr(a))
	p.link(p.env.Nodes[a].Name(), p.env.Nodes[b].Name())
	p.link(p.env.Nodes[b].Name(), p.env.Nodes[a].Name())
}

// cutGroups cuts every link between nodes of different groups.
func (p *netPlan) cutGroups(groups ...[]int) {
	group := map[int]int{}
	for g, ms := range groups {
		for _, m := range ms {
			group[m] = g
		}
	}
	for a := range p.env.Nodes {
		for b := a + 1; b < len(p.env.Nodes); b++ {
			ga, oka := group[a]
			gb, okb := group[b]
			if oka && okb && ga != gb {
				p.cut(a, b)
			}
		}
	}
}

// noConn stops node a from opening connections to b; b can still open
// connections to a, and those carry traffic both ways.
func (p *netPlan) noConn(a, b int) {
	p.rules[a].NoConnTo = append(p.rules[a].NoConnTo, p.addr(b))
	p.rules[b].NoConnFrom = append(p.rules[b].NoConnFrom, p.addr(a))
	p.link(p.env.Nodes[a].Name(), p.env.Nodes[b].Name())
}

// isolateClients lets node x talk to the other nodes only.
func (p *netPlan) isolateClients(x int) {
	r := &p.rules[x]
	r.OnlyPeers = true
	for j := range p.env.Nodes {
		if j != x {
			r.Peers = append(r.Peers, p.addr(j))
		}
	}
	p.link("client", p.env.Nodes[x].Name())
	p.link(p.env.Nodes[x].Name(), "client")
}

// netFault is every fault made of network rules: a plan, installed on every
// node at once, healed by clearing every node.
type netFault struct {
	kind  string
	needs Needs
	plan  func(ctx context.Context, p *netPlan, rnd *rand.Rand) error
}

func (f *netFault) Kind() string { return f.kind }
func (f *netFault) Needs() Needs { return f.needs }

func (f *netFault) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	if env.Firewall == nil {
		return nil, fmt.Errorf("%s: network faults are unavailable on this run (no firewall)", f.kind)
	}
	if len(env.Nodes) < f.needs.Nodes {
		return nil, fmt.Errorf("%s needs at least %d nodes, the cluster has %d", f.kind, f.needs.Nodes, len(env.Nodes))
	}
	p := newPlan(env)
	if err := f.plan(ctx, p, rnd); err != nil {
		return nil, err
	}
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	took, err := applyAll(ctx, env, p.rules)
	if err != nil {
		return nil, err
	}
	return &Active{
		Fault: &history.Fault{Kind: f.kind, Nodes: p.nodes, Links: p.links, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("%s; rules in place on every node in %v", p.detail, took.Round(time.Microsecond))},
		Heal: func(ctx context.Context) (string, error) {
			start := time.Now()
			err := clearAll(ctx, env)
			return fmt.Sprintf("rules removed from every node in %v", time.Since(start).Round(time.Microsecond)), err
		},
	}, nil
}

// Isolate cuts one node (chosen) off from all the others, both ways.
// Clients still reach it.
func Isolate(kind string, c Choice) Fault {
	return &netFault{kind: kind, needs: Needs{Nodes: 2, Network: true}, plan: func(ctx context.Context, p *netPlan, rnd *rand.Rand) error {
		i, why := pick(ctx, p.env, rnd, c)
		var rest []int
		for j := range p.env.Nodes {
			if j != i {
				rest = append(rest, j)
			}
		}
		p.cutGroups([]int{i}, rest)
		p.nodes = names(p.env, []int{i})
		p.detail = fmt.Sprintf("isolate %s (%s) from the other nodes", p.nodes[0], why)
		return nil
	}}
}

// Halves splits the cluster at random into a minority (n/2 nodes) and a
// majority that cannot reach each other.
func Halves() Fault {
	return &netFault{kind: "partition-halves", needs: Needs{Nodes: 2, Network: true}, plan: func(_ context.Context, p *netPlan, rnd *rand.Rand) error {
		perm := rnd.Perm(len(p.env.Nodes))
		minority, majority := sorted(perm[:len(perm)/2]), sorted(perm[len(perm)/2:])
		p.cutGroups(minority, majority)
		p.nodes = names(p.env, minority)
		p.detail = fmt.Sprintf("split into minority %s and majority %s", list(p.env, minority), list(p.env, majority))
		return nil
	}}
}

// Ring puts the nodes on a ring in random order; each node reaches only its
// nearest neighbours on either side, which with itself make a majority, and
// no two nodes see the same majority (Jepsen's majorities ring).
func Ring() Fault {
	return &netFault{kind: "partition-ring", needs: Needs{Nodes: 4, Network: true}, plan: func(_ context.Context, p *netPlan, rnd *rand.Rand) error {
		n := len(p.env.Nodes)
		d := ringReach(n)
		order := rnd.Perm(n)
		pos := make([]int, n)
		for k, i := range order {
			pos[i] = k
		}
		for a := range n {
			for b := a + 1; b < n; b++ {
				dist := abs(pos[a] - pos[b])
				if min(dist, n-dist) > d {
					p.cut(a, b)
				}
			}
		}
		p.nodes = names(p.env, order)
		p.detail = fmt.Sprintf("majorities ring %s: each node reaches the %d nearest on each side (%d of %d nodes with itself)",
			strings.Join(p.nodes, "-"), d, 2*d+1, n)
		return nil
	}}
}

// ringReach is how many neighbours on each side a node of a majorities ring
// of n nodes keeps: the fewest that, with itself, make a majority.
func ringReach(n int) int {
	majority := n/2 + 1
	return majority / 2 // ceil((majority-1)/2)
}

// Bridge splits the cluster into two halves that cannot reach each other
// but both reach one node, the bridge.
func Bridge() Fault {
	return &netFault{kind: "partition-bridge", needs: Needs{Nodes: 3, Network: true}, plan: func(_ context.Context, p *netPlan, rnd *rand.Rand) error {
		perm := rnd.Perm(len(p.env.Nodes))
		bridge := perm[0]
		rest := perm[1:]
		a, b := sorted(rest[:len(rest)/2]), sorted(rest[len(rest)/2:])
		p.cutGroups(a, b)
		p.nodes = names(p.env, []int{bridge})
		p.detail = fmt.Sprintf("bridge %s between %s and %s, which cannot reach each other", p.nodes[0], list(p.env, a), list(p.env, b))
		return nil
	}}
}

// OneWay stops one node (chosen) from opening connections to the others,
// while they can still open connections to it, which work both ways. It
// works at connection level, with connection tracking: at packet level a
// one-way cut would break every TCP connection in both directions.
func OneWay(kind string, c Choice) Fault {
	return &netFault{kind: kind, needs: Needs{Nodes: 2, Network: true}, plan: func(ctx context.Context, p *netPlan, rnd *rand.Rand) error {
		i, why := pick(ctx, p.env, rnd, c)
		for j := range p.env.Nodes {
			if j != i {
				p.noConn(i, j)
			}
		}
		p.nodes = names(p.env, []int{i})
		p.detail = fmt.Sprintf("%s (%s) cannot open connections to the other nodes; they can to it (connection level)", p.nodes[0], why)
		return nil
	}}
}

// ClientIsolate cuts a random minority of the nodes (at least one) off from
// every client, the load generator included, while all nodes still reach
// each other.
func ClientIsolate() Fault {
	return &netFault{kind: "partition-client", needs: Needs{Nodes: 2, Network: true}, plan: func(_ context.Context, p *netPlan, rnd *rand.Rand) error {
		n := len(p.env.Nodes)
		k := max(1, (n-1)/2)
		cut := sorted(rnd.Perm(n)[:k])
		for _, i := range cut {
			p.isolateClients(i)
		}
		p.nodes = names(p.env, cut)
		p.detail = fmt.Sprintf("clients cannot reach %s, which still reach every node", list(p.env, cut))
		return nil
	}}
}

// Loss drops a share of the packets on every link between nodes, at random;
// clients are not affected.
func Loss(percent int) Fault {
	return &netFault{kind: "loss", needs: Needs{Nodes: 2, Network: true}, plan: func(_ context.Context, p *netPlan, _ *rand.Rand) error {
		for a := range p.env.Nodes {
			p.rules[a].LossPercent = percent
			for b := range p.env.Nodes {
				if a != b {
					p.rules[a].LossFrom = append(p.rules[a].LossFrom, p.addr(b))
					p.link(p.env.Nodes[b].Name(), p.env.Nodes[a].Name())
				}
			}
		}
		p.nodes = names(p.env, seq(len(p.env.Nodes)))
		p.detail = fmt.Sprintf("drop %d%% of the packets on every link between nodes, at random", percent)
		return nil
	}}
}

// Delay delays every packet every node sends, with tc netem: only where the
// kernel has netem.
func Delay(delay, jitter time.Duration) Fault {
	return &netFault{kind: "delay", needs: Needs{Nodes: 1, Network: true, Netem: true}, plan: func(_ context.Context, p *netPlan, _ *rand.Rand) error {
		for a := range p.env.Nodes {
			p.rules[a].Delay, p.rules[a].Jitter = delay, jitter
		}
		p.nodes = names(p.env, seq(len(p.env.Nodes)))
		p.detail = fmt.Sprintf("delay every packet every node sends by %v ± %v (tc netem)", delay, jitter)
		return nil
	}}
}

func sorted(s []int) []int {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func list(env *Env, idx []int) string { return "[" + strings.Join(names(env, idx), " ") + "]" }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
