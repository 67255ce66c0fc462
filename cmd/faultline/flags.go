package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/chaos"
)

// The groups a command's help lists its flags under, in this order.
const (
	groupScenario = "scenario"
	groupCluster  = "cluster"
	groupLoad     = "load"
	groupFaults   = "faults"
	groupChecks   = "checks"
	groupOutput   = "output"
	groupSuite    = "suite"
)

var groupOrder = []string{groupScenario, groupSuite, groupCluster, groupLoad, groupFaults, groupChecks, groupOutput}

// groupAnnotation is the pflag annotation that files a flag under a group.
const groupAnnotation = "faultline_group"

// inGroup files every flag define adds to fs under group.
func inGroup(fs *pflag.FlagSet, group string, define func()) {
	before := map[string]bool{}
	fs.VisitAll(func(f *pflag.Flag) { before[f.Name] = true })
	define()
	fs.VisitAll(func(f *pflag.Flag) {
		if !before[f.Name] {
			_ = fs.SetAnnotation(f.Name, groupAnnotation, []string{group})
		}
	})
}

func clusterFlags(fs *pflag.FlagSet, c *scenario.ClusterConfig) (finish func() error) {
	var bug *string
	opts := &optionsFlag{m: &c.Options, given: map[string]string{}}
	inGroup(fs, groupCluster, func() {
		fs.StringVarP(&c.Target, "target", "t", c.Target, "system under test")
		fs.StringVar(&c.Version, "version", c.Version, "version of the target to build (default: the target's own default)")
		fs.StringVar(&c.Runtime, "runtime", c.Runtime, "where nodes run: docker, local (child processes) or auto (docker when an engine answers, else local)")
		fs.StringVar(&c.Netns, "netns", c.Netns, "local runtime: a network namespace per node, needed by network faults: auto (when root), on, off")
		fs.StringVar(&c.NodeUser, "node-user", c.NodeUser, "local runtime as root: the user node programs run as (default nobody; root keeps root)")
		fs.IntVarP(&c.Nodes, "nodes", "n", c.Nodes, "cluster size")
		fs.Var((*durationFlag)(&c.HealthTimeout), "health-timeout", "how long nodes may take to become healthy")
		fs.Var(opts, "target-opt", "target option key=value, repeatable (raftkv: bug=stale-reads|ack-before-commit|non-atomic-cas|non-atomic-txn; etcd: read-mode=serializable, flags='--snapshot-count=100 ...', initial-cluster-state=new|existing, failpoints=true)")
		bug = fs.String("bug", "", "shorthand for --target-opt bug=<name>")
	})
	return func() error {
		if *bug == "" {
			return nil
		}
		if given, ok := opts.given["bug"]; ok && given != *bug {
			return fmt.Errorf("--bug %s and --target-opt bug=%s contradict each other: give one", *bug, given)
		}
		if c.Options == nil {
			c.Options = map[string]string{}
		}
		c.Options["bug"] = *bug
		return nil
	}
}

// optionsFlag collects key=value pairs into a map (which a scenario file
// may have filled already); given is what the command line said.
type optionsFlag struct {
	m     *map[string]string
	given map[string]string
}

func (o *optionsFlag) Type() string { return "key=value" }
func (o *optionsFlag) String() string {
	if o.m == nil {
		return ""
	}
	return formatOptions(*o.m)
}

func formatOptions(m map[string]string) string {
	var parts []string
	for k, v := range m {
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
	if *o.m == nil {
		*o.m = map[string]string{}
	}
	(*o.m)[k] = v
	o.given[k] = v
	return nil
}

func loadFlags(fs *pflag.FlagSet, l *scenario.LoadConfig) (finish func() error) {
	wopts := &optionsFlag{m: &l.WorkloadOptions, given: map[string]string{}}
	var txnLen *string
	inGroup(fs, groupLoad, func() {
		fs.VarP((*durationFlag)(&l.Duration), "duration", "d", "how long the load runs")
		fs.StringVarP(&l.Rate, "rate", "r", l.Rate, "operations per second (open loop), ramp:FROM..TO, sine:MEAN,AMPLITUDE,PERIOD, or closed:PROCESSES")
		fs.StringVarP(&l.Workload, "workload", "w", l.Workload, "data model: "+strings.Join(workload.Names(), ", ")+
			" (register: a few keys, rotated; kv: a large key space; list-append, rw-register: transactions; queue: enqueue/dequeue, final drain; log: send/poll, final read-all)")
		fs.Var(wopts, "workload-opt", "workload option key=value, repeatable (list-append, rw-register: txn-len=1..4, read-fraction=0.5; queue: queues=2, enqueue-fraction=0.5, batch=1; log: streams=3, send-fraction=0.5, batch=10)")
		txnLen = fs.String("txn-len", "", "transactions: micro-operations per transaction, N or MIN..MAX (shorthand for --workload-opt txn-len=...; default 1..4)")
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
	})
	return func() error {
		if *txnLen == "" {
			return nil
		}
		if given, ok := wopts.given["txn-len"]; ok && given != *txnLen {
			return fmt.Errorf("--txn-len %s and --workload-opt txn-len=%s contradict each other: give one", *txnLen, given)
		}
		if l.WorkloadOptions == nil {
			l.WorkloadOptions = map[string]string{}
		}
		l.WorkloadOptions["txn-len"] = *txnLen
		return nil
	}
}

func chaosFlags(fs *pflag.FlagSet, c *scenario.ChaosConfig) (finish func() error) {
	var nemesis *string
	inGroup(fs, groupFaults, func() {
		nemesis = fs.StringP("nemesis", "N", joinList(c.Nemesis), "comma-separated faults, one chosen at random (seeded) each interval: none, "+
			strings.Join(chaos.Names(), ", ")+" (see README, Faults)")
		fs.VarP((*durationFlag)(&c.Interval), "nemesis-interval", "i", "quiet time before each fault, and its length")
		fs.StringVar(&c.Firewall, "firewall", c.Firewall, "how network faults reach the nodes: auto, netns (root), sidecar (docker, no host root)")
		fs.IntVar(&c.LossPercent, "loss-percent", c.LossPercent, "share of packets the loss fault drops, 1 to 100")
		fs.Var((*durationFlag)(&c.Delay), "delay", "delay of the delay fault (tc netem)")
		fs.Var((*durationFlag)(&c.Jitter), "jitter", "jitter of the delay fault")
		fs.Var((*durationFlag)(&c.Quiet), "quiet-period", "time left to the cluster after the last fault is healed, before the final reads")
		fs.BoolVar(&c.FinalReads, "final-reads", c.FinalReads, "after healing, read back every key the run wrote")
		fs.Var((*durationFlag)(&c.FinalTimeout), "final-timeout", "deadline of the final reads")
	})
	return func() error { c.Nemesis = splitNemesis(*nemesis); return nil }
}

func checkFlags(fs *pflag.FlagSet, c *scenario.CheckConfig) (finish func() error) {
	copts := &optionsFlag{m: &c.Options, given: map[string]string{}}
	inGroup(fs, groupChecks, func() {
		fs.StringVar(&c.Consistency, "consistency", c.Consistency, "transactions: the model the history is held to: strict-serializable (default), serializable, snapshot-isolation, repeatable-read, read-committed, read-uncommitted")
		fs.Var(copts, "check-opt", "checker option key=value, repeatable (queue: redelivers=true, at-least-once=true, batch=N; log: at-least-once=true, shared-consumers=true; elle: writes-follow-reads=false, linearizable-keys=true, initial-state=empty|unknown)")
		fs.Var((*durationFlag)(&c.Timeout), "check-timeout", "time budget of the linearizability check")
		fs.IntVar(&c.MemoryMB, "check-memory-mb", c.MemoryMB, "heap (MiB) over which the linearizability check stops its heaviest search, leaving that key unknown")
		fs.Var((*thresholdsFlag)(&c.Thresholds), "threshold",
			"fail the run when missed, e.g. 'p99 < 200ms outside faults', 'availability > 0.99 outside faults' (repeatable; 'none' clears)")
	})
	return func() error { return nil }
}

// thresholdsFlag collects --threshold; each is parsed when the scenario is
// validated, so a bad one is exit 3 before anything is launched.
type thresholdsFlag []string

func (t *thresholdsFlag) Type() string   { return "expr" }
func (t *thresholdsFlag) String() string { return strings.Join(*t, "; ") }
func (t *thresholdsFlag) Set(s string) error {
	if strings.TrimSpace(s) == "none" {
		*t = []string{}
		return nil
	}
	*t = append(*t, s)
	return nil
}

type durationFlag scenario.Duration

func (d *durationFlag) Type() string   { return "duration" }
func (d *durationFlag) String() string { return time.Duration(*d).String() }
func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration like 30s")
	}
	*d = durationFlag(v)
	return nil
}

// outputFlag is --output: text (the verdict line) or json (one object).
type outputFlag string

func (o *outputFlag) Type() string   { return "text|json" }
func (o *outputFlag) String() string { return string(*o) }
func (o *outputFlag) Set(s string) error {
	if s != "text" && s != "json" {
		return fmt.Errorf("want text or json")
	}
	*o = outputFlag(s)
	return nil
}
