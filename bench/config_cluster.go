package bench

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/registry"
)

// MaxNodes is the largest cluster Faultline launches.
const MaxNodes = 7

// ClusterConfig is the system under test and where it runs.
type ClusterConfig struct {
	Target string `json:"target"`
	// Options configure the target (--target-opt key=value), e.g. raftkv's
	// bug=stale-reads.
	Options map[string]string `json:"options,omitempty"`
	// Version of the target to build; empty means the target's default.
	Version string `json:"version,omitempty"`
	// Runtime is auto, docker or local; scenario.json records the one used.
	Runtime string `json:"runtime"`
	// Netns says whether the local runtime gives each node a network
	// namespace: auto (when root), on, off. scenario.json records the mode used.
	Netns string `json:"netns,omitempty"`
	Nodes int    `json:"nodes"`
	// HealthTimeout bounds the wait for every node to become healthy.
	HealthTimeout Duration `json:"health_timeout"`
}

// DefaultCluster is a 3-node etcd, in Docker when an engine answers.
func DefaultCluster() ClusterConfig {
	return ClusterConfig{Target: "etcd", Runtime: RuntimeAuto, Netns: NetnsAuto, Nodes: 3, HealthTimeout: Duration(60 * time.Second)}
}

// Validate checks the numbers; the target and runtime names are resolved by Prepare.
func (c *ClusterConfig) Validate() error {
	if c.Target == "" {
		return fmt.Errorf("no target given (--target)")
	}
	// A quorum system gains nothing from an even member: it tolerates no more
	// failures than one member fewer.
	if c.Nodes < 1 || c.Nodes > MaxNodes || c.Nodes%2 == 0 {
		return fmt.Errorf("--nodes %d: a cluster has an odd number of nodes from 1 to %d (1, 3, 5 or 7)", c.Nodes, MaxNodes)
	}
	if c.HealthTimeout <= 0 {
		return fmt.Errorf("health timeout %v: must be positive", c.HealthTimeout)
	}
	return nil
}

// LookupTarget resolves the target the cluster section names. Every error is
// a *ConfigError.
func (c *ClusterConfig) LookupTarget() (targets.Target, error) {
	t, err := registry.Lookup(c.Target, c.Options)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	return t, nil
}
