package bench

import (
	"fmt"
	"time"
)

// CheckConfig configures the checks run on the history.
type CheckConfig struct {
	// Timeout bounds the linearizability check.
	Timeout Duration `json:"timeout"`
}

// DefaultCheck gives the linearizability check two minutes.
func DefaultCheck() CheckConfig { return CheckConfig{Timeout: Duration(2 * time.Minute)} }

// Validate checks the numbers.
func (c *CheckConfig) Validate() error {
	if c.Timeout <= 0 {
		return fmt.Errorf("--check-timeout %v: must be positive", c.Timeout)
	}
	return nil
}
