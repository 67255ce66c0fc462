// Package registry is the one place that lists the systems Faultline can test.
// Adding a system is one folder under targets/ and one line here.
package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
	"github.com/faultline/faultline/targets/naivepaxos"
	"github.com/faultline/faultline/targets/raftkv"
)

// factory makes a target from its options (--target-opt key=value).
type factory func(opts map[string]string) (targets.Target, error)

func all() map[string]factory {
	return map[string]factory{
		"etcd": func(opts map[string]string) (targets.Target, error) {
			if err := noOptions("etcd", opts); err != nil {
				return nil, err
			}
			return etcd.New(), nil
		},
		"raftkv":      func(opts map[string]string) (targets.Target, error) { return raftkv.New(opts) },
		"naive-paxos": func(opts map[string]string) (targets.Target, error) { return naivepaxos.New(opts) },
	}
}

func noOptions(name string, opts map[string]string) error {
	for k := range opts {
		return fmt.Errorf("%s: unknown target option %q (it has none)", name, k)
	}
	return nil
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

// Lookup returns the target called name, configured by opts.
func Lookup(name string, opts map[string]string) (targets.Target, error) {
	f, ok := all()[name]
	if !ok {
		return nil, fmt.Errorf("unknown target %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return f(opts)
}
