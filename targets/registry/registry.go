// Package registry is the one place that lists the systems Faultline can test.
// Adding a system is one folder under targets/ and one line in builtin.go; a
// caller's own package may Register more before it runs a scenario.
package registry

import (
	"fmt"

	named "github.com/faultline/faultline/internal/registry"
	"github.com/faultline/faultline/targets"
)

// Factory makes a target from its options (--target-opt key=value); an
// option it does not know is an error naming it.
type Factory func(opts map[string]string) (targets.Target, error)

// targetsByName is the only mutable global of the package.
var targetsByName = named.New[Factory]("target")

// Register makes a target selectable as --target name. Registering a name
// twice panics.
func Register(name string, f Factory) { targetsByName.Register(name, f) }

// NoOptions is a Factory helper for targets that take no options.
func NoOptions(name string, opts map[string]string) error {
	for k := range opts {
		return fmt.Errorf("%s: unknown target option %q (it has none)", name, k)
	}
	return nil
}

// Names lists the known targets, sorted.
func Names() []string { return targetsByName.Names() }

// Lookup returns the target called name, configured by opts.
func Lookup(name string, opts map[string]string) (targets.Target, error) {
	f, err := targetsByName.Lookup(name)
	if err != nil {
		return nil, err
	}
	return f(opts)
}
