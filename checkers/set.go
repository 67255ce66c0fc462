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
// set. It has no pruning or spans (every key is one porcupine search), and
// shrinks witnesses (Shrinker). The checker "linearizable-set".
var Sets Model = sets{}

var _ Shrinker = sets{}

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

func (sets) Observes(op porcupine.Operation) []string {
	if op.Input.(*SetInput).F == FAdd {
		return nil
	}
	return splitSet(op.Output.(*SetOutput).Elems)
}
