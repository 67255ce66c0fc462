package scenario

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/chaos/nemesis"
)

// ChaosConfig is the faults, their schedule, and what happens after the last
// one: a quiet period, then final reads.
type ChaosConfig struct {
	// Nemesis lists the faults a periodic schedule chooses from, at random
	// (seeded); "none" means no fault.
	Nemesis []string `json:"nemesis"`
	// Interval is both the quiet time before a fault and how long it lasts.
	Interval Duration `json:"interval"`
	// Timeline, when given, replaces the periodic schedule: each step is one
	// fault at a fixed offset from the start of the load.
	Timeline []TimelineStep `json:"timeline,omitempty"`
	// Firewall says how network rules reach the nodes: netns (enter each
	// node's namespace from the host: root), sidecar (a container sharing
	// the node's namespace, NET_ADMIN: no host root, docker only), or auto.
	Firewall string `json:"firewall"`
	// LossPercent is the share of packets the loss fault drops.
	LossPercent int `json:"loss_percent"`
	// Delay and Jitter shape the delay fault (tc netem).
	Delay  Duration `json:"delay"`
	Jitter Duration `json:"jitter"`
	// Quiet is the time the cluster is left alone after the last fault is
	// healed, before the final reads.
	Quiet Duration `json:"quiet"`
	// FinalReads reads every key the run wrote, once everything is healed.
	FinalReads bool `json:"final_reads"`
	// FinalTimeout bounds the final reads (each is retried until it succeeds).
	FinalTimeout Duration `json:"final_timeout"`
}

// TimelineStep is one fault of an explicit timeline.
type TimelineStep struct {
	// At is the offset from the start of the load.
	At Duration `json:"at"`
	// For is how long the fault lasts before it is healed.
	For   Duration `json:"for"`
	Fault string   `json:"fault"`
}

// DefaultChaos partitions the leader away every 10 s, for 10 s, then leaves
// the cluster 5 s to recover before reading every key back.
func DefaultChaos() ChaosConfig {
	o := chaos.DefaultOptions()
	return ChaosConfig{
		Nemesis: []string{"partition"}, Interval: Duration(10 * time.Second), Firewall: nemesis.FirewallAuto,
		LossPercent: o.LossPercent, Delay: Duration(o.Delay), Jitter: Duration(o.Jitter),
		Quiet: Duration(5 * time.Second), FinalReads: true, FinalTimeout: Duration(30 * time.Second),
	}
}

// Options are the numbers the faults take.
func (c *ChaosConfig) Options() chaos.Options {
	return chaos.Options{LossPercent: c.LossPercent, Delay: time.Duration(c.Delay), Jitter: time.Duration(c.Jitter)}
}

// Faults are the names of the faults Nemesis lists, without "none".
func (c *ChaosConfig) Faults() []string { return faultNames(c.Nemesis) }

// Validate checks the numbers and the shape of the schedule; fault names are
// resolved by Prepare.
func (c *ChaosConfig) Validate() error {
	var errs []error
	if len(faultNames(c.Nemesis)) > 0 && len(c.Timeline) == 0 && c.Interval <= 0 {
		errs = append(errs, fmt.Errorf("--nemesis-interval %v: must be positive", c.Interval))
	}
	switch c.Firewall {
	case nemesis.FirewallAuto, nemesis.FirewallNetNS, nemesis.FirewallSidecar:
	default:
		errs = append(errs, fmt.Errorf("--firewall %q: want auto, netns or sidecar", c.Firewall))
	}
	if err := c.Options().Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Quiet < 0 {
		errs = append(errs, fmt.Errorf("--quiet-period %v: must not be negative", c.Quiet))
	}
	if c.FinalReads && c.FinalTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--final-timeout %v: must be positive", c.FinalTimeout))
	}
	for i, s := range c.Timeline {
		if s.Fault == "" || s.Fault == "none" {
			errs = append(errs, fmt.Errorf("timeline step %d: no fault", i+1))
		}
		if s.At < 0 || s.For <= 0 {
			errs = append(errs, fmt.Errorf("timeline step %d (%s): want at >= 0 and a positive for", i+1, s.Fault))
		}
	}
	if len(c.Timeline) > 0 {
		if got, want := faultNames(c.Nemesis), c.timelineKinds(); !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("--nemesis %v and the scenario's timeline (%v) disagree: give one or the other", got, want))
		}
	}
	return errors.Join(errs...)
}

// timelineKinds lists the timeline's faults, each once, in order of first use.
func (c *ChaosConfig) timelineKinds() []string {
	var out []string
	for _, s := range c.Timeline {
		if !slices.Contains(out, s.Fault) {
			out = append(out, s.Fault)
		}
	}
	return out
}
