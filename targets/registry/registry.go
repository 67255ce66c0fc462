// Package registry is the one place that lists the systems Faultline can test.
// Adding a system is one folder under targets/ and one line here.
package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
)

func all() map[string]func() targets.Target {
	return map[string]func() targets.Target{
		"etcd": func() targets.Target { return etcd.New() },
	}
}

// Names lists the known targets, sorted.
func Names() []string {
	var out []string
	for n := range all() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the target called name.
func Lookup(name string) (targets.Target, error) {
	if f, ok := all()[name]; ok {
		return f(), nil
	}
	return nil, fmt.Errorf("unknown target %q (known: %s)", name, strings.Join(Names(), ", "))
}
