package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/faultline/faultline/bench"
)

func clusterFlags(fs *flag.FlagSet, c *bench.ClusterConfig) func() {
	fs.StringVar(&c.Target, "target", c.Target, "system under test")
	fs.StringVar(&c.Version, "version", c.Version, "version of the target to build (default: the target's own default)")
	fs.StringVar(&c.Runtime, "runtime", c.Runtime, "where nodes run: docker")
	fs.IntVar(&c.Nodes, "nodes", c.Nodes, "cluster size")
	fs.Var((*durationFlag)(&c.HealthTimeout), "health-timeout", "how long nodes may take to become healthy")
	return func() {}
}

func loadFlags(fs *flag.FlagSet, l *bench.LoadConfig) func() {
	fs.Var((*durationFlag)(&l.Duration), "duration", "how long the load runs")
	fs.StringVar(&l.Rate, "rate", l.Rate, "operations per second")
	fs.StringVar(&l.ReadMode, "read-mode", l.ReadMode, "target read mode (etcd: linearizable or serializable)")
	fs.Var((*durationFlag)(&l.Timeout), "timeout", "client timeout per request")
	fs.IntVar(&l.MaxInFlight, "max-in-flight", l.MaxInFlight, "most requests in flight at once")
	fs.IntVar(&l.Keys, "keys", l.Keys, "keys open for operations at once")
	fs.IntVar(&l.OpsPerKey, "ops-per-key", l.OpsPerKey, "operations a key receives before it is retired")
	fs.IntVar(&l.KeyConcurrency, "key-concurrency", l.KeyConcurrency, "most operations in flight on one key")
	fs.Float64Var(&l.ReadFraction, "read-fraction", l.ReadFraction, "fraction of operations that are reads")
	return func() {}
}

func chaosFlags(fs *flag.FlagSet, c *bench.ChaosConfig) func() {
	nemesis := fs.String("nemesis", joinList(c.Nemesis), "comma-separated faults: none, partition, partition-random, partition-follower")
	fs.Var((*durationFlag)(&c.Interval), "nemesis-interval", "quiet time before each fault, and its length")
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
