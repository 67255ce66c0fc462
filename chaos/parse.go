package chaos

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Options tune the faults that take numbers.
type Options struct {
	// LossPercent is the share of packets the loss fault drops.
	LossPercent int
	// Delay and Jitter shape the delay fault.
	Delay, Jitter time.Duration
}

// DefaultOptions are the numbers used when none are given.
func DefaultOptions() Options {
	return Options{LossPercent: 30, Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}
}

// catalogue is the one list of faults, by the name --nemesis uses.
var catalogue = map[string]struct {
	help string
	make func(o Options) Fault
}{
	"partition":          {"isolate the leader from the other nodes", func(Options) Fault { return Isolate("partition", ChooseLeader) }},
	"partition-leader":   {"same as partition", func(Options) Fault { return Isolate("partition-leader", ChooseLeader) }},
	"partition-follower": {"isolate a follower", func(Options) Fault { return Isolate("partition-follower", ChooseFollower) }},
	"partition-random":   {"isolate a random node", func(Options) Fault { return Isolate("partition-random", ChooseRandom) }},
	"partition-halves":   {"random minority / majority split", func(Options) Fault { return Halves() }},
	"partition-ring":     {"majorities ring: every node sees a different majority (4+ nodes)", func(Options) Fault { return Ring() }},
	"partition-bridge":   {"two halves that share one bridge node (3+ nodes)", func(Options) Fault { return Bridge() }},
	"partition-oneway":   {"a random node cannot open connections to the others; they can to it", func(Options) Fault { return OneWay("partition-oneway", ChooseRandom) }},
	"partition-oneway-leader": {"the leader cannot open connections to the others; they can to it",
		func(Options) Fault { return OneWay("partition-oneway-leader", ChooseLeader) }},
	"partition-client": {"clients (the load too) cannot reach a random minority; nodes reach each other", func(Options) Fault { return ClientIsolate() }},
	"kill":             {"kill -9 a random node, restart it with its data", func(Options) Fault { return Kill("kill", ChooseRandom) }},
	"kill-leader":      {"kill -9 the leader, restart it with its data", func(Options) Fault { return Kill("kill-leader", ChooseLeader) }},
	"kill-follower":    {"kill -9 a follower, restart it with its data", func(Options) Fault { return Kill("kill-follower", ChooseFollower) }},
	"kill-all":         {"kill -9 every node at once, restart them all", func(Options) Fault { return KillAll() }},
	"pause":            {"freeze a random node, then resume it", func(Options) Fault { return Pause("pause", ChooseRandom) }},
	"pause-leader":     {"freeze the leader, then resume it", func(Options) Fault { return Pause("pause-leader", ChooseLeader) }},
	"pause-follower":   {"freeze a follower, then resume it", func(Options) Fault { return Pause("pause-follower", ChooseFollower) }},
	"loss":             {"drop --loss-percent of packets between nodes (nftables numgen random)", func(o Options) Fault { return Loss(o.LossPercent) }},
	"delay":            {"delay packets by --delay ± --jitter (tc netem; refused where the kernel has none)", func(o Options) Fault { return Delay(o.Delay, o.Jitter) }},
}

// Names lists every fault name, sorted.
func Names() []string {
	out := make([]string, 0, len(catalogue))
	for n := range catalogue {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Help describes every fault, one per line.
func Help() string {
	var b strings.Builder
	for _, n := range Names() {
		fmt.Fprintf(&b, "%-24s %s\n", n, catalogue[n].help)
	}
	return b.String()
}

// Lookup returns the fault called name.
func Lookup(name string, o Options) (Fault, error) {
	c, ok := catalogue[name]
	if !ok {
		return nil, fmt.Errorf("unknown nemesis %q (known: none, %s)", name, strings.Join(Names(), ", "))
	}
	return c.make(o), nil
}

// Validate refuses options no fault can use.
func (o Options) Validate() error {
	if o.LossPercent < 1 || o.LossPercent > 100 {
		return fmt.Errorf("--loss-percent %d: want 1 to 100", o.LossPercent)
	}
	if o.Delay <= 0 || o.Jitter < 0 {
		return fmt.Errorf("--delay %v --jitter %v: want a positive delay and a jitter not below zero", o.Delay, o.Jitter)
	}
	return nil
}

// Parse turns a --nemesis list into faults. "none" or "" means no fault.
func Parse(names []string, o Options) ([]Fault, error) {
	var out []Fault
	var errs []error
	for _, n := range names {
		if n == "" || n == "none" {
			continue
		}
		f, err := Lookup(n, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, f)
	}
	return out, errors.Join(errs...)
}
