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
	var st PruneStats
	byKey := byKey(ops)
	out := make(map[string][]porcupine.Operation, len(byKey))
	var vals values
	procs := map[history.Process]int{}
	for key, idx := range byKey {
		vals.index(ops, idx)
		if vals.repeated > 0 {
			st.RepeatedValues += vals.repeated
			st.RepeatedKeys++
		}
		clear(procs)
		hist := make([]porcupine.Operation, 0, len(idx))
		slab := make([]opData, len(idx))
		var end int64 // after every operation of the key: where open ones end
		for _, i := range idx {
			end = max(end, ops[i].Call+1, ops[i].Return+1)
		}
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
					ret = end
					d.in.Open, d.meta.Open = true, true
				}
			}
			c, ok := procs[op.Process]
			if !ok {
				c = len(procs)
				procs[op.Process] = c
			}
			d.in.F, d.in.Value, d.in.From = op.F, op.Value, op.From
			if op.F == history.FRead {
				d.in.Value = ""
				d.out.Value = op.Value
			}
			hist = append(hist, porcupine.Operation{ClientId: c, Input: &d.in, Call: op.Call, Output: &d.out, Return: ret, Metadata: &d.meta})
			st.Kept++
		}
		if len(hist) > 0 {
			slices.SortStableFunc(hist, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
			for n, op := range hist {
				if op.Input.(*RegisterInput).Open {
					st.OpenTailOps += len(hist) - n
					break
				}
			}
			out[key] = hist
		}
	}
	return out, st
}

const (
	never   = math.MinInt64 // no such time
	forever = math.MaxInt64
)

// valueInfo is what one key's history says about one value written on it.
type valueInfo struct {
	// writers may have written it: ok or unknown writes and cas (failed
	// ones certainly did not). The initial value "" counts as written once
	// before everything.
	writers int
	// first is the index (in ops) of the writer invoked first, and second
	// the call of the next one (forever if there is none): an observer that
	// returned before second can only have seen first.
	first       int
	firstCall   int64
	secondCall  int64
	seen        int64 // earliest return of an operation certain to have observed it (never: none)
	lastSeen    int64 // latest return of any kept operation that observed it (forever for an unknown cas kept)
	observedAny bool
}

// values indexes one key's values; it is reused from key to key.
type values struct {
	at       map[string]int32
	v        []valueInfo
	cas      []*history.Op // unknown cas of the key
	casIdx   []int
	kept     []bool
	repeated int // values with more than one writer
}

func (vs *values) get(v string) *valueInfo {
	if k, ok := vs.at[v]; ok {
		return &vs.v[k]
	}
	if vs.at == nil {
		vs.at = map[string]int32{}
	}
	vs.at[v] = int32(len(vs.v))
	vi := valueInfo{first: -1, firstCall: forever, secondCall: forever, seen: never, lastSeen: never}
	if v == "" {
		vi.writers, vi.firstCall = 1, never
	}
	vs.v = append(vs.v, vi)
	return &vs.v[len(vs.v)-1]
}

func (vs *values) lookup(v string) *valueInfo {
	if k, ok := vs.at[v]; ok {
		return &vs.v[k]
	}
	return nil
}

// observe records that an operation kept observed v by ret; certain says
// it certainly happened (ok, or an unknown cas that must have). It reports
// whether anything changed.
func (vs *values) observe(v string, ret int64, certain bool) bool {
	vi := vs.get(v)
	changed := !vi.observedAny || ret > vi.lastSeen
	vi.observedAny = true
	vi.lastSeen = max(vi.lastSeen, ret)
	if certain && (vi.seen == never || ret < vi.seen) {
		vi.seen, changed = ret, true
	}
	return changed
}

// index fills vs with the values of one key (ops[i] for i in idx). An
// unknown cas that is kept observed its expected value if it happened: so
// it can keep another unknown write, or (when it certainly happened) end it
// earlier. Repeat until nothing moves (chains are short).
func (vs *values) index(ops []history.Op, idx []int) {
	clear(vs.at)
	vs.v, vs.cas, vs.casIdx, vs.kept, vs.repeated = vs.v[:0], vs.cas[:0], vs.casIdx[:0], vs.kept[:0], 0
	for _, i := range idx {
		op := &ops[i]
		if op.F != history.FWrite && op.F != history.FCAS || op.Type == history.Fail {
			continue
		}
		vi := vs.get(op.Value)
		vi.writers++
		if vi.writers == 2 {
			vs.repeated++
		}
		switch {
		case op.Call < vi.firstCall:
			vi.secondCall = vi.firstCall
			vi.first, vi.firstCall = i, op.Call
		case op.Call < vi.secondCall:
			vi.secondCall = op.Call
		}
	}
	for _, i := range idx {
		op := &ops[i]
		switch {
		case op.Type == history.Info && op.F == history.FCAS:
			vs.cas, vs.casIdx, vs.kept = append(vs.cas, op), append(vs.casIdx, i), append(vs.kept, false)
		case op.Type != history.OK:
		case op.F == history.FRead:
			vs.observe(op.Value, op.Return, true)
		case op.F == history.FCAS:
			vs.observe(op.From, op.Return, true)
		}
	}
	for changed := true; changed; {
		changed = false
		for k, op := range vs.cas {
			t, fate := vs.unknown(op, vs.casIdx[k])
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
	if op.Value != "" && vi.first == i && vi.seen != never && vi.seen < vi.secondCall {
		return max(vi.seen, op.Call), capped
	}
	if vi.lastSeen >= op.Call {
		return 0, open
	}
	return 0, dropped
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
