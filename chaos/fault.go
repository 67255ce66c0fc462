// Package chaos holds the faults (nemeses) Faultline injects into a running
// cluster, and the schedules that decide when. Every fault can be healed, and
// every start and stop is recorded as an event of the nemesis process.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

// Fault is one kind of nemesis.
type Fault interface {
	// Kind names the fault in --nemesis and in the history.
	Kind() string
	// Start injects the fault and says exactly what it did.
	Start(ctx context.Context, env *Env) (*history.Fault, error)
	// Stop heals what Start did.
	Stop(ctx context.Context, env *Env) error
}

// Env is what faults act on.
type Env struct {
	Nodes    []runtime.Node
	Target   targets.Target
	HTTP     *http.Client
	Firewall Firewall
	// Rand drives every random choice, so that a seed fixes the schedule.
	Rand *rand.Rand
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
	return lf.Leader(ctx, e.HTTP, bases)
}

// HealNetwork removes Faultline's rules from every node, whatever installed
// them. It is the last resort at the end of a run and on error.
func HealNetwork(ctx context.Context, env *Env) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, n := range env.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns, err := n.NetNS(ctx)
			if err == nil {
				err = env.Firewall.Clear(ns)
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("heal %s: %w", n.Name(), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
