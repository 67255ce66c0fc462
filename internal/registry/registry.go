// Package registry is the one shape of Faultline's extension points: targets,
// workloads, checkers and faults each keep a Registry of their kind, filled
// at init by one registration line per implementation (or by a caller's own
// package before it runs a scenario). It is the only mutable global state
// those packages hold.
package registry

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Registry maps names to values of one kind. The zero value is not usable:
// use New.
type Registry[T any] struct {
	kind string // "workload", "checker"... for messages
	mu   sync.RWMutex
	m    map[string]T
}

// New returns an empty registry of kind (used in messages).
func New[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: map[string]T{}}
}

// Register adds v under name. Registering a name twice panics: two
// implementations behind one name would make runs ambiguous.
func (r *Registry[T]) Register(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic(r.kind + " " + name + " registered twice")
	}
	r.m[name] = v
}

// Get returns what name holds.
func (r *Registry[T]) Get(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[name]
	return v, ok
}

// Lookup is Get with an error that lists the known names.
func (r *Registry[T]) Lookup(name string) (T, error) {
	v, ok := r.Get(name)
	if !ok {
		return v, fmt.Errorf("unknown %s %q (known: %s)", r.kind, name, strings.Join(r.Names(), ", "))
	}
	return v, nil
}

// Names lists the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
