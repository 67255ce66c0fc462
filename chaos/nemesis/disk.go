package nemesis

import (
	"slices"
	"strings"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/chaos/lazyfs"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// planNodeFaults refuses the disk and clock faults where they cannot work,
// before anything is launched: they reach into a node's files or clock,
// which only the local runtime hands the harness, and lazyfs needs FUSE.
// It notes in np that the data directories must be on lazyfs.
func planNodeFaults(c Config, np *Plan, names []string, faults []chaos.Fault) error {
	for i, f := range faults {
		need := f.Needs()
		if need.Failpoint != "" {
			if err := planFailpoint(c, names[i], need.Failpoint); err != nil {
				return err
			}
			continue
		}
		if !need.LazyFS && !need.DataFiles && !need.Clock && !need.Members {
			continue
		}
		if c.Runtime != pick.Local {
			what := "data files"
			if need.Clock {
				what = "clock control"
			}
			if need.Members {
				what = "data directory and command line"
			}
			return refuse("--nemesis %s needs --runtime local (the harness reaches a node's %s only there; got --runtime %s)", names[i], what, c.Runtime)
		}
		if need.LazyFS {
			if err := lazyfs.Available(); err != nil {
				return refuse("--nemesis %s: %v", names[i], err)
			}
			np.lazyFS = true
		}
		if need.Members {
			t := c.Target
			if _, ok := t.(targets.MemberChanger); !ok {
				return refuse("--nemesis %s: target %s cannot change its membership (etcd can)", names[i], t.Name())
			}
		}
		if need.Clock {
			t := c.Target
			if _, ok := t.(targets.ClockHooked); !ok {
				return refuse("--nemesis %s: target %s has no clock hook (only targets Faultline builds with it, e.g. raftkv, can have their clock shifted)", names[i], t.Name())
			}
		}
	}
	return nil
}

// planFailpoint refuses a failpoint fault the target cannot arm: not built
// with failpoints, or a name it does not have.
func planFailpoint(c Config, fault, name string) error {
	t := c.Target
	ft, ok := t.(targets.Failpointed)
	if !ok {
		return refuse("--nemesis %s: target %s has no failpoints", fault, t.Name())
	}
	if ft.FailpointPort() == "" {
		return refuse("--nemesis %s: target %s was not built with failpoints (--target-opt failpoints=true)", fault, t.Name())
	}
	if known := ft.KnownFailpoints(); !slices.Contains(known, name) {
		return refuse("--nemesis %s: %s has no failpoint %q (known: %s)", fault, t.Name(), name, strings.Join(known, ", "))
	}
	return nil
}
