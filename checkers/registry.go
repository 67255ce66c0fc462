package checkers

import (
	"time"

	"github.com/faultline/faultline/internal/registry"
)

// Config is what a checker is built with: the scenario's check section.
type Config struct {
	// Budget bounds a search (linearizability); 0 means the checker's
	// default.
	Budget time.Duration
	// MemoryLimit is the heap over which a search is stopped; 0 means the
	// checker's default.
	MemoryLimit uint64
	// Options are checker-specific settings (check.options), e.g. the
	// consistency model a transactional checker holds the history to.
	Options map[string]string
}

// Factory builds a checker for one check of a history.
type Factory func(cfg Config) (Checker, error)

// checkersByName are registered at init (checkers/builtin) or from a
// caller's own package.
var checkersByName = registry.New[Factory]("checker")

// Register makes a checker available by name, for workloads to list
// (workload.Workload.Checkers). Registering a name twice panics.
func Register(name string, f Factory) { checkersByName.Register(name, f) }

// Lookup builds the checker registered as name.
func Lookup(name string, cfg Config) (Checker, error) {
	f, err := checkersByName.Lookup(name)
	if err != nil {
		return nil, err
	}
	return f(cfg)
}

// Names lists the registered checkers, sorted.
func Names() []string { return checkersByName.Names() }
