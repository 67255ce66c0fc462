package main

import (
	"flag"
	"fmt"
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
	nemesis := fs.String("nemesis", joinList(c.Nemesis), "comma-separated faults: none, partition, partition-random, partition-follower")
	fs.Var((*durationFlag)(&c.Interval), "nemesis-interval", "quiet time before each fault, and its length")
	return func() { c.Nemesis = splitList(*nemesis) }
}

func checkFlags(fs *flag.FlagSet, c *bench.CheckConfig) func() {
	fs.Var((*durationFlag)(&c.Timeout), "check-timeout", "time budget of the linearizability check")
	return func() {}
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
