// Package workload defines the unit of a data model, as Jepsen's workload:
// the operations it uses, a seeded generator that keeps its histories
// checkable, an optional final phase, and the checkers that apply to its
// histories. A new data model (transactions, queues, a set, a counter) is one
// folder under bench/workload implementing Workload, plus one registration
// line in bench/workload/builtin.
package workload

import (
	"context"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// Workload is one data model.
type Workload interface {
	// Name is what --workload (load.workload) selects.
	Name() string
	// New validates cfg and returns the generator of one run, its choices
	// fixed by cfg.Seed. Errors name the scenario key or flag at fault.
	New(cfg Config) (Generator, error)
	// Ops lists the operation functions (history.Event.F) that a generator
	// for cfg issues: the target's client must support each (Supporter).
	Ops(cfg Config) ([]string, error)
	// Checkers names, in report order, the checkers (checkers.Register)
	// that apply to its histories. Availability and the scenario's
	// thresholds apply to every workload and are not listed.
	Checkers(cfg Config) []string
}

// Generator decides what each operation does. It is called concurrently by
// the load's workers and its result loop.
type Generator interface {
	// Next fills op's F, Key and value (Value or Data, and From); op.ID,
	// Process and Node are already set, and op.ID is unique in the run.
	Next(op *history.Event)
	// Done is told how each operation ended: done carries the operation
	// and its completion type (ok, fail, info; Invoke when it was abandoned
	// before being sent) and the completion's value.
	Done(done *history.Event)
}

// Finisher is a workload with a final phase: once every fault is healed and
// the cluster had a quiet period, Final reads back what the run should have
// left (register's final reads; a queue's drain; a log's full read). Its
// operations are ordinary operations of the history marked final.
type Finisher interface {
	Final(ctx context.Context, gen Generator, env FinalEnv) FinalStats
}

// FinalEnv is what a final phase may do to the cluster.
type FinalEnv interface {
	// Nodes is how many nodes can be asked (0 .. Nodes()-1).
	Nodes() int
	// Do performs op on node i and records it, invoke and completion, as an
	// operation of the history marked final. It gives op a fresh id; op's
	// Process is the caller's (NewProcess).
	Do(ctx context.Context, op *history.Event, node int) targets.Outcome
	// NewProcess is a process id no operation has used. A process whose
	// operation ended in info must not be used again.
	NewProcess() history.Process
}

// FinalStats counts what a final phase did (scenario.json's final_reads).
type FinalStats struct {
	// Keys is how many keys (queues, streams) it meant to read back.
	Keys int `json:"keys"`
	// Read is how many it read.
	Read int `json:"read"`
	// Attempts counts every operation it made.
	Attempts int `json:"attempts"`
}

// Config is what a workload is told about the run: the seed, the key-shaped
// knobs most workloads share (a workload ignores those it does not use), and
// its own options (load.workload_options, --workload-opt key=value).
type Config struct {
	Seed uint64
	// Keys is how many keys are open at once; KeySpace how many keys a
	// spread-out workload picks among (KeyDist: uniform, zipfian[:S]).
	Keys     int
	KeySpace int
	KeyDist  string
	// Mix weighs the operations ("read:50,write:30,cas:20").
	Mix string
	// OpsPerKey bounds the operations a key ever receives before it is
	// retired; KeyConcurrency those in flight on one key at once.
	OpsPerKey      int
	KeyConcurrency int
	// ValueSize pads written values (which stay unique).
	ValueSize int
	// Options are the workload's own settings.
	Options map[string]string
}

// Supporter is a target client that can say which operation functions it
// performs; a workload whose Ops it does not support is refused before
// anything is launched.
type Supporter interface {
	Supports(f string) bool
}
