// Package chaos holds the faults (nemeses) Faultline injects into a running
// cluster, and the schedules that decide when. Every fault can be healed, and
// every start and stop is recorded as an event of the nemesis process.
//
// Faults act only through runtime.Node (kill, start, pause, resume, and the
// node's network namespace) and a Firewall, so they work on every runtime.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/runtime"
)

// Fault is one kind of nemesis.
type Fault interface {
	// Kind names the fault in --nemesis and in the history.
	Kind() string
	// Needs says what the fault needs to be possible at all.
	Needs() Needs
	// Start injects the fault and returns exactly what it did and how to
	// heal it. Every random choice comes from rnd, so that a seed fixes
	// them. On error, whatever was done is undone.
	Start(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error)
}

// Needs is what a fault needs.
type Needs struct {
	// Nodes is the smallest cluster the fault makes sense on.
	Nodes int
	// Network faults need a Firewall.
	Network bool
	// Netem faults need the kernel's tc netem.
	Netem bool
	// LazyFS faults need the nodes' data directories on lazyfs
	// (runtime.LazyDisk); DataFiles ones need to reach the data files
	// (runtime.DataDirNode); Clock ones need a clock hook in the target
	// (targets.ClockHooked) and a runtime that controls it
	// (runtime.ClockNode).
	LazyFS, DataFiles, Clock bool
	// Members faults change the membership: the target is a
	// targets.MemberChanger, the nodes runtime.FreshNode.
	Members bool
	// Queue faults read an NFQUEUE inside the nodes' namespaces: the
	// firewall must be a PacketShaper (netns from this process, or the
	// sidecar's agents), and the kernel must queue (netfault.CheckQueue).
	Queue bool
	// Cgroups faults cap a node's resources through the runtime
	// (runtime.Throttler); PlanChecker says where they cannot.
	Cgroups bool
	// Failpoint names the failpoint the fault arms: the target is a
	// targets.Failpointed built with failpoints, and knows the name.
	Failpoint string
}

// Active is an injected fault.
type Active struct {
	// Fault describes exactly what was done: nodes, links, how long it took
	// to take effect.
	Fault *history.Fault
	// Heal undoes it, and says how.
	Heal func(ctx context.Context) (detail string, err error)
}

// Env is what faults act on.
type Env struct {
	Nodes  []runtime.Node
	Target targets.Target
	HTTP   *http.Client
	// Firewall installs network faults; nil when none can be (then network
	// faults refuse to start).
	Firewall Firewall

	mu      sync.Mutex
	paused  map[int]bool
	killed  map[int]bool
	clocked map[int]bool
	// healers undo what faults keep running in this process (queue
	// readers); HealAll runs them whatever fault added them.
	healers    map[int]func(context.Context) error
	nextHealer int
}

// onHealAll adds f to what HealAll undoes; remove takes it off again (the
// fault healed itself).
func (e *Env) onHealAll(f func(context.Context) error) (remove func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.healers == nil {
		e.healers = map[int]func(context.Context) error{}
	}
	e.nextHealer++
	k := e.nextHealer
	e.healers[k] = f
	return func() {
		e.mu.Lock()
		delete(e.healers, k)
		e.mu.Unlock()
	}
}

func (e *Env) takeHealers() []func(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []func(context.Context) error
	for _, f := range e.healers {
		out = append(out, f)
	}
	e.healers = nil
	return out
}

// Leader returns the index of the node that leads, if the target can tell.
func (e *Env) Leader(ctx context.Context) (int, error) {
	lf, ok := e.Target.(targets.LeaderFinder)
	if !ok {
		return -1, fmt.Errorf("target %s cannot tell its leader", e.Target.Name())
	}
	bases := make([]string, len(e.Nodes))
	for i, n := range e.Nodes {
		bases[i] = n.Endpoint(targets.ClientPort)
	}
	hc := e.HTTP
	if hc == nil {
		hc = httpx.NewClient(2 * time.Second)
	}
	return lf.Leader(ctx, hc, bases)
}

// mark records that node i is (or is no longer) paused or killed, so that
// HealAll knows what to undo whatever happens to the fault that did it.
func (e *Env) mark(set *map[int]bool, i int, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if *set == nil {
		*set = map[int]bool{}
	}
	if on {
		(*set)[i] = true
	} else {
		delete(*set, i)
	}
}

func (e *Env) marked(set map[int]bool) []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]int, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// Choice says which node a single-node fault picks.
type Choice string

const (
	ChooseLeader   Choice = "leader"
	ChooseFollower Choice = "follower"
	ChooseRandom   Choice = "random"
)

// pick chooses a node. The leader is live state: when no leader can be
// found, any node will do (the choice must not block the fault), and the
// reason says so.
func pick(ctx context.Context, env *Env, rnd *rand.Rand, c Choice) (int, string) {
	n := len(env.Nodes)
	if c == ChooseRandom || c == "" {
		return rnd.IntN(n), "random"
	}
	l, err := env.Leader(ctx)
	if err != nil {
		return rnd.IntN(n), "random: no leader known: " + err.Error()
	}
	if c == ChooseFollower {
		return (l + 1 + rnd.IntN(n-1)) % n, "follower"
	}
	return l, "leader"
}

func names(env *Env, idx []int) []string {
	out := make([]string, len(idx))
	for i, j := range idx {
		out[i] = env.Nodes[j].Name()
	}
	return out
}

// HealAll undoes every fault, whatever installed it: it resumes paused
// nodes, restarts killed ones, and removes Faultline's network rules from
// every node. It is the last resort at the end of a run, on error and on
// Ctrl-C; it records nothing.
func HealAll(ctx context.Context, env *Env) error {
	var errs []error
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, i := range env.marked(env.paused) {
		wg.Go(func() {
			if err := env.Nodes[i].Resume(ctx); err != nil {
				fail(fmt.Errorf("heal: %w", err))
				return
			}
			env.mark(&env.paused, i, false)
		})
	}
	wg.Wait()
	if killed := env.marked(env.killed); len(killed) > 0 {
		if _, err := startNodes(ctx, env, killed); err != nil {
			fail(fmt.Errorf("heal: %w", err))
		}
	}
	if err := healClocks(ctx, env); err != nil {
		fail(fmt.Errorf("heal: %w", err))
	}
	if env.Firewall != nil {
		if err := clearAll(ctx, env); err != nil {
			fail(err)
		}
	}
	for _, h := range env.takeHealers() {
		if err := h(ctx); err != nil {
			fail(fmt.Errorf("heal: %w", err))
		}
	}
	return errors.Join(errs...)
}
