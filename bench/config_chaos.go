package bench

import (
	"fmt"
	"time"
)

// ChaosConfig is the faults and their schedule.
type ChaosConfig struct {
	Nemesis []string `json:"nemesis"`
	// Interval is both the quiet time before a fault and how long it lasts.
	Interval Duration `json:"interval"`
}

// DefaultChaos partitions the leader away every 10 s, for 10 s.
func DefaultChaos() ChaosConfig {
	return ChaosConfig{Nemesis: []string{"partition"}, Interval: Duration(10 * time.Second)}
}

// Validate checks the schedule's numbers; fault names are resolved by Prepare.
func (c *ChaosConfig) Validate() error {
	if len(faultNames(c.Nemesis)) > 0 && c.Interval <= 0 {
		return fmt.Errorf("--nemesis-interval %v: must be positive", c.Interval)
	}
	return nil
}
