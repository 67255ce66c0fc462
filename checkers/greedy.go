package checkers

import (
	"cmp"
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// linearizeGreedy tries to build one linearization of a span from state s
// without searching, and returns the state it ends in. It sweeps the span's
// calls and returns in time order (calls first on ties: intervals are
// closed), and places each operation between its call and its return:
//
//   - a read is placed as soon as the register holds its value: placing a
//     read early never hurts, since it changes nothing and everything that
//     had to precede it has already returned, so has already been placed;
//   - a write (or cas) is placed at its return, or earlier when a read
//     returns its value (the first pending write of that value the register
//     allows, if several wrote it), or when a cas needs the value it writes.
//     An open cas (pruning left it open) that cannot be placed at its
//     return does not take effect. If that fails, a second sweep places
//     each write at its call instead (which suits a long write overlapped
//     by shorter ones that reads show came after it).
//
// So every placement respects real time, and every step is the register's
// (a cas only where the register holds its expected value): when it
// succeeds, the sequence is a linearization and the span is linearizable
// from s. When it fails (it never guesses an order a read forces later) it
// proves nothing, and porcupine decides. Most spans of a real history are
// linearized this way at a fraction of a search's cost.
func linearizeGreedy(ops []porcupine.Operation, s string) (string, bool) {
	if end, ok := greedyPass(ops, s, false); ok {
		return end, true
	}
	return greedyPass(ops, s, true)
}

// greedyPass is one sweep; early places each write at its call (when it
// can) instead of as late as possible.
func greedyPass(ops []porcupine.Operation, s string, early bool) (string, bool) {
	n := len(ops)
	byReturn := make([]int, n)
	for i := range byReturn {
		byReturn[i] = i
	}
	slices.SortFunc(byReturn, func(a, b int) int { return cmp.Compare(ops[a].Return, ops[b].Return) })
	done := make([]bool, n)
	var reads, writes []int // called, not yet placed
	set := func(v string) {
		s = v
		kept := reads[:0]
		for _, r := range reads {
			if ops[r].Output.(*RegisterOutput).Value == v {
				done[r] = true
			} else {
				kept = append(kept, r)
			}
		}
		reads = kept
	}
	// place places write or cas i, if the register allows it now.
	place := func(i int) bool {
		in := ops[i].Input.(*RegisterInput)
		if in.F == history.FCAS && in.From != s {
			return false
		}
		done[i] = true
		writes = slices.DeleteFunc(writes, func(w int) bool { return w == i })
		set(in.Value)
		return true
	}
	// placeWriterOf places a pending write of v (the first that the
	// register allows now, when v was written more than once).
	placeWriterOf := func(v string) bool {
		for _, w := range writes {
			if ops[w].Input.(*RegisterInput).Value == v && place(w) {
				return true
			}
		}
		return false
	}
	for c, k := 0, 0; k < n; {
		if c < n && ops[c].Call <= ops[byReturn[k]].Return {
			i := c
			c++
			switch {
			case isWrite(ops[i]):
				writes = append(writes, i)
				if early {
					place(i)
				}
			case ops[i].Output.(*RegisterOutput).Value == s:
				done[i] = true
			default:
				reads = append(reads, i)
			}
			continue
		}
		i := byReturn[k]
		k++
		if done[i] {
			continue
		}
		if !isWrite(ops[i]) {
			if !placeWriterOf(ops[i].Output.(*RegisterOutput).Value) || !done[i] {
				return s, false
			}
			continue
		}
		if place(i) {
			continue
		}
		if in := ops[i].Input.(*RegisterInput); in.Open {
			// An open cas may also not take effect at all.
			done[i] = true
			writes = slices.DeleteFunc(writes, func(w int) bool { return w == i })
			continue
		}
		if !placeWriterOf(ops[i].Input.(*RegisterInput).From) || !place(i) {
			return s, false
		}
	}
	return s, true
}
