package checkers

import (
	"cmp"
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// PruneStats counts what pruning removed, by reason.
type PruneStats struct {
	Kept              int
	FailedReads       int // failed or unknown reads carry no information
	FailedWrites      int // certainly did not happen (fail, including a cas whose compare failed)
	UnseenUnknown     int // unknown writes whose unique value nobody saw
	SeenUnknownCapped int // unknown writes that must have ended by a read that saw them
	Other             int // operations the register model does not know
}

// Prune turns operations into per-key porcupine histories, sorted by call
// time, dropping what is sound to drop. Written values are unique, so a read
// (or a cas's expected value) names the write it saw. The rules, and why
// each keeps the verdict exactly as it would be without pruning, are in
// docs/architecture.md ("Pruning"):
//
//   - failed and unknown reads are dropped: they change nothing and returned nothing;
//   - failed writes and cas are dropped: they certainly did not happen;
//   - an unknown write or cas whose value no successful read returned and no
//     successful cas expected is dropped: it may not have happened (a kept
//     unknown cas counts as an observer of its expected value: it is kept
//     because it happened);
//   - an unknown write or cas whose value was observed must have happened
//     before its first observer returned: its interval ends at the earliest
//     return of an operation that observed it (or at its own call, if that
//     observer returned before it was even invoked: a zero-length interval
//     that lets porcupine report the anomaly).
func Prune(ops []history.Op) (map[string][]porcupine.Operation, PruneStats) {
	var st PruneStats
	byKey := byKey(ops)
	out := make(map[string][]porcupine.Operation, len(byKey))
	seen := map[string]int64{}
	procs := map[history.Process]int{}
	for key, idx := range byKey {
		observations(ops, idx, seen)
		clear(procs)
		hist := make([]porcupine.Operation, 0, len(idx))
		slab := make([]opData, len(idx))
		for n, i := range idx {
			op := &ops[i]
			d := &slab[n]
			d.meta = OpMeta{ID: op.ID, Process: op.Process, Node: op.Node, Type: op.Type, Return: op.Return}
			ret := op.Return
			switch {
			case op.F != history.FRead && op.F != history.FWrite && op.F != history.FCAS:
				st.Other++
				continue
			case op.F == history.FRead:
				if op.Type != history.OK {
					st.FailedReads++
					continue
				}
			case op.Type == history.Fail:
				st.FailedWrites++
				continue
			case op.Type != history.OK: // info: unknown outcome
				t, ok := seen[op.Value]
				if !ok {
					st.UnseenUnknown++
					continue
				}
				st.SeenUnknownCapped++
				ret = max(t, op.Call)
				d.meta.Pruned = true
			}
			c, ok := procs[op.Process]
			if !ok {
				c = len(procs)
				procs[op.Process] = c
			}
			d.in = RegisterInput{F: op.F, Value: op.Value, From: op.From}
			if op.F == history.FRead {
				d.in.Value = ""
				d.out.Value = op.Value
			}
			hist = append(hist, porcupine.Operation{ClientId: c, Input: &d.in, Call: op.Call, Output: &d.out, Return: ret, Metadata: &d.meta})
			st.Kept++
		}
		if len(hist) > 0 {
			slices.SortStableFunc(hist, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
			out[key] = hist
		}
	}
	return out, st
}

// observations fills seen with, for each value written on one key (ops[i]
// for i in idx), the earliest time by which an operation that observed it
// ended: an ok read that returned it, an ok cas that expected it, or an
// unknown cas that must have happened because its own value was observed
// (it is kept, so it happened, and it observed its expected value by the
// time it is made to end). The last kind can make another unknown write
// seen, or seen earlier: repeat until nothing moves (chains are short).
func observations(ops []history.Op, idx []int, seen map[string]int64) {
	clear(seen)
	observe := func(v string, ret int64) bool {
		if v == "" {
			return false
		}
		if t, ok := seen[v]; !ok || ret < t {
			seen[v] = ret
			return true
		}
		return false
	}
	var unknownCAS []*history.Op
	for _, i := range idx {
		op := &ops[i]
		switch {
		case op.Type == history.Info && op.F == history.FCAS:
			unknownCAS = append(unknownCAS, op)
		case op.Type != history.OK:
		case op.F == history.FRead:
			observe(op.Value, op.Return)
		case op.F == history.FCAS:
			observe(op.From, op.Return)
		}
	}
	for changed := true; changed; {
		changed = false
		for _, op := range unknownCAS {
			if t, ok := seen[op.Value]; ok && observe(op.From, max(t, op.Call)) {
				changed = true
			}
		}
	}
}

// byKey indexes operations by key, in history order; keyless ones are left out.
func byKey(ops []history.Op) map[string][]int {
	out := map[string][]int{}
	for i := range ops {
		if ops[i].Key != "" {
			out[ops[i].Key] = append(out[ops[i].Key], i)
		}
	}
	return out
}

// opData is what a porcupine operation points to.
type opData struct {
	in   RegisterInput
	out  RegisterOutput
	meta OpMeta
}
