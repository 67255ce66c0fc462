// Package registry is the one place that lists the systems Faultline can test.
// Adding a system is one folder under targets/ and one line in builtin.go; a
// caller's own package may Register more before it runs a scenario.
package registry

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/faultline/faultline/targets"
)

// Factory makes a target from its options (--target-opt key=value); an
// option it does not know is an error naming it.
type Factory func(opts map[string]string) (targets.Target, error)

// The registry is the only mutable global of the package.
var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register makes a target selectable as --target name. Registering a name
// twice panics.
func Register(name string, f Factory) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic("registry: target " + name + " registered twice")
	}
	registry.m[name] = f
}

// NoOptions is a Factory helper for targets that take no options.
func NoOptions(name string, opts map[string]string) error {
	for k := range opts {
		return fmt.Errorf("%s: unknown target option %q (it has none)", name, k)
	}
	return nil
}

// Names lists the known targets, sorted.
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

// Lookup returns the target called name, configured by opts.
func Lookup(name string, opts map[string]string) (targets.Target, error) {
	registry.RLock()
	f, ok := registry.m[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown target %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return f(opts)
}
