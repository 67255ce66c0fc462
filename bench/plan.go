package bench

import (
	"errors"
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/chaos/nemesis"
	"github.com/faultline/faultline/targets"
)

// Plan validates sc as Prepare does and lists the faults its schedule
// injects while the load runs (faultline run --dry-run). Faults that pick
// their node at run time (kill-leader) name only their kind here.
func Plan(sc scenario.Scenario) ([]nemesis.Planned, error) {
	p, err := Prepare(sc)
	if err != nil {
		return nil, err
	}
	return p.nemesis.Planned(), nil
}

// planNemesis is the nemesis plan of sc, on target t; what it refuses is a
// *scenario.ConfigError.
func planNemesis(sc scenario.Scenario, t targets.Target) (*nemesis.Plan, error) {
	c := sc.Chaos
	steps := make([]nemesis.Step, len(c.Timeline))
	for i, s := range c.Timeline {
		steps[i] = nemesis.Step{At: time.Duration(s.At), For: time.Duration(s.For), Fault: s.Fault}
	}
	np, err := nemesis.New(nemesis.Config{
		Faults: c.Faults(), Options: c.Options(), Interval: time.Duration(c.Interval), Timeline: steps,
		Firewall: c.Firewall, Seed: sc.Seed, Duration: time.Duration(sc.Load.Duration),
		Nodes: sc.Cluster.Nodes, Runtime: sc.Cluster.Runtime, Netns: sc.Cluster.Netns, Target: t,
	})
	return np, refused(err)
}

// refused turns the nemesis's refusals into *ConfigErrors.
func refused(err error) error {
	var re *nemesis.RefusedError
	if errors.As(err, &re) {
		return &scenario.ConfigError{Err: re.Err}
	}
	return err
}
