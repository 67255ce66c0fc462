package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/internal/suggest"
)

// flagKeys maps each flag bound to a scenario field to that field's key in
// a scenario file (--nodes -> cluster.nodes), found by the address the flag
// writes to: the table cannot drift from the flags.
func flagKeys(fs *pflag.FlagSet, sc *scenario.Scenario) map[string]string {
	keys := map[string]string{}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			key := path
			if !f.Anonymous || name != "" {
				if key != "" {
					key += "."
				}
				key += name
			}
			keys[fmt.Sprint(fv.Addr().Pointer())] = key
			if fv.Kind() == reflect.Struct {
				walk(fv, key)
			}
		}
	}
	walk(reflect.ValueOf(sc).Elem(), "")
	out := map[string]string{"nemesis": "chaos.nemesis", "bug": "cluster.options.bug"}
	fs.VisitAll(func(f *pflag.Flag) {
		if rv := reflect.ValueOf(f.Value); rv.Kind() == reflect.Pointer {
			if k, ok := keys[fmt.Sprint(rv.Pointer())]; ok {
				out[f.Name] = k
			}
		}
	})
	return out
}

// fileKeyError points an error that names a flag at the scenario file's
// key instead, when the value came from the file and not from the flag:
// "--nodes 4: ..." becomes "cluster.nodes (line 2 of s.yaml) 4: ...".
func fileKeyError(err error, fs *pflag.FlagSet, keys map[string]string, file *scenario.SourceFile) error {
	if err == nil || file == nil {
		return err
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "--") {
		return err
	}
	name := strings.TrimPrefix(msg, "--")
	if i := strings.IndexAny(name, " :="); i >= 0 {
		name = name[:i]
	}
	if fs.Changed(name) {
		return err
	}
	where := file.Where(keys[name])
	if where == "" {
		return err
	}
	return &scenario.ConfigError{Err: errors.New(where + strings.TrimPrefix(msg, "--"+name))}
}

// contradictions refuses flags that say opposite things, or a flag that
// would have no effect on what the others ask for.
func contradictions(fs *pflag.FlagSet, sc scenario.Scenario) error {
	set := fs.Changed
	faults := map[string]bool{}
	for _, n := range sc.Chaos.Nemesis {
		faults[n] = true
	}
	noFaults := len(sc.Chaos.Nemesis) == 0 || (len(sc.Chaos.Nemesis) == 1 && faults["none"])
	switch {
	case set("keys") && set("workload") && sc.Load.Workload == register.KindKV:
		return fmt.Errorf("--keys applies to --workload register; --workload kv takes --key-space")
	case set("key-space") && sc.Load.Workload == register.KindRegister:
		return fmt.Errorf("--key-space applies to --workload kv; --workload register takes --keys")
	case set("final-timeout") && !sc.Chaos.FinalReads:
		return fmt.Errorf("--final-timeout with --final-reads=false: there are no final reads to time")
	case set("nemesis-interval") && noFaults && len(sc.Chaos.Timeline) == 0:
		return fmt.Errorf("--nemesis-interval with --nemesis none: there are no faults to space out")
	case set("loss-percent") && !faults["loss"]:
		return fmt.Errorf("--loss-percent %d: --nemesis has no loss fault to apply it to", sc.Chaos.LossPercent)
	case (set("delay") || set("jitter")) && !faults["delay"]:
		return fmt.Errorf("--delay/--jitter: --nemesis has no delay fault to apply them to")
	}
	return nil
}

// moduleTarget is a target built from a Go module at a version: its
// versions are the module proxy's.
type moduleTarget interface{ Module() string }

// versionsTimeout bounds the question to the module proxy: an unreachable
// proxy must not hold the run up (the build reports it then).
const versionsTimeout = 20 * time.Second

// checkVersion refuses, before anything is built, a --version the target
// does not have: the module proxy is asked for the module's versions, and
// the nearby ones are named.
func checkVersion(ctx context.Context, c scenario.ClusterConfig) error {
	if c.Version == "" || c.Spec != nil {
		return nil // a spec target checks its own version (cluster.spec.source)
	}
	t, err := c.LookupTarget()
	if err != nil {
		return err
	}
	mt, ok := t.(moduleTarget)
	if !ok {
		if c.Version == t.DefaultVersion() {
			return nil
		}
		return fmt.Errorf("--version %s: %s is built from this repository's source and has no versions to choose", c.Version, t.Name())
	}
	ctx, cancel := context.WithTimeout(ctx, versionsTimeout)
	defer cancel()
	mod := mt.Module()
	if mv, ok := t.(interface{ ModuleOf(version string) string }); ok {
		mod = mv.ModuleOf(c.Version) // another release line, another module
	}
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-versions", mod).Output()
	if err != nil {
		return nil // no proxy answer: Prepare will say what is wrong
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		return nil
	}
	versions := fields[1:]
	if slices.Contains(versions, c.Version) {
		return nil
	}
	if slices.Contains(versions, "v"+c.Version) {
		return &scenario.ConfigError{Err: fmt.Errorf("--version %s: %s's versions start with v: did you mean v%s?", c.Version, t.Name(), c.Version)}
	}
	// Not a release: a commit, a branch or a pseudo-version may still
	// resolve.
	if exec.CommandContext(ctx, "go", "list", "-m", mod+"@"+c.Version).Run() == nil {
		return nil
	}
	hint := ""
	if h, ok := t.(interface{ VersionHint(version string) string }); ok {
		hint = h.VersionHint(c.Version)
	}
	return &scenario.ConfigError{Err: fmt.Errorf("--version %s: %s has no such version; nearby: %s (go list -m -versions %s)%s",
		c.Version, t.Name(), strings.Join(nearby(c.Version, versions, 3), ", "), mod, hint)}
}

// nearby picks the versions around v in the sorted list: the n below it
// and the n above it, or the closest names if v is no version at all.
func nearby(v string, versions []string, n int) []string {
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		v = "v" + v
	}
	i, _ := slices.BinarySearchFunc(versions, v, compareVersions)
	lo, hi := max(0, i-n), min(len(versions), i+n)
	if !strings.HasPrefix(v, "v") || strings.Count(v, ".") < 1 {
		if c := suggest.Closest(v, versions); c != "" {
			return []string{c}
		}
		lo = max(0, len(versions)-2*n) // no version at all: the newest
		hi = len(versions)
	}
	return versions[lo:hi]
}

// compareVersions orders vMAJOR.MINOR.PATCH[-pre] as semver does (enough
// for the proxy's lists, which come sorted that way).
func compareVersions(a, b string) int {
	pa, pb := versionParts(a), versionParts(b)
	for i := range 3 {
		if pa[i] != pb[i] {
			return pa[i] - pb[i]
		}
	}
	preA, preB := strings.Contains(a, "-"), strings.Contains(b, "-")
	switch {
	case preA && !preB:
		return -1
	case !preA && preB:
		return 1
	}
	return strings.Compare(a, b)
}

func versionParts(v string) [3]int {
	var p [3]int
	core, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), "-")
	core, _, _ = strings.Cut(core, "+")
	for i, s := range strings.SplitN(core, ".", 3) {
		fmt.Sscanf(s, "%d", &p[i])
	}
	return p
}
