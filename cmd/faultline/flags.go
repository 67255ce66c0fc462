package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/chaos"
)

func clusterFlags(fs *flag.FlagSet, c *bench.ClusterConfig) func() {
	fs.StringVar(&c.Target, "target", c.Target, "system under test")
	fs.StringVar(&c.Version, "version", c.Version, "version of the target to build (default: the target's own default)")
	fs.StringVar(&c.Runtime, "runtime", c.Runtime, "where nodes run: docker, local (child processes) or auto (docker when an engine answers, else local)")
	fs.StringVar(&c.Netns, "netns", c.Netns, "local runtime: a network namespace per node, needed by network faults: auto (when root), on, off")
	fs.StringVar(&c.NodeUser, "node-user", c.NodeUser, "local runtime as root: the user node programs run as (default nobody; root keeps root)")
	fs.IntVar(&c.Nodes, "nodes", c.Nodes, "cluster size")
	fs.Var((*durationFlag)(&c.HealthTimeout), "health-timeout", "how long nodes may take to become healthy")
	fs.Var((*optionsFlag)(&c.Options), "target-opt", "target option key=value, repeatable (raftkv: bug=stale-reads|ack-before-commit|non-atomic-cas)")
	bug := fs.String("bug", "", "shorthand for --target-opt bug=<name>")
	return func() {
		if *bug != "" {
			if c.Options == nil {
				c.Options = map[string]string{}
			}
			c.Options["bug"] = *bug
		}
	}
}

// optionsFlag collects key=value pairs.
type optionsFlag map[string]string

func (o *optionsFlag) String() string {
	var parts []string
	for k, v := range *o {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (o *optionsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value")
	}
	if *o == nil {
		*o = map[string]string{}
	}
	(*o)[k] = v
	return nil
}

func loadFlags(fs *flag.FlagSet, l *bench.LoadConfig) func() {
	fs.Var((*durationFlag)(&l.Duration), "duration", "how long the load runs")
	fs.StringVar(&l.Rate, "rate", l.Rate, "operations per second (open loop), ramp:FROM..TO, sine:MEAN,AMPLITUDE,PERIOD, or closed:PROCESSES")
	fs.StringVar(&l.Workload, "workload", l.Workload, "register (a few keys, rotated) or kv (a large key space)")
	fs.StringVar(&l.Mix, "mix", l.Mix, "relative weights of the operations")
	fs.StringVar(&l.ReadMode, "read-mode", l.ReadMode, "target read mode (etcd: linearizable or serializable)")
	fs.Var((*durationFlag)(&l.Timeout), "timeout", "client timeout per request")
	fs.IntVar(&l.MaxInFlight, "max-in-flight", l.MaxInFlight, "most requests in flight at once (open loop)")
	fs.Var((*durationFlag)(&l.DropAfter), "drop-after", "drop a request not sent within this long of its intended time (0: send it late)")
	fs.IntVar(&l.Keys, "keys", l.Keys, "register: keys open for operations at once")
	fs.IntVar(&l.KeySpace, "key-space", l.KeySpace, "kv: number of keys")
	fs.StringVar(&l.KeyDist, "key-dist", l.KeyDist, "key distribution: uniform or zipfian[:S]")
	fs.IntVar(&l.OpsPerKey, "ops-per-key", l.OpsPerKey, "operations a key receives before it is retired")
	fs.IntVar(&l.KeyConcurrency, "key-concurrency", l.KeyConcurrency, "most operations in flight on one key")
	fs.IntVar(&l.ValueSize, "value-size", l.ValueSize, "bytes per written value (values stay unique)")
	return func() {}
}

func chaosFlags(fs *flag.FlagSet, c *bench.ChaosConfig) func() {
	nemesis := fs.String("nemesis", joinList(c.Nemesis), "comma-separated faults, one chosen at random (seeded) each interval: none, "+
		strings.Join(chaos.Names(), ", ")+" (see README, Faults)")
	fs.Var((*durationFlag)(&c.Interval), "nemesis-interval", "quiet time before each fault, and its length")
	fs.StringVar(&c.Firewall, "firewall", c.Firewall, "how network faults reach the nodes: auto, netns (root), sidecar (docker, no host root)")
	fs.IntVar(&c.LossPercent, "loss-percent", c.LossPercent, "share of packets the loss fault drops, 1 to 100")
	fs.Var((*durationFlag)(&c.Delay), "delay", "delay of the delay fault (tc netem)")
	fs.Var((*durationFlag)(&c.Jitter), "jitter", "jitter of the delay fault")
	fs.Var((*durationFlag)(&c.Quiet), "quiet-period", "time left to the cluster after the last fault is healed, before the final reads")
	fs.BoolVar(&c.FinalReads, "final-reads", c.FinalReads, "after healing, read back every key the run wrote")
	fs.Var((*durationFlag)(&c.FinalTimeout), "final-timeout", "deadline of the final reads")
	return func() { c.Nemesis = splitList(*nemesis) }
}

func checkFlags(fs *flag.FlagSet, c *bench.CheckConfig) func() {
	fs.Var((*durationFlag)(&c.Timeout), "check-timeout", "time budget of the linearizability check")
	fs.IntVar(&c.MemoryMB, "check-memory-mb", c.MemoryMB, "heap (MiB) over which the linearizability check stops its heaviest search, leaving that key unknown")
	fs.Var((*thresholdsFlag)(&c.Thresholds), "threshold",
		"fail the run when missed, e.g. 'p99 < 200ms outside faults', 'availability > 0.99 outside faults' (repeatable; 'none' clears)")
	return func() {}
}

// thresholdsFlag collects --threshold; each is parsed when the scenario is
// validated, so a bad one is exit 3 before anything is launched.
type thresholdsFlag []string

func (t *thresholdsFlag) String() string { return strings.Join(*t, "; ") }
func (t *thresholdsFlag) Set(s string) error {
	if strings.TrimSpace(s) == "none" {
		*t = []string{}
		return nil
	}
	*t = append(*t, s)
	return nil
}

type durationFlag bench.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration like 30s")
	}
	*d = durationFlag(v)
	return nil
}
