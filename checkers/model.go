package checkers

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// Model is a data model the linearizability checker's bounded search runs
// over: a porcupine model plus how a history maps onto it. The search
// (time slices, budget, memory watchdog, explanations) is the same for
// every model; what a model can prove about itself (sound pruning, cuts
// where its state is known, a linearization built without search, how to
// shrink a witness) it offers through the optional interfaces Pruner,
// Spanner, Greedy and Shrinker. Registers is one instance, Sets another.
type Model interface {
	// Name names the model: the checker is "linearizable-<name>" (the
	// register's is plain "linearizable").
	Name() string
	// Porcupine is the sequential specification. Init is the state every
	// key starts in; the Describe functions label the explanations and
	// pages. Its Partition functions are not used (see Partition below).
	Porcupine() porcupine.Model
	// Partition names the key (the independent object) op belongs to; ""
	// leaves it out of the check.
	Partition(op *history.Op) string
	// Operation is op's porcupine input and output; keep false drops it,
	// which must be sound: a failed operation that certainly did not take
	// effect, a read that returned nothing, another model's operation. A
	// kept operation of unknown outcome (history.Info) may take effect at
	// any time after its call: the search leaves it open to the end of its
	// key, so Step must accept it with the output given here (it cannot
	// have been observed).
	Operation(op *history.Op) (input, output any, keep bool)
}

// Pruner is a model that turns a history into per-key porcupine histories
// itself, dropping or narrowing operations where it can prove the verdict
// unchanged (the register's rules, docs/architecture.md "Pruning"). Each
// key's operations are sorted by call; their Metadata is an *OpMeta.
// Without it, the search keeps what Operation keeps.
type Pruner interface {
	Prune(ops []history.Op) (map[string][]porcupine.Operation, PruneStats)
}

// Spanner is a model whose state can be named by a string and whose
// histories can be cut where no operation is in flight, the state carried
// across each cut (see Span). Without it, each key is one porcupine search
// from the initial state.
type Spanner interface {
	// Cuts splits ops (one key's, sorted by call) into spans of about
	// target operations, each cut at a point no operation spans.
	Cuts(ops []porcupine.Operation, target int) []Span
	// EndStates lists the states ops may end in if linearizable from one
	// of states; probe says each must be confirmed with Probe (false: the
	// span changes nothing, so it ends where it started).
	EndStates(ops []porcupine.Operation, states []string) (cands []string, probe bool)
	// Probe returns ops plus an operation after all of them that is legal
	// exactly in state s.
	Probe(ops []porcupine.Operation, s string) []porcupine.Operation
	// From is the porcupine model for ops started in any of states; stop,
	// when not nil, must be polled by Step, which then fails (see
	// searcher.call).
	From(ops []porcupine.Operation, states []string, stop func() bool) porcupine.Model
}

// Greedy is a Spanner that can sometimes build a linearization of a span
// without search: ok true proves the span linearizable from s, ending in
// end; false proves nothing.
type Greedy interface {
	Linearize(ops []porcupine.Operation, s string) (end string, ok bool)
}

// Shrinker lets explanations shrink a witness to a 1-minimal one. Leaving
// out an operation that writes v together with every operation observing
// v must keep any linearization a linearization (for a register or a set:
// a read of v, a cas expecting v). Without it the witness is the whole
// span that cannot be linearized.
type Shrinker interface {
	// Writes is the value op writes, if it writes one.
	Writes(op porcupine.Operation) (string, bool)
	// Observes lists the values op shows were written.
	Observes(op porcupine.Operation) []string
	// Holds lists the values a Spanner's state shows were written (a
	// register's state is its value): an explanation starting from the
	// initial state needs their writes.
	Holds(state string) []string
}

// Registers is the model of one read/write/cas register per key (history
// Key, Value, From), with every shortcut: the checker "linearizable".
var Registers Model = registers{}

var (
	_ Pruner   = registers{}
	_ Spanner  = registers{}
	_ Greedy   = registers{}
	_ Shrinker = registers{}
)

type registers struct{}

func (registers) Name() string               { return "register" }
func (registers) Porcupine() porcupine.Model { return RegisterModel }
func (registers) Partition(op *history.Op) string {
	return op.Key
}

func (registers) Operation(op *history.Op) (any, any, bool) {
	switch {
	case op.F != history.FRead && op.F != history.FWrite && op.F != history.FCAS,
		op.Type == history.Fail, op.F == history.FRead && op.Type != history.OK:
		return nil, nil, false
	case op.F == history.FRead:
		return &RegisterInput{F: op.F}, &RegisterOutput{Value: op.Value}, true
	}
	// Unknown: open (Prune, which the search uses instead, narrows this).
	return &RegisterInput{F: op.F, Value: op.Value, From: op.From, Open: op.Type != history.OK}, &RegisterOutput{}, true
}

func (registers) Prune(ops []history.Op) (map[string][]porcupine.Operation, PruneStats) {
	return Prune(ops)
}

func (registers) Cuts(ops []porcupine.Operation, target int) []Span { return cuts(ops, target) }

func (registers) EndStates(ops []porcupine.Operation, states []string) ([]string, bool) {
	return endStates(ops, states)
}

func (registers) Probe(ops []porcupine.Operation, s string) []porcupine.Operation {
	return withProbe(ops, s)
}

func (registers) From(ops []porcupine.Operation, states []string, stop func() bool) porcupine.Model {
	return modelFor(ops, states, stop)
}

func (registers) Linearize(ops []porcupine.Operation, s string) (string, bool) {
	return linearizeGreedy(ops, s)
}

func (registers) Writes(op porcupine.Operation) (string, bool) {
	if !isWrite(op) {
		return "", false
	}
	return op.Input.(*RegisterInput).Value, true
}

func (registers) Holds(state string) []string { return []string{state} }

func (registers) Observes(op porcupine.Operation) []string {
	in := op.Input.(*RegisterInput)
	switch in.F {
	case history.FRead:
		return []string{op.Output.(*RegisterOutput).Value}
	case history.FCAS:
		return []string{in.From}
	}
	return nil
}

// engine is a model with its optional capabilities resolved once.
type engine struct {
	m  Model
	pm porcupine.Model
	pr Pruner
	sp Spanner
	gr Greedy
	sh Shrinker
}

func newEngine(m Model) *engine {
	if m == nil {
		m = Registers
	}
	e := &engine{m: m, pm: m.Porcupine()}
	e.pr, _ = m.(Pruner)
	e.sp, _ = m.(Spanner)
	if e.sp != nil {
		e.gr, _ = m.(Greedy)
	}
	e.sh, _ = m.(Shrinker)
	return e
}

// initial is the states a key starts in: for a Spanner, its initial
// state's name; otherwise none (the porcupine model's Init).
func (e *engine) initial() []string {
	if e.sp == nil {
		return nil
	}
	return []string{e.pm.Init().(string)}
}

// porcupine is the model for ops from states, failing every step once stop
// says so.
func (e *engine) porcupine(ops []porcupine.Operation, states []string, stop func() bool) porcupine.Model {
	if e.sp != nil {
		return e.sp.From(ops, states, stop)
	}
	m := e.pm
	m.Partition, m.PartitionEvent = nil, nil // one key at a time already
	if stop != nil {
		if step := m.Step; step != nil {
			m.Step = func(s, in, out any) (bool, any) {
				if stop() {
					return false, s
				}
				return step(s, in, out)
			}
		}
		if step := m.StepContext; step != nil {
			m.StepContext = func(ctx context.Context, s, in, out any) (bool, any) {
				if stop() {
					return false, s
				}
				return step(ctx, s, in, out)
			}
		}
	}
	return m
}

func (e *engine) cuts(ops []porcupine.Operation, target int) []Span {
	if e.sp == nil {
		return []Span{{0, len(ops)}}
	}
	return e.sp.Cuts(ops, target)
}

func (e *engine) describe(op porcupine.Operation) string {
	if e.pm.DescribeOperation == nil {
		return fmt.Sprint(op.Input, " -> ", op.Output)
	}
	return e.pm.DescribeOperation(op.Input, op.Output)
}

// startDesc names the states a check starts from.
func (e *engine) startDesc(states []string) string {
	if states == nil && e.pm.DescribeState != nil {
		return e.pm.DescribeState(e.pm.Init())
	}
	return describeSet(e.stateNames(states))
}

// stateNames is what reports show of a Spanner's states: a register's are
// its values; another model's, as its DescribeState puts them.
func (e *engine) stateNames(states []string) []string {
	if _, ok := e.m.(registers); ok || e.pm.DescribeState == nil || states == nil {
		return states
	}
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = e.pm.DescribeState(s)
	}
	return out
}

// partition is the search's input without a Pruner: every key's kept
// operations, sorted by call, an unknown outcome open to the key's end.
func (e *engine) partition(ops []history.Op) (map[string][]porcupine.Operation, PruneStats) {
	if e.pr != nil {
		return e.pr.Prune(ops)
	}
	var st PruneStats
	out := map[string][]porcupine.Operation{}
	ends := map[string]int64{}
	procs := map[string]map[history.Process]int{}
	for i := range ops {
		op := &ops[i]
		k := e.m.Partition(op)
		if k == "" {
			continue
		}
		ends[k] = max(ends[k], op.Call+1, op.Return+1)
		in, outp, keep := e.m.Operation(op)
		if !keep {
			st.Other++
			continue
		}
		pm := procs[k]
		if pm == nil {
			pm = map[history.Process]int{}
			procs[k] = pm
		}
		c, ok := pm[op.Process]
		if !ok {
			c = len(pm)
			pm[op.Process] = c
		}
		meta := &OpMeta{ID: op.ID, Process: op.Process, Node: op.Node, Type: op.Type, Return: op.Return}
		ret := op.Return
		if op.Type != history.OK {
			ret = -1 // open: set to the key's end below
			st.OpenUnknown++
		}
		out[k] = append(out[k], porcupine.Operation{ClientId: c, Input: in, Call: op.Call, Output: outp, Return: ret, Metadata: meta})
		st.Kept++
	}
	for k, hist := range out {
		for n := range hist {
			if hist[n].Return < 0 {
				hist[n].Return = ends[k]
			}
		}
		slices.SortStableFunc(hist, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	}
	return out, st
}
