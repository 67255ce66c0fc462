package scenario

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/registry"
	"github.com/faultline/faultline/targets/runtime/pick"
	"github.com/faultline/faultline/targets/spec"
)

// MaxNodes is the largest cluster Faultline launches.
const MaxNodes = 7

// ClusterConfig is the system under test and where it runs.
type ClusterConfig struct {
	Target string `json:"target"`
	// Options configure the target (--target-opt key=value), e.g. raftkv's
	// bug=stale-reads.
	Options map[string]string `json:"options,omitempty"`
	// Version of the target to build; empty means the target's default.
	Version string `json:"version,omitempty"`
	// Runtime is auto, docker or local; scenario.json records the one used.
	Runtime string `json:"runtime"`
	// Netns says whether the local runtime gives each node a network
	// namespace: auto (when root), on, off. scenario.json records the mode used.
	Netns string `json:"netns,omitempty"`
	// NodeUser is who the local runtime runs node programs as when the
	// harness is root (--node-user): by default nobody; "root" keeps root.
	// A flag only: no scenario file chooses it (a downloaded one must not
	// raise node programs to root).
	NodeUser string `json:"-"`
	Nodes    int    `json:"nodes"`
	// HealthTimeout bounds the wait for every node to become healthy.
	HealthTimeout Duration `json:"health_timeout"`
	// KeepData copies every node's data directory into the run directory
	// (data/) at the end of the run, before teardown, whatever its verdict.
	// A run that fails keeps it anyway; this is for inspecting a run that
	// only a check failed (checks run after teardown, so the copy cannot
	// wait for the verdict). Off by default: etcd alone writes 64 MB of
	// preallocated WAL per node.
	KeepData bool `json:"keep_data,omitempty"`
	// Spec describes the target in the scenario itself (README, "Bring
	// your own system"); Target is then the spec's name.
	Spec *spec.Spec `json:"spec,omitempty"`
}

// DefaultCluster is a 3-node etcd, in Docker when an engine answers.
func DefaultCluster() ClusterConfig {
	return ClusterConfig{Target: "etcd", Runtime: pick.Auto, Netns: pick.NetnsAuto, Nodes: 3, HealthTimeout: Duration(60 * time.Second)}
}

// Validate checks the numbers; the target and runtime names are resolved by Prepare.
func (c *ClusterConfig) Validate() error {
	if c.Spec != nil {
		if c.Spec.Name == "" {
			return fmt.Errorf("cluster.spec.name: missing (it names the target)")
		}
		if c.Target != c.Spec.Name {
			return fmt.Errorf("--target %s: the scenario describes its own target, %s (cluster.spec), and names it by the spec's name; leave --target out", c.Target, c.Spec.Name)
		}
	}
	if c.Target == "" {
		return fmt.Errorf("no target given (--target)")
	}
	// A quorum system gains nothing from an even member: it tolerates no more
	// failures than one member fewer.
	if c.Nodes < 1 || c.Nodes > MaxNodes || c.Nodes%2 == 0 {
		return fmt.Errorf("--nodes %d: a cluster has an odd number of nodes from 1 to %d (1, 3, 5 or 7)", c.Nodes, MaxNodes)
	}
	if c.HealthTimeout <= 0 {
		return fmt.Errorf("health timeout %v: must be positive", c.HealthTimeout)
	}
	return nil
}

// LookupTarget resolves the target the cluster section names. Every error is
// a *ConfigError.
func (c *ClusterConfig) LookupTarget() (targets.Target, error) {
	if c.Spec != nil {
		return c.specTarget()
	}
	t, err := registry.Lookup(c.Target, c.Options)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	if n, ok := t.(targets.ImageNeeder); ok && n.NeedsImage() && c.Runtime == pick.Local {
		return nil, configErr("--runtime local: target %s runs from a Docker image, which the local runtime cannot run: use --runtime docker", c.Target)
	}
	return t, nil
}

// specTarget makes the target cluster.spec describes: checked completely,
// its templates tried on this cluster's size and options.
func (c *ClusterConfig) specTarget() (targets.Target, error) {
	if slices.Contains(registry.Names(), c.Spec.Name) {
		return nil, configErr("cluster.spec: name %q is a built-in target; give the spec a name of its own", c.Spec.Name)
	}
	t, err := spec.New(*c.Spec, spec.Config{Options: c.Options, Nodes: c.Nodes, Version: c.Version})
	if err != nil {
		return nil, configErr("cluster.spec: %v", err)
	}
	if t.NeedsImage() && c.Runtime == pick.Local {
		field := "dockerfile"
		switch {
		case c.Spec.Source.Image != "":
			field = "image"
		case len(c.Spec.Source.Debian) > 0:
			field = "debian"
		}
		return nil, configErr("cluster.spec: %s runs from a Docker image (source.%s), which the local runtime cannot run: use --runtime docker", c.Spec.Name, field)
	}
	return t, nil
}

// fromFile completes a cluster section read from a scenario file in dir: a
// spec names the target, unless the file names it too (Validate then
// checks they agree), and its paths are relative to the file.
func (c *ClusterConfig) fromFile(dir string, targetGiven bool) {
	if c.Spec == nil {
		return
	}
	if !targetGiven {
		c.Target = c.Spec.Name
	}
	c.Spec.Resolve(dir)
}

// CheckOps refuses a workload with an operation the target's client cannot
// perform (a spec without a cas request).
func CheckOps(t targets.Target, c targets.Client, l LoadConfig) error {
	st, ok := c.(workload.Supporter)
	if !ok {
		st, ok = t.(workload.Supporter)
	}
	if !ok {
		return nil
	}
	w, err := workload.Lookup(l.Workload)
	if err != nil {
		return err
	}
	ops, err := w.Ops(l.WorkloadConfig(0))
	if err != nil {
		return err
	}
	var missing []string
	for _, f := range ops {
		if !st.Supports(f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		if l.Workload == register.KindRegister || l.Workload == register.KindKV {
			return fmt.Errorf("--mix %s: target %s has no %s request (e.g. --mix read:50,write:50)", l.Mix, t.Name(), strings.Join(missing, ", "))
		}
		return fmt.Errorf("--workload %s: target %s cannot perform %s", l.Workload, t.Name(), strings.Join(missing, ", "))
	}
	return nil
}

// RuntimeConfig is the section's runtime choice (targets/runtime/pick).
func (c *ClusterConfig) RuntimeConfig() pick.Config {
	return pick.Config{Runtime: c.Runtime, Netns: c.Netns, NodeUser: c.NodeUser}
}
