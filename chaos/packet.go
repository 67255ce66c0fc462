package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/history"
)

// Shape is what a packet fault does to every packet of its links (see
// netfault.Shape).
type Shape = netfault.Shape

// Distributions of the delay.
const (
	DistUniform = netfault.DistUniform
	DistNormal  = netfault.DistNormal
	DistPareto  = netfault.DistPareto
)

// Links say which directed links a packet fault acts on.
type Links struct {
	// Named lists links "n1->n3"; empty means by Around, or every link.
	Named []string
	// Around picks one node (leader, follower, random) and takes every link
	// from and to it.
	Around Choice
}

// Packet is the packet fault: shape every packet on the links, in the
// sender's namespace. Its packets go through an NFQUEUE that this process
// reads inside the node's namespace (user space: no tc netem needed).
func Packet(kind string, s Shape, l Links) Fault {
	return &packetFault{kind: kind, shape: s, links: l}
}

type packetFault struct {
	kind  string
	shape Shape
	links Links
}

var _ Fault = (*packetFault)(nil)

func (f *packetFault) Kind() string { return f.kind }

func (f *packetFault) Needs() Needs {
	n := 2
	for _, l := range f.links.Named {
		a, b, _ := strings.Cut(l, "->")
		n = max(n, nodeNum(a), nodeNum(b))
	}
	return Needs{Nodes: n, Network: true, Queue: true}
}

// nodeNum is k of a node named "nk" (0 if it is not such a name).
func nodeNum(name string) int {
	k, err := strconv.Atoi(strings.TrimPrefix(name, "n"))
	if err != nil || !strings.HasPrefix(name, "n") || k < 1 {
		return 0
	}
	return k
}

// pick resolves the links to (from, to) node indexes.
func (f *packetFault) pick(ctx context.Context, env *Env, rnd *rand.Rand) ([][2]int, string, error) {
	idx := map[string]int{}
	for i, n := range env.Nodes {
		idx[n.Name()] = i
	}
	var out [][2]int
	switch {
	case len(f.links.Named) > 0:
		for _, l := range f.links.Named {
			a, b, _ := strings.Cut(l, "->")
			ia, oka := idx[a]
			ib, okb := idx[b]
			if !oka || !okb {
				return nil, "", fmt.Errorf("%s: link %s names a node the cluster does not have", f.kind, l)
			}
			out = append(out, [2]int{ia, ib})
		}
		return out, "links " + strings.Join(f.links.Named, " "), nil
	case f.links.Around != "":
		i, why := pick(ctx, env, rnd, f.links.Around)
		for j := range env.Nodes {
			if j != i {
				out = append(out, [2]int{i, j}, [2]int{j, i})
			}
		}
		return out, fmt.Sprintf("every link from and to %s (%s)", env.Nodes[i].Name(), why), nil
	default:
		for a := range env.Nodes {
			for b := range env.Nodes {
				if a != b {
					out = append(out, [2]int{a, b})
				}
			}
		}
		return out, "every link between nodes", nil
	}
}

func (f *packetFault) Start(ctx context.Context, env *Env, rnd *rand.Rand) (_ *Active, err error) {
	if env.Firewall == nil {
		return nil, fmt.Errorf("%s: network faults are unavailable on this run (no firewall)", f.kind)
	}
	ps, ok := env.Firewall.(PacketShaper)
	if !ok {
		return nil, fmt.Errorf("%s: the %s firewall cannot run packet faults", f.kind, env.Firewall.Name())
	}
	links, which, err := f.pick(ctx, env, rnd)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rules := make([]netfault.Rules, len(env.Nodes))
	reqs := map[int]*netfault.ShapeRequest{}
	var linkNames []string
	for _, l := range links {
		dst, perr := netip.ParseAddr(env.Nodes[l[1]].Addr())
		if perr != nil || !dst.Is4() {
			return nil, fmt.Errorf("%s: node %s has no IPv4 address", f.kind, env.Nodes[l[1]].Name())
		}
		name := env.Nodes[l[0]].Name() + "->" + env.Nodes[l[1]].Name()
		rules[l[0]].QueueTo = append(rules[l[0]].QueueTo, dst)
		if reqs[l[0]] == nil {
			reqs[l[0]] = &netfault.ShapeRequest{Shape: f.shape, Node: env.Nodes[l[0]].Name()}
		}
		reqs[l[0]].Links = append(reqs[l[0]].Links, netfault.ShapeLink{Dst: dst, Name: name})
		linkNames = append(linkNames, name)
	}
	froms := make([]int, 0, len(reqs))
	for a := range reqs {
		froms = append(froms, a)
	}
	slices.Sort(froms)
	// Every shaper's draws come from its own source seeded from rnd, in
	// node order, so that a seed fixes them.
	for _, a := range froms {
		reqs[a].Seed = [2]uint64{rnd.Uint64(), rnd.Uint64()}
	}
	// stop removes the rules first, so that nothing more is queued, then
	// stops the shapers, which pass what they still hold.
	stop := func(ctx context.Context) (string, error) {
		st := make([]string, len(froms))
		errs := make([]error, len(froms))
		_ = each(seq(len(froms)), func(k int) error {
			st[k], errs[k] = ps.Unshape(ctx, env.Nodes[froms[k]])
			return nil
		})
		return strings.Join(slices.DeleteFunc(st, func(s string) bool { return s == "" }), "; "),
			errors.Join(append(errs, clearAll(ctx, env))...)
	}
	defer func() {
		if err != nil {
			_, _ = stop(context.WithoutCancel(ctx))
		}
	}()
	// Shapers first, bound before any packet is queued (the rules bypass a
	// queue nobody reads, so the order matters only for the first ones).
	if err := each(froms, func(a int) error { return ps.Shape(ctx, env.Nodes[a], *reqs[a]) }); err != nil {
		return nil, fmt.Errorf("%s: %w", f.kind, err)
	}
	if _, err := applyAll(ctx, env, rules); err != nil {
		return nil, fmt.Errorf("%s: %w", f.kind, err)
	}
	took := time.Since(start)
	mech := "from the harness, in the sender's namespace"
	if env.Firewall.Name() != "netns" {
		mech = "in the " + env.Firewall.Name() + " of the sender, in its namespace"
	}
	return &Active{
		Fault: &history.Fault{Kind: f.kind, Nodes: names(env, froms), Links: linkNames, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("%s on %s; mechanism: user space, nftables (xtables NFQUEUE target) queues the sender's packets to Faultline, which reads them %s (no netem; client traffic untouched); in place in %v",
				f.shape, which, mech, took.Round(time.Microsecond))},
		Heal: func(ctx context.Context) (string, error) {
			start := time.Now()
			st, err := stop(ctx)
			return fmt.Sprintf("rules removed and queue readers stopped in %v; %s", time.Since(start).Round(time.Microsecond), st), err
		},
	}, nil
}

func validateShape(name string, s Shape) error {
	if s.Delay < 0 || s.Jitter < 0 {
		return fmt.Errorf("--nemesis %s: delay and jitter must not be negative", name)
	}
	switch s.Dist {
	case DistUniform, DistNormal, DistPareto:
	default:
		return fmt.Errorf("--nemesis %s:dist=%s: want uniform, normal or pareto", name, s.Dist)
	}
	if s.Reorder >= 0.5 {
		return fmt.Errorf("--nemesis %s:reorder=%g: want below 50", name, s.Reorder*100)
	}
	if s.Rate < 0 {
		return fmt.Errorf("--nemesis %s:rate: must not be negative", name)
	}
	return nil
}

// parseRate reads a rate in bytes per second: "1MB", "512KB", "10mbit",
// "125000" (bytes).
func parseRate(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	s = strings.TrimSuffix(s, "/s")
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8}, {"gb", 1e9}, {"mb", 1e6}, {"kb", 1e3}, {"b", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x <= 0 {
		return 0, fmt.Errorf("rate %q: want e.g. 1MB, 512KB or 10mbit", v)
	}
	return int64(x * mult), nil
}

func humanRate(r int64) string { return netfault.HumanRate(r) }

// percent reads a share given in percent (0 to 100, fractions allowed).
func percent(p *Params, key string, def float64) (float64, error) {
	v := p.String(key, "")
	if v == "" {
		return def, nil
	}
	x, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || x < 0 || x > 100 {
		return 0, fmt.Errorf("--nemesis %s:%s=%s: want a percentage from 0 to 100", p.Name, key, v)
	}
	return x / 100, nil
}

// packetFactory makes a packet fault from its parameters, with def giving
// the defaults of the name it is registered under.
func packetFactory(def Shape) Factory {
	return func(p *Params) (Fault, error) {
		s := def
		var err error
		if s.Delay, err = p.Duration("delay", s.Delay); err != nil {
			return nil, err
		}
		if s.Jitter, err = p.Duration("jitter", s.Jitter); err != nil {
			return nil, err
		}
		s.Dist = p.String("dist", s.Dist)
		for _, k := range []struct {
			key string
			to  *float64
		}{{"loss", &s.Loss}, {"duplicate", &s.Duplicate}, {"reorder", &s.Reorder}, {"corrupt", &s.Corrupt}} {
			if *k.to, err = percent(p, k.key, *k.to); err != nil {
				return nil, err
			}
		}
		if v := p.String("rate", ""); v != "" {
			if s.Rate, err = parseRate(v); err != nil {
				return nil, fmt.Errorf("--nemesis %s: %w", p.Name, err)
			}
		}
		if err := validateShape(p.Name, s); err != nil {
			return nil, err
		}
		var l Links
		if v := p.String("links", ""); v != "" {
			for part := range strings.SplitSeq(v, "+") {
				a, b, ok := strings.Cut(strings.TrimSpace(part), "->")
				if !ok || nodeNum(a) == 0 || nodeNum(b) == 0 || a == b {
					return nil, fmt.Errorf("--nemesis %s:links=%s: want links such as n1->n3+n2->n1", p.Name, v)
				}
				l.Named = append(l.Named, a+"->"+b)
			}
		}
		if v := p.String("around", ""); v != "" {
			switch c := Choice(v); c {
			case ChooseLeader, ChooseFollower, ChooseRandom:
				l.Around = c
			default:
				return nil, fmt.Errorf("--nemesis %s:around=%s: want leader, follower or random", p.Name, v)
			}
			if len(l.Named) > 0 {
				return nil, fmt.Errorf("--nemesis %s: links and around exclude each other", p.Name)
			}
		}
		return Packet(p.Name, s, l), p.Done()
	}
}

// packetHelp is the parameters every packet fault takes.
const packetHelp = "delay=50ms,jitter=10ms,dist=uniform|normal|pareto,loss=5,duplicate=5,reorder=10,corrupt=1,rate=1MB,links=n1->n3+n2->n1|around=leader|follower|random"

func registerPacket() {
	Register("packet", "shape packets between nodes in user space (nftables queue + NFQUEUE, no netem needed; root): "+packetHelp,
		packetFactory(Shape{Dist: DistNormal}))
	Register("packet-delay", "delay packets between nodes (default --delay ± --jitter, normal) in user space; takes packet's parameters",
		func(p *Params) (Fault, error) {
			return packetFactory(Shape{Delay: p.Options.Delay, Jitter: p.Options.Jitter, Dist: DistNormal})(p)
		})
	Register("packet-loss", "drop packets between nodes (default --loss-percent) in user space; takes packet's parameters",
		func(p *Params) (Fault, error) {
			return packetFactory(Shape{Loss: float64(p.Options.LossPercent) / 100, Dist: DistNormal})(p)
		})
	Register("packet-duplicate", "duplicate 10% of packets between nodes; takes packet's parameters", packetFactory(Shape{Duplicate: 0.1, Dist: DistNormal}))
	Register("packet-reorder", "reorder 10% of packets between nodes; takes packet's parameters", packetFactory(Shape{Reorder: 0.1, Dist: DistNormal}))
	Register("packet-corrupt", "corrupt 5% of packets between nodes (bad checksums: dropped by receivers); takes packet's parameters", packetFactory(Shape{Corrupt: 0.05, Dist: DistNormal}))
	Register("packet-rate", "cap every link between nodes at 1MB/s; takes packet's parameters", packetFactory(Shape{Rate: 1e6, Dist: DistNormal}))
}
