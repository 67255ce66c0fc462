package checkers

import (
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// A Span is ops[Lo:Hi] of one key (sorted by call), cut where no operation
// of the key was in flight.
//
// Why cutting is exact: if every operation before a cut returned before
// every operation after it was called, real time orders the two sides in
// every linearization, so the key is linearizable if and only if some value
// v exists such that the left side is linearizable ending in v and the right
// side is linearizable starting from v. The checker carries the set of such
// values from span to span. Porcupine's search then never spans more than
// one span: its cache (a bitset of the span's operations per state) and its
// backtracking stay bounded by the span, however long the key's history.
type Span struct{ Lo, Hi int }

type span = Span

// cuts splits ops, sorted by call, into spans of about target operations.
// It prefers cuts after which the key's value is determined (the writes
// that could have been the last all wrote one value), so that the next span starts from one
// value and needs one porcupine call; it takes any cut once a span reaches
// four times the target. Ops with no cut for a long time (a key that was
// never quiet) make one long span: that is the irreducible part.
func cuts(ops []porcupine.Operation, target int) []span {
	if target < 1 {
		target = 1
	}
	var out []span
	start := 0
	var maxRet int64
	var last []int // writes of the current span that could be its last
	for i := range ops {
		if i > start && maxRet < ops[i].Call {
			n := i - start
			if n >= target && oneValue(ops, last) || n >= 4*target {
				out = append(out, Span{start, i})
				start, last = i, last[:0]
			}
		}
		maxRet = max(maxRet, ops[i].Return)
		if isWrite(ops[i]) {
			last = addWrite(last, ops, i)
		}
	}
	if start < len(ops) {
		out = append(out, Span{start, len(ops)})
	}
	return out
}

// oneValue says the writes last all write the same value (or there are none).
func oneValue(ops []porcupine.Operation, last []int) bool {
	for _, j := range last[min(1, len(last)):] {
		if ops[j].Input.(*RegisterInput).Value != ops[last[0]].Input.(*RegisterInput).Value {
			return false
		}
	}
	return true
}

func isWrite(op porcupine.Operation) bool { return op.Input.(*RegisterInput).F != history.FRead }

// addWrite adds write i (called no earlier than any in last) to the writes
// that could be linearized last: those that returned before i was called
// certainly precede it and drop out.
func addWrite(last []int, ops []porcupine.Operation, i int) []int {
	kept := last[:0]
	for _, j := range last {
		if ops[j].Return >= ops[i].Call {
			kept = append(kept, j)
		}
	}
	return append(kept, i)
}

// endStates lists the values the key may hold at the end of ops, if ops can
// be linearized from states: the value of a write that could be linearized
// last (the last write of a linearization cannot precede another write in
// real time), each value once, or, when ops write nothing, one of states.
// hasWrite says which.
func endStates(ops []porcupine.Operation, states []string) (cands []string, hasWrite bool) {
	var last []int
	for i := range ops {
		if isWrite(ops[i]) {
			last = addWrite(last, ops, i)
		}
	}
	if len(last) == 0 {
		return states, false
	}
	for _, j := range last {
		if v := ops[j].Input.(*RegisterInput).Value; !slices.Contains(cands, v) {
			cands = append(cands, v)
		}
	}
	return cands, true
}

// withProbe appends a read that returns v after every operation of ops: ops
// linearized from some state can end in v exactly when this is linearizable.
func withProbe(ops []porcupine.Operation, v string) []porcupine.Operation {
	var end int64
	for _, op := range ops {
		end = max(end, op.Return, op.Call)
	}
	out := make([]porcupine.Operation, len(ops), len(ops)+1)
	copy(out, ops)
	return append(out, porcupine.Operation{Input: &RegisterInput{F: history.FRead}, Output: &RegisterOutput{Value: v},
		Call: end + 1, Return: end + 1})
}
