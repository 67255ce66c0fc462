package checkers

import (
	"cmp"
	"math"
	"slices"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// PruneStats counts what pruning removed, by reason.
type PruneStats struct {
	Kept              int
	FailedReads       int // failed or unknown reads carry no information
	FailedWrites      int // certainly did not happen (fail, including a cas whose compare failed)
	UnseenUnknown     int // unknown writes whose value nobody observed after they were invoked
	SeenUnknownCapped int // unknown writes that must have ended by a read that saw them
	Other             int // operations the register model does not know
	// RepeatedValues counts the values (per key) that more than one write
	// or cas may have written, on RepeatedKeys keys: a read of such a value
	// does not say which write it saw.
	RepeatedValues int
	RepeatedKeys   int
	// OpenUnknown are unknown writes whose value was observed but repeats,
	// so the observation does not end them: they stay open (they may take
	// effect at any time after their call, or never), and OpenTailOps
	// operations of their keys, from the first of them on, cannot be cut
	// into spans.
	OpenUnknown int
	OpenTailOps int
}

// Prune turns operations into per-key porcupine histories, sorted by call
// time, dropping what is sound to drop. The rules, and why each keeps the
// verdict exactly as it would be without pruning, are in
// docs/architecture.md ("Pruning"):
//
//   - failed and unknown reads are dropped: they change nothing and returned nothing;
//   - failed writes and cas are dropped: they certainly did not happen;
//   - an unknown write or cas whose value no operation kept observed after
//     it was invoked (no ok read returned it, no ok cas or kept unknown cas
//     expected it) is dropped: it may not have happened;
//   - an unknown write or cas that is the only write of its value that an
//     observer could have seen (with unique values: always) must have
//     happened before that observer returned: its interval ends at the
//     earliest such return (or at its own call, if the observer returned
//     before it was even invoked: a zero-length interval that lets
//     porcupine report the anomaly);
//   - any other unknown write or cas (its value repeats, so a read of it
//     may have seen another write) stays open: it may take effect at any
//     time after its call, or never (RegisterInput.Open).
func Prune(ops []history.Op) (map[string][]porcupine.Operation, PruneStats) {
	keys := groupByKey(ops)
	out := make(map[string][]porcupine.Operation, len(keys))
	p := pruner{procs: map[history.Process]int{}}
	for key, k := range keys {
		if hist := p.key(ops, k); len(hist) > 0 {
			out[key] = hist
		}
	}
	return out, p.st
}

// pruner prunes keys one after the other, reusing its maps.
type pruner struct {
	st    PruneStats
	vals  values
	procs map[history.Process]int
}

// key prunes the operations of one key.
func (p *pruner) key(ops []history.Op, k *keyOps) []porcupine.Operation {
	st, vals, idx := &p.st, &p.vals, k.idx
	vals.index(ops, k)
	if vals.repeated > 0 {
		st.RepeatedValues += vals.repeated
		st.RepeatedKeys++
	}
	clear(p.procs)
	hist := make([]porcupine.Operation, 0, len(idx))
	slab := make([]opData, len(idx))
	end, opened := k.end, false // after every operation of the key: where open ones end
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
			switch t, fate := vals.unknown(op, i); fate {
			case dropped:
				st.UnseenUnknown++
				continue
			case capped:
				st.SeenUnknownCapped++
				ret = t
				d.meta.Pruned = true
			default:
				st.OpenUnknown++
				ret, opened = end, true
				d.in.Open, d.meta.Open = true, true
			}
		}
		c, ok := p.procs[op.Process]
		if !ok {
			c = len(p.procs)
			p.procs[op.Process] = c
		}
		d.in.F, d.in.Value, d.in.From = op.F, op.Value, op.From
		if op.F == history.FRead {
			d.in.Value = ""
			d.out.Value = op.Value
		}
		hist = append(hist, porcupine.Operation{ClientId: c, Input: &d.in, Call: op.Call, Output: &d.out, Return: ret, Metadata: &d.meta})
		st.Kept++
	}
	slices.SortStableFunc(hist, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	for n := 0; opened && n < len(hist); n++ {
		if hist[n].Input.(*RegisterInput).Open {
			st.OpenTailOps += len(hist) - n
			break
		}
	}
	return hist
}

const (
	never   = math.MinInt64 // no such time
	forever = math.MaxInt64
)

// valueInfo is what one key's history says about one value written on it
// by an unknown write or expected by an unknown cas: what decides the fate
// of unknown operations.
type valueInfo struct {
	// writers may have written it: ok or unknown writes and cas (failed
	// ones certainly did not). The initial value "" counts as written once
	// before everything.
	writers int32
	// first is the index (in ops) of the writer invoked first, and second
	// the call of the next one (forever if there is none): an observer that
	// returned before second can only have seen first.
	first       int32
	firstCall   int64
	secondCall  int64
	seen        int64 // earliest return of an operation certain to have observed it (never: none)
	lastSeen    int64 // latest return of any kept operation that observed it (forever for an unknown cas kept)
	observedAny bool
}

// values indexes one key's values; it is reused from key to key. Every
// value's writers are counted (one map update per write); the rest is kept
// only for the values unknown operations write or expect, usually few.
type values struct {
	count    map[string]int32 // writers of each value, the initial "" left out
	at       map[string]int32 // index in v
	v        []valueInfo
	cas      []int // indexes (in ops) of the key's unknown cas
	kept     []bool
	repeated int // values with more than one writer
}

// writers counts the operations that may have written v on the key.
func (vs *values) writers(v string) int32 {
	n := vs.count[v]
	if v == "" {
		n++
	}
	return n
}

func (vs *values) lookup(v string) *valueInfo {
	if k, ok := vs.at[v]; ok {
		return &vs.v[k]
	}
	return nil
}

func (vs *values) track(v string) {
	if _, ok := vs.at[v]; ok {
		return
	}
	vs.at[v] = int32(len(vs.v))
	vi := valueInfo{first: -1, firstCall: forever, secondCall: forever, seen: never, lastSeen: never}
	if v == "" { // written first, before everything
		vi.writers, vi.firstCall = 1, never
	}
	vs.v = append(vs.v, vi)
}

// observe records that an operation kept observed v by ret; certain says
// it certainly happened (ok, or an unknown cas that must have). It reports
// whether anything changed. Values not tracked decide nothing.
func (vs *values) observe(v string, ret int64, certain bool) bool {
	vi := vs.lookup(v)
	if vi == nil {
		return false
	}
	changed := !vi.observedAny || ret > vi.lastSeen
	vi.observedAny = true
	vi.lastSeen = max(vi.lastSeen, ret)
	if certain && (vi.seen == never || ret < vi.seen) {
		vi.seen, changed = ret, true
	}
	return changed
}

// index fills vs with the values of one key. An unknown cas that is kept
// observed its expected value if it happened: so it can keep another
// unknown write, or (when it certainly happened) end it earlier. Repeat
// until nothing moves (chains are short).
func (vs *values) index(ops []history.Op, k *keyOps) {
	if vs.count == nil {
		vs.count, vs.at = map[string]int32{}, map[string]int32{}
	}
	clear(vs.count)
	clear(vs.at)
	vs.v, vs.cas, vs.kept, vs.repeated = vs.v[:0], vs.cas[:0], vs.kept[:0], 0
	for _, i := range k.unknowns {
		op := &ops[i]
		vs.track(op.Value)
		if op.F == history.FCAS {
			vs.track(op.From)
			vs.cas, vs.kept = append(vs.cas, i), append(vs.kept, false)
		}
	}
	// One pass over the key (each operation is a cache miss): count every
	// value's writers, and for the tracked ones, who wrote them first and
	// who observed them.
	for _, i := range k.idx {
		op := &ops[i]
		switch {
		case op.F == history.FRead:
			if op.Type == history.OK && len(vs.v) > 0 {
				vs.observe(op.Value, op.Return, true)
			}
			continue
		case op.F != history.FWrite && op.F != history.FCAS || op.Type == history.Fail:
			continue
		}
		vs.count[op.Value]++
		if len(vs.v) == 0 {
			continue
		}
		if op.F == history.FCAS && op.Type == history.OK {
			vs.observe(op.From, op.Return, true)
		}
		if vi := vs.lookup(op.Value); vi != nil {
			vi.writers++
			switch {
			case op.Call < vi.firstCall:
				vi.secondCall = vi.firstCall
				vi.first, vi.firstCall = int32(i), op.Call
			case op.Call < vi.secondCall:
				vi.secondCall = op.Call
			}
		}
	}
	for v, n := range vs.count {
		if n > 1 || v == "" {
			vs.repeated++
		}
	}
	for changed := true; changed; {
		changed = false
		for k, i := range vs.cas {
			op := &ops[i]
			t, fate := vs.unknown(op, i)
			if fate != dropped && !vs.kept[k] {
				vs.kept[k] = true
				vs.observe(op.From, forever, false)
				changed = true
			}
			if fate == capped && vs.observe(op.From, t, true) {
				changed = true
			}
		}
	}
}

// fate is what pruning does with an unknown write or cas.
type fate int

const (
	dropped fate = iota
	capped
	open
)

// unknown decides the fate of the unknown write or cas ops[i] = op: capped
// (with the end of its interval) when it is the one write of its value an
// observer that certainly happened could have seen; else open when some
// kept operation observed its value after its call; else dropped.
func (vs *values) unknown(op *history.Op, i int) (int64, fate) {
	vi := vs.lookup(op.Value)
	if vi == nil || !vi.observedAny {
		return 0, dropped
	}
	if op.Value != "" && int(vi.first) == i && vi.seen != never && vi.seen < vi.secondCall {
		return max(vi.seen, op.Call), capped
	}
	if vi.lastSeen >= op.Call {
		return 0, open
	}
	return 0, dropped
}

// keyOps is one key's operations: their indexes in ops, in history order;
// of them, the writes and cas whose outcome is unknown; and a time after
// every call and return of the key.
type keyOps struct {
	idx, unknowns []int
	end           int64
}

// groupByKey is byKey with each key's unknown writes and end, found in the
// same sequential pass.
func groupByKey(ops []history.Op) map[string]*keyOps {
	out := map[string]*keyOps{}
	for i := range ops {
		op := &ops[i]
		if op.Key == "" {
			continue
		}
		k := out[op.Key]
		if k == nil {
			k = &keyOps{}
			out[op.Key] = k
		}
		k.idx = append(k.idx, i)
		k.end = max(k.end, op.Call+1, op.Return+1)
		if op.Type == history.Info && (op.F == history.FWrite || op.F == history.FCAS) {
			k.unknowns = append(k.unknowns, i)
		}
	}
	return out
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
