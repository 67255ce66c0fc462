package checkers

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// Revision ordering (porcupine issue 35): a system that reports where each
// operation took effect in one total order (etcd's header revision) has
// told the checker the linearization of its acknowledged operations. The
// search uses it as a hint, never as evidence:
//
//   - the operations of a key that carry a revision are grouped by it (a
//     write, then the reads at its revision) and each group's intervals
//     are narrowed to a window of its own, the windows in revision order,
//     so that real time orders the groups and porcupine never tries them
//     in another order;
//   - narrowing only shrinks intervals, so every linearization of the
//     narrowed history is one of the recorded history: a narrowed key
//     found linearizable is linearizable;
//   - a narrowed key found not linearizable proves nothing (the revisions
//     may be wrong: that is the etcd-revisions checker's verdict, not this
//     one's): it is checked again from the start as recorded. So the
//     verdict is the same with or without revisions; only its cost is not.

// opRevision is what ordering uses of a recorded version.
type opRevision struct {
	Rev int64 `json:"rev"`
	Mod int64 `json:"mod"`
	Ser bool  `json:"ser"`
}

// revisionsOf indexes, by operation id, the revisions of the completed
// register operations that report one; nil when none does.
func revisionsOf(ops []history.Op) map[uint64]opRevision {
	var out map[uint64]opRevision
	for i := range ops {
		op := &ops[i]
		if len(op.Version) == 0 || op.Type != history.OK ||
			op.F != history.FRead && op.F != history.FWrite && op.F != history.FCAS {
			continue
		}
		v, ok := parseRevision(op.Version)
		if !ok {
			continue
		}
		if out == nil {
			out = map[uint64]opRevision{}
		}
		out[op.ID] = v
	}
	return out
}

// parseRevision reads {"rev":R,"mod":M,"ser":true} as etcd's client
// records it, without reflection (it runs once per operation); anything
// else goes through encoding/json.
func parseRevision(b []byte) (opRevision, bool) {
	var v opRevision
	rest, ok := bytes.CutPrefix(b, []byte(`{"rev":`))
	for ok {
		n := 0
		var x int64
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' && n < 18 {
			x = x*10 + int64(rest[n]-'0')
			n++
		}
		if n == 0 || n == len(rest) {
			break
		}
		v.Rev, rest = x, rest[n:]
		switch {
		case string(rest) == "}":
			return v, v.Rev > 0
		case bytes.HasPrefix(rest, []byte(`,"mod":`)):
			rest = rest[len(`,"mod":`):]
			n, x = 0, 0
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' && n < 18 {
				x = x*10 + int64(rest[n]-'0')
				n++
			}
			v.Mod, rest = x, rest[n:]
		}
		switch string(rest) {
		case "}":
			return v, v.Rev > 0
		case `,"ser":true}`:
			v.Ser = true
			return v, v.Rev > 0
		}
		break
	}
	v = opRevision{}
	if json.Unmarshal(b, &v) != nil || v.Rev <= 0 {
		return opRevision{}, false
	}
	return v, true
}

// orderByRevision returns a copy of one key's operations (sorted by call)
// with the intervals of those that carry a revision narrowed to windows in
// revision order, sorted by call again; nil when fewer than two operations
// carry one or the revisions cannot all be honoured within the recorded
// intervals (two writes at one revision, a revision order real time
// contradicts): then the key is searched as recorded.
func orderByRevision(ops []porcupine.Operation, revs map[uint64]opRevision) []porcupine.Operation {
	var rk []ranked
	// An unknown write is the write a read saw at mod revision M when it
	// is the only write of that value on the key: it took effect at M.
	var writers map[string]int
	for i := range ops {
		if m, _ := ops[i].Metadata.(*OpMeta); m != nil && m.Type != history.OK && isWrite(ops[i]) {
			writers = map[string]int{}
			break
		}
	}
	for i := range ops {
		if writers != nil && isWrite(ops[i]) {
			writers[ops[i].Input.(*RegisterInput).Value]++
		}
	}
	var unknownAt, casAt map[string]int64
	for i := range ops {
		m, _ := ops[i].Metadata.(*OpMeta)
		if m == nil {
			continue
		}
		r, ok := revs[m.ID]
		if !ok || r.Ser {
			continue
		}
		in := ops[i].Input.(*RegisterInput)
		if in.F == history.FRead {
			rk = append(rk, ranked{i: i, rev: r.Rev, read: true})
			if v := ops[i].Output.(*RegisterOutput).Value; v != "" && r.Mod > 0 && writers != nil && writers[v] == 1 {
				if unknownAt == nil {
					unknownAt = map[string]int64{}
				}
				unknownAt[v] = r.Mod
			}
			continue
		}
		rk = append(rk, ranked{i: i, rev: r.Rev})
		// A cas that expected a value only an unknown write wrote: that
		// write was the key's last before the cas (no read saw it, or its
		// mod revision would have placed it), so it goes just before.
		if in.F == history.FCAS && writers != nil && writers[in.From] == 1 {
			if _, seen := unknownAt[in.From]; !seen {
				if casAt == nil {
					casAt = map[string]int64{}
				}
				casAt[in.From] = r.Rev
			}
		}
	}
	for i := 0; (unknownAt != nil || casAt != nil) && i < len(ops); i++ {
		m, _ := ops[i].Metadata.(*OpMeta)
		if m == nil || m.Type == history.OK || !isWrite(ops[i]) {
			continue
		}
		v := ops[i].Input.(*RegisterInput).Value
		if at, ok := unknownAt[v]; ok {
			rk = append(rk, ranked{i: i, rev: at})
		} else if at, ok := casAt[v]; ok {
			rk = append(rk, ranked{i: i, rev: at, sub: -1})
		}
	}
	if len(rk) < 2 {
		return nil
	}
	// A write before the reads at its revision.
	for n := range rk {
		if rk[n].read {
			rk[n].sub = 1
		}
	}
	slices.SortFunc(rk, func(a, b ranked) int {
		if c := cmp.Compare(a.rev, b.rev); c != 0 {
			return c
		}
		if c := cmp.Compare(a.sub, b.sub); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	// Groups: each write alone, then the reads of one revision together
	// (no order among them).
	var starts []int
	for n := range rk {
		if n == 0 || rk[n].rev != rk[n-1].rev || rk[n].sub != rk[n-1].sub {
			starts = append(starts, n)
		} else if !rk[n].read {
			return nil // two writes report one revision
		}
	}
	g := len(starts)
	if g < 2 {
		return nil
	}
	group := func(k int) []ranked {
		// the operations of group k
		end := len(rk)
		if k+1 < g {
			end = starts[k+1]
		}
		return rk[starts[k]:end]
	}
	maxCall := make([]int64, g)
	minRet := make([]int64, g)
	for k := range g {
		maxCall[k], minRet[k] = never, forever
		for _, r := range group(k) {
			maxCall[k] = max(maxCall[k], ops[r.i].Call)
			minRet[k] = min(minRet[k], ops[r.i].Return)
		}
	}
	// The operations without a revision (unknown writes no read placed,
	// serializable reads) keep their intervals, and the windows must not
	// order them against the others in a way the revisions and real time
	// do not already: an operation of group k that returned after such an
	// operation U was called keeps returning after it, unless an operation
	// of a later group returned before U was called (then group k precedes
	// U in every order by revision); symmetrically for calls and U's
	// return. So every linearization in revision order survives the
	// narrowing, and a history whose revisions are right is never checked
	// twice.
	ranked := make([]bool, len(ops))
	for _, r := range rk {
		ranked[r.i] = true
	}
	var uCalls, uRets []int64
	for i := range ops {
		if !ranked[i] {
			uCalls, uRets = append(uCalls, ops[i].Call), append(uRets, ops[i].Return)
		}
	}
	slices.Sort(uCalls)
	slices.Sort(uRets)
	// cut[k] ends group k's window and cut[k]+1 begins group k+1's: every
	// operation of group k must be called by it, every operation of group
	// k+1 return after it, and the cuts increase. lo and hi bound each cut
	// from both sides; the cut is taken halfway.
	lo := make([]int64, g-1)
	hi := make([]int64, g-1)
	sufRet := int64(forever) // earliest return of the groups after k
	for k := g - 2; k >= 0; k-- {
		sufRet = min(sufRet, minRet[k+1])
		hi[k] = minRet[k+1] - 1 // for now: the suffix bound is applied below
		// The latest U call at or before min(maxRet[k], sufRet): the cut
		// may not come before it.
		lim := min(maxRet(ops, group(k)), sufRet)
		if n, _ := slices.BinarySearch(uCalls, lim+1); n > 0 {
			lo[k] = uCalls[n-1]
		} else {
			lo[k] = never
		}
	}
	preCall := int64(never) // latest call of the groups up to k
	for k := range g - 1 {
		preCall = max(preCall, maxCall[k])
		lo[k] = max(lo[k], maxCall[k])
		if k > 0 {
			lo[k] = max(lo[k], lo[k-1]+1)
		}
		// The earliest U return at or after max(minCall[k+1], preCall):
		// the cut must come before it.
		lim := max(minCall(ops, group(k+1)), preCall)
		if n, _ := slices.BinarySearch(uRets, lim); n < len(uRets) {
			hi[k] = min(hi[k], uRets[n]-1)
		}
	}
	for k := g - 2; k >= 0; k-- {
		if k < g-2 {
			hi[k] = min(hi[k], hi[k+1]-1)
		}
		if lo[k] > hi[k] {
			return nil // real time contradicts the revisions
		}
	}
	out := slices.Clone(ops)
	for k := range g {
		wlo, whi := int64(never), int64(forever)
		if k > 0 {
			c := lo[k-1] + (hi[k-1]-lo[k-1])/2
			wlo = c + 1
		}
		if k < g-1 {
			whi = lo[k] + (hi[k]-lo[k])/2
		}
		for _, r := range group(k) {
			out[r.i].Call = max(out[r.i].Call, wlo)
			out[r.i].Return = min(out[r.i].Return, whi)
		}
	}
	slices.SortStableFunc(out, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	return out
}

// ranked is an operation placed by revision: rev, then sub (-1 a write
// placed just before the cas at rev, 0 the write at rev, 1 the reads at
// rev).
type ranked struct {
	i    int
	rev  int64
	sub  int
	read bool
}

func maxRet(ops []porcupine.Operation, g []ranked) int64 {
	t := int64(never)
	for _, r := range g {
		t = max(t, ops[r.i].Return)
	}
	return t
}

func minCall(ops []porcupine.Operation, g []ranked) int64 {
	t := int64(forever)
	for _, r := range g {
		t = min(t, ops[r.i].Call)
	}
	return t
}
