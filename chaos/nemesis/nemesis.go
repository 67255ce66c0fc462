// Package nemesis is a run's plan of faults: the faults its scenario's
// chaos section names, resolved and refused where they cannot work before
// anything is launched, their schedule (periodic or a timeline), the
// firewall they act through, and running that schedule beside the load.
// It takes plain values, not the scenario, so that it stays next to the
// faults (chaos) and below the scenario that configures it.
package nemesis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/chaos/sidecar"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// Firewall modes (--firewall, chaos.firewall).
const (
	FirewallAuto    = "auto"
	FirewallNetNS   = "netns"
	FirewallSidecar = "sidecar"
)

// Config is what a plan is made from: the chaos section's values and what
// it needs to know of the rest of the scenario.
type Config struct {
	// Faults are the names of the faults a periodic schedule chooses
	// from ("none" left out).
	Faults  []string
	Options chaos.Options
	// Interval is the quiet time before a fault and how long it lasts.
	Interval time.Duration
	// Timeline, when given, replaces the periodic schedule.
	Timeline []Step
	// Firewall is auto, netns or sidecar.
	Firewall string
	Seed     uint64
	// Duration is the load's: no fault starts after it.
	Duration time.Duration
	// Nodes is the cluster's size; Runtime and Netns its runtime choice
	// (targets/runtime/pick).
	Nodes          int
	Runtime, Netns string
	Target         targets.Target
}

// Step is one fault of an explicit timeline, by name.
type Step struct {
	At, For time.Duration
	Fault   string
}

// RefusedError is a plan that cannot work on this machine or with this
// scenario: nothing was launched for it (the CLI's exit 3).
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

func refuse(format string, args ...any) error {
	return &RefusedError{Err: fmt.Errorf(format, args...)}
}

// Plan is the faults of a scenario, resolved without launching anything.
type Plan struct {
	faults   []chaos.Fault
	schedule *chaos.Schedule
	// network says some fault needs a firewall; netem that one needs the
	// kernel's netem.
	network, netem bool
	// queue says some fault reads an NFQUEUE in the nodes' namespaces
	// (packet faults); cgroups that one throttles a node's CPU or I/O.
	queue, cgroups bool
	// firewall is the mode decided so far (auto may still fall back to the
	// sidecar once the nodes exist).
	firewall string
	// lazyFS says the nodes' data directories must be on lazyfs.
	lazyFS bool
	// until ends the schedule: faults happen while the load sends, not
	// while it waits for its last answers.
	until time.Duration
}

// New resolves the faults and their schedule, and refuses (every error is
// a *RefusedError) what cannot work here: unknown faults, a cluster too
// small for a topology, network faults without the privileges they need,
// delay on a kernel without netem, a schedule whose first fault would come
// after the load.
func New(c Config) (*Plan, error) {
	names := c.Faults
	faults, err := chaos.Parse(names, c.Options)
	if err != nil {
		return nil, &RefusedError{Err: err}
	}
	np := &Plan{faults: faults, firewall: c.Firewall, until: c.Duration}
	byName := map[string]chaos.Fault{}
	for i, f := range faults {
		byName[names[i]] = f
		need := f.Needs()
		if need.Nodes > c.Nodes {
			return nil, refuse("--nemesis %s needs at least %d nodes (got --nodes %d)", names[i], need.Nodes, c.Nodes)
		}
		np.network = np.network || need.Network
		np.netem = np.netem || need.Netem
		np.queue = np.queue || need.Queue
		np.cgroups = np.cgroups || need.Cgroups
	}
	if err := checkSlow(c, np); err != nil {
		return nil, err
	}
	if err := planNodeFaults(c, np, names, faults); err != nil {
		return nil, err
	}
	if len(c.Timeline) > 0 {
		steps := make([]chaos.Step, len(c.Timeline))
		for i, s := range c.Timeline {
			if s.At >= c.Duration {
				return nil, refuse("timeline step %d (%s at %v) starts after the load ends (--duration %v)", i+1, s.Fault, s.At, c.Duration)
			}
			steps[i] = chaos.Step{At: s.At, For: s.For, Fault: byName[s.Fault]}
		}
		if np.schedule, err = chaos.Timeline(steps, c.Seed); err != nil {
			return nil, &RefusedError{Err: err}
		}
	} else {
		// Quiet for an interval before the first fault, and no fault starts
		// once the load has ended: a run that could not see a single fault
		// would pass for one that survived them.
		if len(faults) > 0 && c.Interval >= c.Duration {
			return nil, refuse("--nemesis %s: no fault would happen: the first is due after %v of quiet (--nemesis-interval) and the load lasts %v (--duration); shorten the interval or lengthen the load",
				strings.Join(names, ","), c.Interval, c.Duration)
		}
		np.schedule = chaos.Periodic(faults, c.Interval, c.Interval, c.Seed)
	}
	if !np.network {
		return np, nil
	}
	root := os.Geteuid() == 0
	// auto may end up on docker, which has the sidecar for non-root hosts.
	isDocker := c.Runtime == pick.Docker || c.Runtime == pick.Auto
	switch {
	case c.Runtime == pick.Local && (c.Netns == pick.NetnsOff || !root):
		return nil, refuse("--nemesis %s: network faults on the local runtime need its network namespaces (root, and --netns auto or on)", strings.Join(names, ","))
	case np.firewall == FirewallSidecar && !isDocker:
		return nil, refuse("--firewall sidecar needs the docker runtime (got --runtime %s)", c.Runtime)
	case np.firewall == FirewallNetNS && !root:
		return nil, refuse("--nemesis %s: network faults with --firewall netns need root (or use --firewall sidecar with docker)", strings.Join(names, ","))
	case np.firewall == FirewallAuto && !root && !isDocker:
		return nil, refuse("--nemesis %s: network faults on the %s runtime need root", strings.Join(names, ","), c.Runtime)
	case np.firewall == FirewallAuto && !root:
		np.firewall = FirewallSidecar
	}
	// Whether the kernel can queue packets to user space is checked too,
	// by the sidecar without root.
	if np.queue && np.firewall != FirewallSidecar {
		if err := netfault.CheckQueue(); err != nil {
			return nil, refuse("--nemesis %s: %v", strings.Join(names, ","), err)
		}
	}
	// Whether the kernel can delay is checked, never assumed. Without root
	// the sidecar checks it, before the cluster is launched.
	if np.netem && np.firewall != FirewallSidecar {
		if err := netfault.CheckNetem(); err != nil {
			return nil, refuse("--nemesis delay: %v", err)
		}
	}
	return np, nil
}

// Faults are the plan's faults, in the order the scenario names them.
func (np *Plan) Faults() []chaos.Fault { return np.faults }

// LazyFS says the nodes' data directories must be on lazyfs
// (runtime.ClusterSpec.LazyFS).
func (np *Plan) LazyFS() bool { return np.lazyFS }

// Planned is one fault a run would inject, as planned before anything is
// launched.
type Planned struct {
	At, For time.Duration
	Fault   string
}

// Planned lists the faults the schedule injects while the load runs
// (faultline run --dry-run). Faults that pick their node at run time
// (kill-leader) name only their kind here.
func (np *Plan) Planned() []Planned {
	var out []Planned
	for _, st := range np.schedule.Plan(np.until) {
		out = append(out, Planned{At: st.At, For: st.For, Fault: st.Fault.Kind()})
	}
	return out
}

// PrepareSidecar builds what the firewall needs before the cluster is
// launched: the sidecar's image (returned; empty when no sidecar is
// needed), once the kernel was found able to do what is asked. A kernel
// that cannot is a *RefusedError.
func (np *Plan) PrepareSidecar(ctx context.Context, rt runtime.Runtime, runID string, logf func(string, ...any)) (string, error) {
	if !np.network || np.firewall != FirewallSidecar {
		return "", nil
	}
	drt, ok := rt.(*docker.Runtime)
	if !ok {
		return "", refuse("--firewall sidecar needs the docker runtime")
	}
	logf("building the network sidecar (network faults without host root)")
	image, err := sidecar.BuildImage(ctx, drt, "", "")
	if err != nil {
		return "", fmt.Errorf("network sidecar: %w", err)
	}
	if np.netem {
		cli, err := sidecar.NewClient()
		if err != nil {
			return "", err
		}
		if err := sidecar.CheckNetem(ctx, cli, image, runID); err != nil {
			if errors.Is(err, netfault.ErrNoNetem) {
				return "", refuse("--nemesis delay: %v", err)
			}
			return "", err
		}
	}
	if np.queue {
		cli, err := sidecar.NewClient()
		if err != nil {
			return "", err
		}
		if err := sidecar.CheckQueue(ctx, cli, image, runID); err != nil {
			if errors.Is(err, netfault.ErrNoQueue) {
				return "", refuse("packet faults: %v", err)
			}
			return "", err
		}
	}
	return image, nil
}

// NewEnv is what the faults of a run act on, with the firewall the plan
// chose. With auto it enters the nodes' namespaces when it can, and falls
// back to the sidecar on docker when it cannot. image is PrepareSidecar's.
// When the returned Env has a Firewall, the caller closes it, error or not.
func (np *Plan) NewEnv(ctx context.Context, t targets.Target, c runtime.Cluster, rt runtime.Runtime,
	runID, image string, logf func(string, ...any)) (*chaos.Env, error) {
	env := &chaos.Env{Nodes: c.Nodes(), Target: t, HTTP: httpx.NewClient(2*time.Second, httpx.WithAllow(nodeHosts(c.Nodes())))}
	if !np.network {
		return env, nil
	}
	mode := np.firewall
	if mode != FirewallSidecar {
		fw := chaos.NewNetlinkFirewall()
		err := fw.Start(ctx, env.Nodes)
		switch {
		case err == nil:
			env.Firewall = fw
			logf("network faults: nftables in each node's namespace, from the host")
			return env, nil
		case mode == FirewallNetNS:
			return nil, fmt.Errorf("--firewall netns: %w", err)
		}
		if _, ok := rt.(*docker.Runtime); !ok {
			return nil, fmt.Errorf("network faults: %w", err)
		}
		logf("cannot enter the nodes' namespaces (%v): using the network sidecar", err)
		var perr error
		if image, perr = (&Plan{network: true, netem: np.netem, queue: np.queue, firewall: FirewallSidecar}).PrepareSidecar(ctx, rt, runID, logf); perr != nil {
			return nil, perr
		}
	}
	cli, err := sidecar.NewClient()
	if err != nil {
		return nil, err
	}
	fw := sidecar.New(cli, image)
	env.Firewall = fw
	if err := fw.Start(ctx, env.Nodes); err != nil {
		return env, fmt.Errorf("start the network sidecars: %w", err)
	}
	logf("network faults: nftables through a sidecar container in each node's namespace")
	return env, nil
}

// Start runs the schedule in the background, recording into rec. The
// returned stop ends it, heals what is active and returns the schedule's
// error. A fault that cannot be healed ends the load early through abort.
func (np *Plan) Start(ctx context.Context, env *chaos.Env, rec chaos.Recorder, abort func()) (stop func() error) {
	if len(np.faults) == 0 {
		return func() error { return nil }
	}
	nctx, cancel := context.WithTimeout(ctx, np.until)
	done := make(chan error, 1)
	go func() {
		err := np.schedule.Run(nctx, env, rec)
		if err != nil {
			abort()
		}
		done <- err
	}()
	return func() error {
		cancel()
		return <-done
	}
}

// HealAndVerify heals everything, then checks on every node that none of
// Faultline's rules is left.
func HealAndVerify(ctx context.Context, env *chaos.Env, logf func(string, ...any)) error {
	if err := chaos.HealAll(ctx, env); err != nil {
		return err
	}
	if env.Firewall == nil {
		return nil
	}
	var errs []error
	for _, n := range env.Nodes {
		left, err := env.Firewall.Installed(ctx, n)
		if err == nil && left {
			err = fmt.Errorf("%s still has Faultline rules after healing", n.Name())
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	logf("healed: no Faultline rules left on any node")
	return nil
}

// nodeHosts accepts the host:port of any node's client endpoint, asked
// per request (an endpoint may change when its node restarts).
func nodeHosts[N runtime.Node](nodes []N) func(string) bool {
	return httpx.AllowEndpoints(len(nodes), func(i int) string { return nodes[i].Endpoint(targets.ClientPort) })
}
