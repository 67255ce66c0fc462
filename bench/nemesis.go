package bench

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

// nemesisPlan is the faults of a scenario, resolved without launching
// anything.
type nemesisPlan struct {
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

// planNemesis resolves the faults and their schedule, and refuses (as a
// *ConfigError) what cannot work here: unknown faults, a cluster too small
// for a topology, network faults without the privileges they need, delay on
// a kernel without netem, a schedule whose first fault would come after the
// load.
func planNemesis(sc Scenario) (*nemesisPlan, error) {
	c := sc.Chaos
	names := faultNames(c.Nemesis)
	faults, err := chaos.Parse(names, c.Options())
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	np := &nemesisPlan{faults: faults, firewall: c.Firewall, until: time.Duration(sc.Load.Duration)}
	byName := map[string]chaos.Fault{}
	for i, f := range faults {
		byName[names[i]] = f
		need := f.Needs()
		if need.Nodes > sc.Cluster.Nodes {
			return nil, configErr("--nemesis %s needs at least %d nodes (got --nodes %d)", names[i], need.Nodes, sc.Cluster.Nodes)
		}
		np.network = np.network || need.Network
		np.netem = np.netem || need.Netem
		np.queue = np.queue || need.Queue
		np.cgroups = np.cgroups || need.Cgroups
	}
	if err := checkSlow(sc, np); err != nil {
		return nil, err
	}
	if err := planNodeFaults(sc, np, names, faults); err != nil {
		return nil, err
	}
	if len(c.Timeline) > 0 {
		steps := make([]chaos.Step, len(c.Timeline))
		for i, s := range c.Timeline {
			if s.At >= sc.Load.Duration {
				return nil, configErr("timeline step %d (%s at %v) starts after the load ends (--duration %v)", i+1, s.Fault, s.At, sc.Load.Duration)
			}
			steps[i] = chaos.Step{At: time.Duration(s.At), For: time.Duration(s.For), Fault: byName[s.Fault]}
		}
		if np.schedule, err = chaos.Timeline(steps, sc.Seed); err != nil {
			return nil, &ConfigError{Err: err}
		}
	} else {
		// Quiet for an interval before the first fault, and no fault starts
		// once the load has ended: a run that could not see a single fault
		// would pass for one that survived them.
		if len(faults) > 0 && c.Interval >= sc.Load.Duration {
			return nil, configErr("--nemesis %s: no fault would happen: the first is due after %v of quiet (--nemesis-interval) and the load lasts %v (--duration); shorten the interval or lengthen the load",
				strings.Join(names, ","), c.Interval, sc.Load.Duration)
		}
		iv := time.Duration(c.Interval)
		np.schedule = chaos.Periodic(faults, iv, iv, sc.Seed)
	}
	if !np.network {
		return np, nil
	}
	root := os.Geteuid() == 0
	// auto may end up on docker, which has the sidecar for non-root hosts.
	isDocker := sc.Cluster.Runtime == pick.Docker || sc.Cluster.Runtime == pick.Auto
	switch {
	case sc.Cluster.Runtime == pick.Local && (sc.Cluster.Netns == pick.NetnsOff || !root):
		return nil, configErr("--nemesis %s: network faults on the local runtime need its network namespaces (root, and --netns auto or on)", strings.Join(names, ","))
	case np.firewall == FirewallSidecar && !isDocker:
		return nil, configErr("--firewall sidecar needs the docker runtime (got --runtime %s)", sc.Cluster.Runtime)
	case np.firewall == FirewallNetNS && !root:
		return nil, configErr("--nemesis %s: network faults with --firewall netns need root (or use --firewall sidecar with docker)", strings.Join(names, ","))
	case np.firewall == FirewallAuto && !root && !isDocker:
		return nil, configErr("--nemesis %s: network faults on the %s runtime need root", strings.Join(names, ","), sc.Cluster.Runtime)
	case np.firewall == FirewallAuto && !root:
		np.firewall = FirewallSidecar
	}
	// Whether the kernel can queue packets to user space is checked too,
	// by the sidecar without root.
	if np.queue && np.firewall != FirewallSidecar {
		if err := netfault.CheckQueue(); err != nil {
			return nil, configErr("--nemesis %s: %v", strings.Join(names, ","), err)
		}
	}
	// Whether the kernel can delay is checked, never assumed. Without root
	// the sidecar checks it, before the cluster is launched.
	if np.netem && np.firewall != FirewallSidecar {
		if err := netfault.CheckNetem(); err != nil {
			return nil, configErr("--nemesis delay: %v", err)
		}
	}
	return np, nil
}

// firewallSetup is what the firewall needs that is built before the cluster
// is launched: the sidecar's image, once the kernel was found able to do
// what is asked.
func (np *nemesisPlan) prepareSidecar(ctx context.Context, rt runtime.Runtime, runID string, logf func(string, ...any)) (string, error) {
	if !np.network || np.firewall != FirewallSidecar {
		return "", nil
	}
	drt, ok := rt.(*docker.Runtime)
	if !ok {
		return "", configErr("--firewall sidecar needs the docker runtime")
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
				return "", configErr("--nemesis delay: %v", err)
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
				return "", configErr("packet faults: %v", err)
			}
			return "", err
		}
	}
	return image, nil
}

// newChaosEnv is what the faults of a run act on, with the firewall the
// plan chose. With auto it enters the nodes' namespaces when it can, and
// falls back to the sidecar on docker when it cannot.
func newChaosEnv(ctx context.Context, np *nemesisPlan, t targets.Target, c runtime.Cluster, rt runtime.Runtime,
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
		if image, perr = (&nemesisPlan{network: true, netem: np.netem, queue: np.queue, firewall: FirewallSidecar}).prepareSidecar(ctx, rt, runID, logf); perr != nil {
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

// startNemesis runs the schedule in the background. The returned stop ends
// it, heals what is active and returns the schedule's error. A fault that
// cannot be healed ends the load early through abort.
func startNemesis(ctx context.Context, np *nemesisPlan, env *chaos.Env, rec chaos.Recorder, abort func()) (stop func() error) {
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

// healAndVerify heals everything, then checks on every node that none of
// Faultline's rules is left.
func healAndVerify(ctx context.Context, env *chaos.Env, logf func(string, ...any)) error {
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
func nodeHosts[N interface{ Endpoint(string) string }](nodes []N) func(string) bool {
	return httpx.AllowEndpoints(len(nodes), func(i int) string { return nodes[i].Endpoint(targets.ClientPort) })
}
