package workload

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// The registry is the only mutable global of the package: workloads register
// once, at init (bench/workload/builtin) or from a caller's own package
// before it runs a scenario.
var registry = struct {
	sync.RWMutex
	m map[string]Workload
}{m: map[string]Workload{}}

// Register makes w selectable by its name. Registering a name twice panics:
// two data models behind one name would make histories ambiguous.
func Register(w Workload) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[w.Name()]; dup {
		panic("workload: " + w.Name() + " registered twice")
	}
	registry.m[w.Name()] = w
}

// Lookup returns the workload called name.
func Lookup(name string) (Workload, error) {
	registry.RLock()
	w, ok := registry.m[name]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("--workload %q: unknown (known: %s)", name, strings.Join(Names(), ", "))
	}
	return w, nil
}

// Names lists the registered workloads, sorted.
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
