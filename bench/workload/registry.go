package workload

import (
	"fmt"
	"strings"

	"github.com/faultline/faultline/internal/registry"
)

// workloads are registered once, at init (bench/workload/builtin) or from a
// caller's own package before it runs a scenario.
var workloads = registry.New[Workload]("workload")

// Register makes w selectable by its name. Registering a name twice panics:
// two data models behind one name would make histories ambiguous.
func Register(w Workload) { workloads.Register(w.Name(), w) }

// Lookup returns the workload called name.
func Lookup(name string) (Workload, error) {
	w, ok := workloads.Get(name)
	if !ok {
		return nil, fmt.Errorf("--workload %q: unknown (known: %s)", name, strings.Join(Names(), ", "))
	}
	return w, nil
}

// Names lists the registered workloads, sorted.
func Names() []string { return workloads.Names() }
