package checkers

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
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

// The registry is the only mutable global of the package: checkers register
// at init (checkers/builtin) or from a caller's own package.
var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register makes a checker available by name, for workloads to list
// (workload.Workload.Checkers). Registering a name twice panics.
func Register(name string, f Factory) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic("checkers: " + name + " registered twice")
	}
	registry.m[name] = f
}

// Lookup builds the checker registered as name.
func Lookup(name string, cfg Config) (Checker, error) {
	registry.RLock()
	f, ok := registry.m[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown checker %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return f(cfg)
}

// Names lists the registered checkers, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.m))
	for n := range registry.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
