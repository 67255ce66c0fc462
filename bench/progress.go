package bench

import (
	"time"

	"github.com/faultline/faultline/bench/load"
)

// WithProgress calls f with a snapshot of the load every period while it
// runs, and once more when it ends. f runs on its own goroutine, never on
// the load's path.
func WithProgress(every time.Duration, f func(load.Progress)) Option {
	return func(c *runConfig) { c.progressEvery, c.progress = every, f }
}
