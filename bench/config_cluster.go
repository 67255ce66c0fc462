package bench

import (
	"fmt"
	"time"
)

// ClusterConfig is the system under test and where it runs.
type ClusterConfig struct {
	Target string `json:"target"`
	// Version of the target to build; empty means the target's default.
	Version string `json:"version,omitempty"`
	Runtime string `json:"runtime"`
	Nodes   int    `json:"nodes"`
	// HealthTimeout bounds the wait for every node to become healthy.
	HealthTimeout Duration `json:"health_timeout"`
}

// DefaultCluster is a 3-node etcd in Docker.
func DefaultCluster() ClusterConfig {
	return ClusterConfig{Target: "etcd", Runtime: "docker", Nodes: 3, HealthTimeout: Duration(60 * time.Second)}
}

// Validate checks the numbers; the target and runtime names are resolved by Prepare.
func (c *ClusterConfig) Validate() error {
	if c.Target == "" {
		return fmt.Errorf("no target given (--target)")
	}
	if c.Nodes < 1 {
		return fmt.Errorf("--nodes %d: a cluster needs at least 1 node", c.Nodes)
	}
	if c.HealthTimeout <= 0 {
		return fmt.Errorf("health timeout %v: must be positive", c.HealthTimeout)
	}
	return nil
}
