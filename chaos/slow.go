package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime"
)

// PlanChecker is a fault that can tell, before anything is launched,
// whether it can work on the runtime the run will use; bench refuses the
// run in one line when it cannot.
type PlanChecker interface {
	CheckPlan(p PlanInfo) error
}

// PlanInfo is what is known of the run at plan time.
type PlanInfo struct {
	// Runtime is docker, local or auto.
	Runtime string
	// Root says this process runs as root.
	Root bool
}

// Slow caps one node's (chosen) CPU or I/O bandwidth for the fault's
// window, through its cgroup (a gray failure: the node is up, only slow).
func Slow(kind string, l runtime.Limits, c Choice, node string) Fault {
	return &slow{kind: kind, limits: l, choose: c, node: node}
}

type slow struct {
	kind   string
	limits runtime.Limits
	choose Choice
	node   string // a node named outright, or ""
}

var (
	_ Fault       = (*slow)(nil)
	_ PlanChecker = (*slow)(nil)
)

func (f *slow) Kind() string { return f.kind }
func (f *slow) Needs() Needs {
	return Needs{Nodes: max(1, nodeNum(f.node)), Cgroups: true}
}

func (f *slow) CheckPlan(p PlanInfo) error {
	if f.limits.IOBytesPerSec > 0 && !runtime.CgroupV2() {
		return fmt.Errorf("--nemesis %s: %v", f.kind, runtime.ErrNoIOLimit)
	}
	if p.Runtime == "local" && !p.Root {
		return fmt.Errorf("--nemesis %s: on the local runtime it moves the node into a cgroup of its own: needs root", f.kind)
	}
	return nil
}

func (f *slow) Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	var i int
	why := "named"
	if f.node != "" {
		i = -1
		for j, n := range env.Nodes {
			if n.Name() == f.node {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("%s: the cluster has no node %s", f.kind, f.node)
		}
	} else {
		i, why = pick(ctx, env, rnd, f.choose)
	}
	n := env.Nodes[i]
	th, ok := n.(runtime.Throttler)
	if !ok {
		return nil, fmt.Errorf("%s: the runtime of node %s cannot cap its resources", f.kind, n.Name())
	}
	start := time.Now()
	remove := env.onHealAll(func(ctx context.Context) error { _, err := th.Throttle(ctx, runtime.Limits{}); return err })
	how, err := th.Throttle(ctx, f.limits)
	if err != nil {
		_, uerr := th.Throttle(context.WithoutCancel(ctx), runtime.Limits{})
		remove()
		return nil, errors.Join(fmt.Errorf("%s: %w", f.kind, err), uerr)
	}
	took := time.Since(start)
	return &Active{
		Fault: &history.Fault{Kind: f.kind, Nodes: []string{n.Name()}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("slow %s (%s): %s; %s; in place in %v", n.Name(), why, limitsString(f.limits), how, took.Round(time.Microsecond))},
		Heal: func(ctx context.Context) (string, error) {
			start := time.Now()
			how, err := th.Throttle(ctx, runtime.Limits{})
			if err != nil {
				return "", err
			}
			remove()
			return fmt.Sprintf("limits of %s lifted in %v (%s)", n.Name(), time.Since(start).Round(time.Microsecond), how), nil
		},
	}, nil
}

func limitsString(l runtime.Limits) string {
	var parts []string
	if l.CPUPercent > 0 {
		parts = append(parts, fmt.Sprintf("CPU capped at %d%% of one CPU", l.CPUPercent))
	}
	if l.IOBytesPerSec > 0 {
		parts = append(parts, "disk reads and writes capped at "+humanRate(l.IOBytesPerSec))
	}
	return strings.Join(parts, ", ")
}

// slowFactory reads node= (leader, follower, random or a node's name) and
// the limit the kind takes.
func slowFactory(io bool) Factory {
	return func(p *Params) (Fault, error) {
		var l runtime.Limits
		if io {
			v := p.String("bps", "1MB")
			r, err := parseRate(v)
			if err != nil {
				return nil, fmt.Errorf("--nemesis %s:bps=%s: %w", p.Name, v, err)
			}
			l.IOBytesPerSec = r
		} else {
			v := strings.TrimSuffix(p.String("quota", "20%"), "%")
			q, err := strconv.Atoi(v)
			if err != nil || q < 1 || q > 10000 {
				return nil, fmt.Errorf("--nemesis %s:quota=%s: want a percentage of one CPU such as 20%%", p.Name, v)
			}
			l.CPUPercent = q
		}
		c, node := ChooseRandom, ""
		switch v := p.String("node", "random"); Choice(v) {
		case ChooseLeader, ChooseFollower, ChooseRandom:
			c = Choice(v)
		default:
			if nodeNum(v) == 0 {
				return nil, fmt.Errorf("--nemesis %s:node=%s: want leader, follower, random or a node such as n2", p.Name, v)
			}
			node = v
		}
		return Slow(p.Name, l, c, node), p.Done()
	}
}

func registerSlow() {
	Register("slow-cpu", "cap a node's CPU (cgroup: docker update, or a cgroup of its own on local); slow-cpu:quota=20%,node=leader|follower|random|n2",
		slowFactory(false))
	Register("slow-io", "cap a node's disk bandwidth (cgroup v2 io.max; refused on cgroup v1); slow-io:bps=1MB,node=leader|follower|random|n2",
		slowFactory(true))
}
