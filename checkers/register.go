package checkers

import (
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// RegisterInput is one operation on a single-key register.
type RegisterInput struct {
	F     string // read, write, cas
	Value string // written value (write, cas)
	From  string // expected value (cas)
	// Open marks an unknown write or cas left open by pruning (its value
	// repeats, so no read of it proves when, or whether, it happened): it
	// may take effect at any time in its interval, or never. A write can
	// always take effect last, where nothing sees it, so only a cas needs
	// the model's help: see setStep.
	Open bool
}

// RegisterOutput is what an operation returned; only reads return a value.
type RegisterOutput struct {
	Value string
}

// OpMeta rides along with each porcupine operation for the visualization and
// the explanations. Porcupine operations carry pointers to RegisterInput,
// RegisterOutput and OpMeta, which Prune allocates in one block per key: a
// million operations are then a few hundred allocations, not three million.
type OpMeta struct {
	ID      uint64
	Process history.Process
	Node    string
	Type    history.Type
	// Pruned says the return time was moved (an unknown write seen by a read).
	Pruned bool
	// Open says it was left open: an unknown write of a value written more
	// than once, which may have happened at any time after its call, or never.
	Open bool
	// Return is the recorded completion time (-1 if the operation never
	// completed), which differs from the porcupine interval when Pruned.
	Return int64
}

// registerStep is the register's sequential specification: the state is the
// current value, "" the initial (absent) value.
func registerStep(s string, in *RegisterInput, out *RegisterOutput) (bool, string) {
	switch in.F {
	case history.FRead:
		return out.Value == s, s
	case history.FWrite:
		return true, in.Value
	case history.FCAS:
		if s != in.From {
			return false, s
		}
		return true, in.Value
	}
	return false, s
}

// RegisterModel is a register whose state is its current value; "" is the
// initial, absent value. Histories must be partitioned by key beforehand.
var RegisterModel = registerModel([]string{""}, nil, false)

// modelFor is the register model for checking ops from states: the set
// model when ops hold an open cas (it may or may not take effect, which one
// value cannot express), else registerModel's choice.
func modelFor(ops []porcupine.Operation, states []string, stop func() bool) porcupine.Model {
	return registerModel(states, stop, hasOpenCAS(ops))
}

func hasOpenCAS(ops []porcupine.Operation) bool {
	for _, op := range ops {
		if in := op.Input.(*RegisterInput); in.Open && in.F == history.FCAS {
			return true
		}
	}
	return false
}

// registerModel is the register model started in one of states. With one
// state (and sets false) the state is the value itself. With several (a key
// checked from a cut where more than one value was possible) the state is
// the sorted set of values the register may hold, porcupine's power-set
// construction specialised to a register: a read narrows the set to what it
// saw, a write replaces it, an open cas may add its value. stop, when not
// nil, is polled on every step: once it says true every step fails,
// porcupine unwinds quickly, and the caller must discard the answer (see
// searcher.call).
func registerModel(states []string, stop func() bool, sets bool) porcupine.Model {
	m := porcupine.Model{
		Equal:                     func(a, b interface{}) bool { return a.(string) == b.(string) },
		Hash:                      func(s interface{}) uint64 { return hashString(s.(string)) },
		DescribeOperation:         describeOp,
		DescribeState:             func(s interface{}) string { return show(s.(string)) },
		DescribeOperationMetadata: describeMeta,
	}
	if len(states) == 1 && !sets {
		init := states[0]
		m.Init = func() interface{} { return init }
		m.Step = func(state, input, output interface{}) (bool, interface{}) {
			if stop != nil && stop() {
				return false, state
			}
			return registerStep(state.(string), input.(*RegisterInput), output.(*RegisterOutput))
		}
		return m
	}
	set := slices.Clone(states)
	slices.Sort(set)
	set = slices.Compact(set)
	m.Init = func() interface{} { return stateSet(set) }
	m.Step = func(state, input, output interface{}) (bool, interface{}) {
		if stop != nil && stop() {
			return false, state
		}
		return setStep(state.(stateSet), input.(*RegisterInput), output.(*RegisterOutput))
	}
	m.Equal = func(a, b interface{}) bool { return slices.Equal(a.(stateSet), b.(stateSet)) }
	m.Hash = func(s interface{}) uint64 {
		var h uint64
		for _, v := range s.(stateSet) {
			h ^= hashString(v)
		}
		return h
	}
	m.DescribeState = func(s interface{}) string { return describeSet(s.(stateSet)) }
	return m
}

// stateSet is a sorted set of values a register may hold.
type stateSet []string

func setStep(s stateSet, in *RegisterInput, out *RegisterOutput) (bool, interface{}) {
	switch in.F {
	case history.FRead:
		if _, ok := slices.BinarySearch(s, out.Value); ok {
			return true, stateSet{out.Value}
		}
		return false, s
	case history.FWrite:
		return true, stateSet{in.Value}
	case history.FCAS:
		_, ok := slices.BinarySearch(s, in.From)
		switch {
		case !in.Open && ok:
			return true, stateSet{in.Value}
		case !in.Open:
			return false, s
		case !ok:
			return true, s // it did not take effect
		}
		// Open: it took effect (if the register held From) or it did not.
		if _, has := slices.BinarySearch(s, in.Value); has {
			return true, s
		}
		u := make(stateSet, 0, len(s)+1)
		u = append(u, s...)
		u = append(u, in.Value)
		slices.Sort(u)
		return true, u
	}
	return false, s
}

// hashString is FNV-1a: porcupine buckets its cache by it.
func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func describeOp(input, output interface{}) string {
	in := input.(*RegisterInput)
	switch in.F {
	case history.FRead:
		return fmt.Sprintf("read() -> %s", show(output.(*RegisterOutput).Value))
	case history.FWrite:
		return fmt.Sprintf("write(%s)", in.Value)
	case history.FCAS:
		return fmt.Sprintf("cas(%s -> %s)", show(in.From), in.Value)
	}
	return in.F
}

func describeMeta(info interface{}) string {
	m, ok := info.(*OpMeta)
	if !ok || m == nil {
		return ""
	}
	s := fmt.Sprintf("op %d, process %s, node %s, %s", m.ID, m.Process, m.Node, m.Type)
	switch {
	case m.Pruned:
		s += " (unknown outcome; seen by a read, so it ended by then)"
	case m.Open:
		s += " (unknown outcome, left open: its value was written more than once)"
	}
	return s
}

func describeSet(s []string) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = show(v)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func show(v string) string {
	if v == "" {
		return "nil"
	}
	return v
}

func metaOf(op porcupine.Operation) *OpMeta {
	if m, ok := op.Metadata.(*OpMeta); ok && m != nil {
		return m
	}
	return &OpMeta{Return: op.Return}
}
