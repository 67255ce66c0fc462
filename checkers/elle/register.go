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
	if a.c.wfr && Forbids(a.c.model, G1c) {
		a.wfrEdges(readers)
	}
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

// wfrEdges orders v1 before v2 when a committed transaction read v1 and
// then wrote v2 (its final write of the key), unless those orders form a
// cycle.
func (a *analysis) wfrEdges(readers map[ekey][]int32) {
	st := a.rr
	type vedge struct {
		k      int32
		v1, v2 int64
		by     int32
	}
	var ves []vedge
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
	var raw []rawEdge
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
			v2, ok := lastWrite(t.mops, k)
			if !ok {
				continue
			}
			ves = append(ves, vedge{k, m.val, v2, int32(ti)})
			raw = append(raw, rawEdge{id(ekey{k, m.val}), id(ekey{k, v2}), relWW, k})
		}
	}
	if len(ves) == 0 {
		return
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
		for _, e := range ves {
			if e.k == k && in[ekey{k, e.v1}] && in[ekey{k, e.v2}] {
				txns = append(txns, e.by)
			}
		}
		slices.Sort(txns)
		txns = slices.Compact(txns)
		a.add(finding{typ: CyclicVersions, key: k, txns: txns,
			text: fmt.Sprintf("each of {all} read %s and then overwrote it, which orders the values %s of %s in a cycle", a.keys.names[k], strings.Join(vs, ", "), a.keys.names[k])})
	}
	for _, e := range ves {
		if bad[e.k] {
			continue
		}
		if w, ok := st.writer[ekey{e.k, e.v1}]; ok {
			if v, _ := lastWrite(a.txns[w].mops, e.k); v == e.v1 {
				a.edge(w, e.by, relWW, e.k)
			}
		}
		for _, r := range readers[ekey{e.k, e.v1}] {
			a.edge(r, e.by, relRW, e.k)
		}
	}
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
	case relWW:
		if m := ext(y); m != nil {
			v2, _ := lastWrite(a.txns[y].mops, k)
			return fmt.Sprintf("%s read %s = %s, written by %s, and then overwrote it with %d", name(y), kn, regValue(m), name(x), v2)
		}
	case relRW:
		m := ext(x)
		v2, _ := lastWrite(a.txns[y].mops, k)
		if m != nil && m.isNil {
			return fmt.Sprintf("%s read %s = nil, the initial state, which %s's write of %d follows", name(x), kn, name(y), v2)
		}
		if m != nil {
			return fmt.Sprintf("%s read %s = %s, and %s read %s = %s too and then overwrote it with %d", name(x), kn, regValue(m), name(y), kn, regValue(m), v2)
		}
	}
	return fmt.Sprintf("%s %s %s on %s", name(x), r, name(y), kn)
}
