package elle

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline/faultline/history"
)

// registerState is what rw-register inference learned.
type registerState struct {
	writer map[ekey]int32
	// why holds, for each inferred version order v1 < v2, how it was
	// inferred.
	why map[[2]ekey]vedge
}

func lastWrite(ms []mop, k int32) (int64, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].f == mWrite && ms[i].key == k {
			return ms[i].val, true
		}
	}
	return 0, false
}

func regValue(m *mop) string {
	if m.isNil {
		return "nil"
	}
	return strconv.FormatInt(m.val, 10)
}

// inferRegister infers read/write register dependencies. Written values
// are unique per key, so a read names its writer (wr). The version order
// is only what can be proved (Elle's rw-register): every key starts as
// nil, before every committed write, so a read of nil anti-depends (rw) on
// every committed writer of that key; and, with writes-follow-reads, a
// committed transaction that read v1 and then wrote v2 puts v1 before v2
// (ww from v1's writer, rw from v1's other readers). A cycle in the
// inferred version order is itself an anomaly (cyclic-versions) and its
// key's inferred order is dropped.
func (a *analysis) inferRegister() {
	st := &registerState{writer: map[ekey]int32{}}
	a.rr = st
	nk := len(a.keys.names)
	for ti := range a.txns {
		t := &a.txns[ti]
		for _, m := range t.mops {
			if m.f == mAppend {
				a.unknown = fmt.Sprintf("op %d appends ([append %s %d]) in an rw-register history", t.op.ID, a.keys.names[m.key], m.val)
				return
			}
			if m.f != mWrite {
				continue
			}
			ek := ekey{m.key, m.val}
			if w, ok := st.writer[ek]; ok {
				a.unknown = fmt.Sprintf("value %d is written to key %s twice (ops %d and %d): rw-register needs unique values per key, nothing can be inferred",
					m.val, a.keys.names[m.key], a.txns[w].op.ID, t.op.ID)
				return
			}
			st.writer[ek] = int32(ti)
		}
	}
	readers := map[ekey][]int32{}
	nilReaders := make([][]int32, nk)
	observed := make([]bool, len(a.txns))
	type luKey struct {
		k     int32
		v     int64
		isNil bool
	}
	lost := map[luKey][]int32{}
	for ti := range a.txns {
		t := &a.txns[ti]
		if t.typ != history.OK {
			continue
		}
		a.internalRegister(int32(ti))
		ext := extReads(t.mops)
		for mi := range t.mops {
			m := &t.mops[mi]
			if m.f != mRead {
				continue
			}
			k := m.key
			isExt := ext[k] == mi
			if isExt {
				if _, writes := lastWrite(t.mops, k); writes {
					lk := luKey{k, m.val, m.isNil}
					lost[lk] = append(lost[lk], int32(ti))
				}
			}
			if m.isNil {
				if isExt {
					nilReaders[k] = append(nilReaders[k], int32(ti))
				}
				continue
			}
			w, ok := st.writer[ekey{k, m.val}]
			switch {
			case !ok:
				a.add(finding{typ: GarbageRead, key: k, txns: []int32{int32(ti)},
					text: fmt.Sprintf("{0} read %s = %d, a value no transaction wrote", a.keys.names[k], m.val)})
				continue
			case a.txns[w].typ == history.Fail:
				a.add(finding{typ: G1a, key: k, txns: []int32{w, int32(ti)},
					text: fmt.Sprintf("{1} read %s = %d, written by {0}, which failed (aborted)", a.keys.names[k], m.val)})
				continue
			case w != int32(ti):
				if v, _ := lastWrite(a.txns[w].mops, k); v != m.val {
					a.add(finding{typ: G1b, key: k, txns: []int32{w, int32(ti)},
						text: fmt.Sprintf("{1} read %s = %d, an intermediate write of {0}, which later wrote %s = %d", a.keys.names[k], m.val, a.keys.names[k], v)})
				}
			}
			if isExt && w == int32(ti) {
				a.add(finding{typ: FutureRead, key: k, txns: []int32{int32(ti)},
					text: fmt.Sprintf("{0} read %s = %d, a value it writes only afterwards", a.keys.names[k], m.val)})
			}
			if isExt && w != int32(ti) {
				observed[w] = true
				readers[ekey{k, m.val}] = append(readers[ekey{k, m.val}], int32(ti))
				a.edge(w, int32(ti), relWR, k)
			}
		}
	}
	// Committed writes of each key: ok transactions' final writes, and
	// those of indeterminate ones that some committed read observed (so
	// they committed).
	for ti := range a.txns {
		t := &a.txns[ti]
		if t.typ == history.Fail || t.typ == history.Info && !observed[ti] {
			continue
		}
		seen := map[int32]bool{}
		for i := len(t.mops) - 1; i >= 0; i-- {
			m := &t.mops[i]
			if m.f != mWrite || seen[m.key] {
				continue
			}
			seen[m.key] = true
			for _, r := range nilReaders[m.key] {
				a.edge(r, int32(ti), relRW, m.key)
			}
		}
	}
	a.versionEdges(readers, observed)
	for lk, ts := range lost {
		if len(ts) < 2 {
			continue
		}
		v := "nil (the initial state)"
		if !lk.isNil {
			v = strconv.FormatInt(lk.v, 10)
		}
		a.add(finding{typ: LostUpdate, key: lk.k, txns: ts,
			text: fmt.Sprintf("%d committed transactions read %s = %s and each wrote %s: {all}", len(ts), a.keys.names[lk.k], v, a.keys.names[lk.k])})
	}
}

// vedge is an inferred version order v1 < v2 of key k: by read v1 and
// then wrote v2 (writes follow reads), or, with linearizable keys, from
// left k at v1 and completed before by was invoked and met k at v2.
type vedge struct {
	k      int32
	v1, v2 int64
	by     int32
	from   int32 // -1 for writes-follow-reads
}

// versionEdges orders versions from the sources the options allow, drops
// the inferred order of any key where it is cyclic (an anomaly itself),
// and turns each v1 < v2 into ww from v1's writer and rw from v1's other
// readers to v2's writer.
func (a *analysis) versionEdges(readers map[ekey][]int32, observed []bool) {
	st := a.rr
	var ves []vedge
	if a.c.wfr && Forbids(a.c.model, G1c) {
		for ti := range a.txns {
			t := &a.txns[ti]
			if t.typ != history.OK {
				continue
			}
			for k, mi := range extReads(t.mops) {
				m := &t.mops[mi]
				if m.isNil {
					continue
				}
				if v2, ok := lastWrite(t.mops, k); ok {
					ves = append(ves, vedge{k, m.val, v2, int32(ti), -1})
				}
			}
		}
	}
	if a.c.linKeys && needsRealtime(a.c.model) {
		ves = append(ves, a.linearizableVersions(observed)...)
	}
	if len(ves) == 0 {
		return
	}
	ids := map[ekey]int32{}
	var vals []ekey
	id := func(e ekey) int32 {
		if i, ok := ids[e]; ok {
			return i
		}
		ids[e] = int32(len(vals))
		vals = append(vals, e)
		return ids[e]
	}
	raw := make([]rawEdge, 0, len(ves))
	for _, e := range ves {
		raw = append(raw, rawEdge{id(ekey{e.k, e.v1}), id(ekey{e.k, e.v2}), relWW, e.k})
	}
	// Cycles in the version order, through Tarjan on the value graph.
	vg := buildGraph(len(vals), raw)
	s := newScratch(len(vals))
	all := make([]int32, len(vals))
	for i := range all {
		all[i] = int32(i)
		s.mark[i] = 1
	}
	s.stamp = 1
	bad := map[int32]bool{}
	for _, c := range vg.tarjan(s, all, 1, relWW) {
		k := vals[c[0]].k
		bad[k] = true
		in := map[ekey]bool{}
		var vs []string
		for _, v := range c {
			in[vals[v]] = true
			vs = append(vs, strconv.FormatInt(vals[v].v, 10))
		}
		var txns []int32
		typ := CyclicVersions
		for _, e := range ves {
			if e.k == k && in[ekey{k, e.v1}] && in[ekey{k, e.v2}] {
				txns = append(txns, e.by)
				if e.from >= 0 {
					// The cycle needs real time: it rules out strict
					// serializability only.
					txns = append(txns, e.from)
					typ = CyclicVersions + realtimeSuffix
				}
			}
		}
		slices.Sort(txns)
		txns = slices.Compact(txns)
		a.add(finding{typ: typ, key: k, txns: txns,
			text: fmt.Sprintf("{all} order the values %s of %s in a cycle (each read one and overwrote it, or, with linearizable keys, met it after another had left the one before)", strings.Join(vs, ", "), a.keys.names[k])})
	}
	if a.rr.why == nil {
		a.rr.why = map[[2]ekey]vedge{}
	}
	for _, e := range ves {
		if bad[e.k] {
			continue
		}
		if _, ok := a.rr.why[[2]ekey{{e.k, e.v1}, {e.k, e.v2}}]; !ok {
			a.rr.why[[2]ekey{{e.k, e.v1}, {e.k, e.v2}}] = e
		}
		w2, ok := st.writer[ekey{e.k, e.v2}]
		if !ok {
			continue
		}
		if w, ok := st.writer[ekey{e.k, e.v1}]; ok {
			if v, _ := lastWrite(a.txns[w].mops, e.k); v == e.v1 {
				a.edge(w, w2, relWW, e.k)
			}
		}
		for _, r := range readers[ekey{e.k, e.v1}] {
			a.edge(r, w2, relRW, e.k)
		}
	}
}

// linearizableVersions: if every key is linearizable (Elle's
// :linearizable-keys?, sound under strict serializability), a transaction
// that completed before another was invoked left each key it touched at a
// version no later than the one the other meets first. Per key, the
// real-time order among the transactions touching it is reduced as in
// realtimeEdges.
func (a *analysis) linearizableVersions(observed []bool) []vedge {
	type touch struct {
		txn        int32
		first      int64 // the version it met first (ext read, else its write)
		firstNil   bool
		last       int64 // the version it left
		lastNil    bool
		call, ret  int64
		completes  bool
		invokeSide bool
	}
	perKey := make([][]touch, len(a.keys.names))
	for ti := range a.txns {
		t := &a.txns[ti]
		if t.typ == history.Fail || t.typ == history.Info && !observed[ti] {
			continue
		}
		ext := map[int32]int{}
		if t.typ == history.OK {
			ext = extReads(t.mops)
		}
		seen := map[int32]bool{}
		for _, m := range t.mops {
			if seen[m.key] || m.f == mRead && t.typ != history.OK {
				continue
			}
			seen[m.key] = true
			tc := touch{txn: int32(ti), call: t.op.Call, ret: t.op.Return, completes: t.typ == history.OK && t.op.Return >= 0}
			if mi, ok := ext[m.key]; ok {
				r := &t.mops[mi]
				tc.first, tc.firstNil = r.val, r.isNil
				tc.last, tc.lastNil = r.val, r.isNil
			}
			if v, ok := lastWrite(t.mops, m.key); ok {
				tc.last, tc.lastNil = v, false
				if _, read := ext[m.key]; !read {
					tc.first, tc.firstNil = firstWrite(t.mops, m.key), false
				}
			}
			perKey[m.key] = append(perKey[m.key], tc)
		}
	}
	var out []vedge
	for k, ts := range perKey {
		type ev struct {
			t      int64
			i      int
			invoke bool
		}
		var evs []ev
		for i, tc := range ts {
			evs = append(evs, ev{tc.call, i, true})
			if tc.completes {
				evs = append(evs, ev{tc.ret, i, false})
			}
		}
		slices.SortStableFunc(evs, func(x, y ev) int {
			if x.t != y.t {
				if x.t < y.t {
					return -1
				}
				return 1
			}
			if x.invoke != y.invoke {
				if x.invoke {
					return -1
				}
				return 1
			}
			return 0
		})
		frontier := map[int]bool{}
		preds := map[int][]int{}
		for _, e := range evs {
			if e.invoke {
				b := ts[e.i]
				for f := range frontier {
					x := ts[f]
					preds[e.i] = append(preds[e.i], f)
					if !x.lastNil && !b.firstNil && x.last != b.first {
						out = append(out, vedge{int32(k), x.last, b.first, b.txn, x.txn})
					}
				}
				continue
			}
			for _, p := range preds[e.i] {
				delete(frontier, p)
			}
			delete(preds, e.i)
			frontier[e.i] = true
		}
	}
	return out
}

func firstWrite(ms []mop, k int32) int64 {
	for _, m := range ms {
		if m.f == mWrite && m.key == k {
			return m.val
		}
	}
	return 0
}

// internalRegister: after writing k = v or reading it, a transaction's
// next read of k must return v (Elle's op-internal-case).
func (a *analysis) internalRegister(t int32) {
	type state struct {
		m     *mop
		wrote bool
	}
	sts := map[int32]state{}
	ms := a.txns[t].mops
	for i := range ms {
		m := &ms[i]
		prev, ok := sts[m.key]
		if m.f == mRead && ok && (prev.m.isNil != m.isNil || !m.isNil && prev.m.val != m.val) {
			how := "read"
			if prev.wrote {
				how = "wrote"
			}
			a.add(finding{typ: Internal, key: m.key, txns: []int32{t},
				text: fmt.Sprintf("{0} %s %s = %s and then read %s = %s", how, a.keys.names[m.key], regValue(prev.m), a.keys.names[m.key], regValue(m))})
		}
		sts[m.key] = state{m, m.f == mWrite}
	}
}

// explainRegister says why x -> y (kind r, key k).
func (a *analysis) explainRegister(x, y int32, r rel, k int32, name func(int32) string) string {
	kn := a.keys.names[k]
	ext := func(t int32) *mop {
		if mi, ok := extReads(a.txns[t].mops)[k]; ok {
			return &a.txns[t].mops[mi]
		}
		return nil
	}
	switch r {
	case relWR:
		if m := ext(y); m != nil {
			return fmt.Sprintf("%s read %s = %s, written by %s", name(y), kn, regValue(m), name(x))
		}
	case relWW, relRW:
		var v1 int64
		if r == relWW {
			v1, _ = lastWrite(a.txns[x].mops, k)
		} else {
			m := ext(x)
			if m == nil {
				break
			}
			if m.isNil {
				v2, _ := lastWrite(a.txns[y].mops, k)
				return fmt.Sprintf("%s read %s = nil, the initial state, which %s's write of %d follows", name(x), kn, name(y), v2)
			}
			v1 = m.val
		}
		for _, m := range a.txns[y].mops {
			if m.f != mWrite || m.key != k {
				continue
			}
			e, ok := a.rr.why[[2]ekey{{k, v1}, {k, m.val}}]
			if !ok {
				continue
			}
			what := fmt.Sprintf("%s wrote %s = %d", name(x), kn, v1)
			if r == relRW {
				what = fmt.Sprintf("%s read %s = %d", name(x), kn, v1)
			}
			if e.from < 0 {
				return fmt.Sprintf("%s, and %s read %s = %d and then overwrote it with %d", what, name(e.by), kn, v1, m.val)
			}
			return fmt.Sprintf("%s, and %d came before %s's %d: %s, which left %s = %d, completed before %s, which met %s = %d, was invoked (linearizable keys)",
				what, v1, name(y), m.val, name(e.from), kn, v1, name(e.by), kn, e.v2)
		}
	}
	return fmt.Sprintf("%s %s %s on %s", name(x), r, name(y), kn)
}
