package checkers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// FAdd adds Value to a set; a set's read (history.FRead) returns the whole
// set as a JSON array in Data (strings or numbers; null or absent: empty).
const FAdd = "add"

// Sets is the model of one grow-only set per key: add(x) and read() -> the
// set. No pruning (Operation keeps every add that may have happened), but
// spans (a set's state is its canonical string, and a span's adds all take
// effect in it, so it ends in its start state plus its adds) and 1-minimal
// witnesses. The checker "linearizable-set".
var Sets Model = sets{}

var (
	_ Spanner  = sets{}
	_ Shrinker = sets{}
)

// SetInput is one operation on a set.
type SetInput struct {
	F     string // add, read
	Value string // the element added
}

// SetOutput is what a read returned: the set in canonical form (see setKey).
type SetOutput struct {
	Elems string
}

type sets struct{}

func (sets) Name() string                    { return "set" }
func (sets) Partition(op *history.Op) string { return op.Key }

// Operation keeps ok reads (that parse) and adds that may have happened.
func (sets) Operation(op *history.Op) (any, any, bool) {
	switch {
	case op.F == FAdd && op.Type != history.Fail:
		return &SetInput{F: FAdd, Value: op.Value}, &SetOutput{}, true
	case op.F == history.FRead && op.Type == history.OK:
		elems, err := setElems(op.Data)
		if err != nil {
			return nil, nil, false
		}
		return &SetInput{F: history.FRead}, &SetOutput{Elems: setKey(elems)}, true
	}
	return nil, nil, false
}

// setElems decodes a read's set.
func setElems(data json.RawMessage) ([]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("set read: want a JSON array: %w", err)
	}
	out := make([]string, len(raw))
	for i, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out[i] = s
			continue
		}
		out[i] = string(bytes.TrimSpace(r)) // a number, as written
	}
	return out, nil
}

// setKey is a set's canonical form, its state: the sorted distinct
// elements, each followed by a NUL. A string, so porcupine compares and
// hashes it cheaply.
func setKey(elems []string) string {
	elems = slices.Clone(elems)
	slices.Sort(elems)
	elems = slices.Compact(elems)
	var b strings.Builder
	for _, e := range elems {
		b.WriteString(e)
		b.WriteByte(0)
	}
	return b.String()
}

func splitSet(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}

func setStepAdd(s, x string) string {
	elems := splitSet(s)
	if _, ok := slices.BinarySearch(elems, x); ok {
		return s
	}
	return setKey(append(elems, x))
}

func (sets) Porcupine() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return "" },
		Step: func(state, input, output any) (bool, any) {
			s, in := state.(string), input.(*SetInput)
			if in.F == FAdd {
				return true, setStepAdd(s, in.Value)
			}
			return output.(*SetOutput).Elems == s, s
		},
		Equal: func(a, b any) bool { return a.(string) == b.(string) },
		Hash:  func(s any) uint64 { return hashString(s.(string)) },
		DescribeOperation: func(input, output any) string {
			if in := input.(*SetInput); in.F == FAdd {
				return fmt.Sprintf("add(%s)", in.Value)
			}
			return "read() -> " + describeSet(splitSet(output.(*SetOutput).Elems))
		},
		DescribeState:             func(s any) string { return describeSet(splitSet(s.(string))) },
		DescribeOperationMetadata: describeMeta,
	}
}

// Leaving out add(x) with every read that contains x keeps a linearization
// one: the reads left do not contain x, so they came before every add(x).
func (sets) Writes(op porcupine.Operation) (string, bool) {
	if in := op.Input.(*SetInput); in.F == FAdd {
		return in.Value, true
	}
	return "", false
}

func (sets) Holds(state string) []string { return splitSet(state) }

func (sets) Observes(op porcupine.Operation) []string {
	if op.Input.(*SetInput).F == FAdd {
		return nil
	}
	return splitSet(op.Output.(*SetOutput).Elems)
}

// Cuts cuts at every quiet point once a span has target operations. An
// unknown add is open to the key's end, so nothing after it is cut.
func (sets) Cuts(ops []porcupine.Operation, target int) []Span {
	target = max(target, 1)
	var out []Span
	start := 0
	var maxRet int64
	for i := range ops {
		if i-start >= target && maxRet < ops[i].Call {
			out = append(out, Span{start, i})
			start = i
		}
		maxRet = max(maxRet, ops[i].Return)
	}
	if start < len(ops) {
		out = append(out, Span{start, len(ops)})
	}
	return out
}

// EndStates: every add of a span that is not the key's last has returned
// within it, so took effect: each start state ends as itself plus the adds.
func (sets) EndStates(ops []porcupine.Operation, states []string) ([]string, bool) {
	var adds []string
	for _, op := range ops {
		if in := op.Input.(*SetInput); in.F == FAdd {
			adds = append(adds, in.Value)
		}
	}
	if len(adds) == 0 {
		return states, false
	}
	var out []string
	for _, st := range states {
		if e := setKey(append(splitSet(st), adds...)); !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, true
}

// Probe appends a read of s after everything.
func (sets) Probe(ops []porcupine.Operation, s string) []porcupine.Operation {
	var end int64
	for _, op := range ops {
		end = max(end, op.Return, op.Call)
	}
	out := make([]porcupine.Operation, len(ops), len(ops)+1)
	copy(out, ops)
	return append(out, porcupine.Operation{Input: &SetInput{F: history.FRead}, Output: &SetOutput{Elems: s},
		Call: end + 1, Return: end + 1})
}

// From starts the set in states[0], or, with several, in the set of them
// (porcupine's power-set construction: an add applies to each, a read keeps
// those it saw).
func (m sets) From(_ []porcupine.Operation, states []string, stop func() bool) porcupine.Model {
	pm := m.Porcupine()
	if len(states) == 1 {
		init, step := states[0], pm.Step
		pm.Init = func() any { return init }
		pm.Step = func(s, in, out any) (bool, any) {
			if stop != nil && stop() {
				return false, s
			}
			return step(s, in, out)
		}
		return pm
	}
	set := slices.Clone(states)
	slices.Sort(set)
	set = slices.Compact(set)
	pm.Init = func() any { return stateSet(set) }
	pm.Step = func(state, input, output any) (bool, any) {
		if stop != nil && stop() {
			return false, state
		}
		s, in := state.(stateSet), input.(*SetInput)
		if in.F == FAdd {
			next := make(stateSet, len(s))
			for i, e := range s {
				next[i] = setStepAdd(e, in.Value)
			}
			slices.Sort(next)
			return true, stateSet(slices.Compact(next))
		}
		if _, ok := slices.BinarySearch(s, output.(*SetOutput).Elems); ok {
			return true, stateSet{output.(*SetOutput).Elems}
		}
		return false, s
	}
	pm.Equal = func(a, b any) bool { return slices.Equal(a.(stateSet), b.(stateSet)) }
	pm.Hash = func(s any) uint64 {
		var h uint64
		for _, v := range s.(stateSet) {
			h ^= hashString(v)
		}
		return h
	}
	pm.DescribeState = func(s any) string {
		parts := make([]string, len(s.(stateSet)))
		for i, e := range s.(stateSet) {
			parts[i] = describeSet(splitSet(e))
		}
		return "one of {" + strings.Join(parts, ", ") + "}"
	}
	return pm
}
