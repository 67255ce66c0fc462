package elle

import (
	"fmt"
	"slices"

	"github.com/faultline/faultline/history"
)

// ekey names one element (or value) of one key.
type ekey struct {
	k int32
	v int64
}

// appendState is what list-append inference learned, kept for the
// explanations.
type appendState struct {
	writer map[ekey]int32
	// order is each key's version order: the longest list a committed
	// transaction read; witness is that transaction.
	order   [][]int64
	witness []int32
	// shown is, per key, the elements of its order.
	shown []map[int64]bool
}

// readList is a list-append read's value; nil reads the empty list.
func readList(m *mop) []int64 {
	if m.list == nil {
		return []int64{}
	}
	return m.list
}

// lastAppend reports whether e is t's last append to k.
func (a *analysis) lastAppend(t int32, k int32, e int64) bool {
	ms := a.txns[t].mops
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].f == mAppend && ms[i].key == k {
			return ms[i].val == e
		}
	}
	return false
}

// inferAppend infers list-append dependencies. Every element is appended
// once, so a read list names the transactions whose appends it holds, in
// order: the longest list read of a key is its version order, and every
// other read must be a prefix of it. Consecutive elements by different
// writers give ww edges; a read that ends with an element gives wr from
// its writer; a read that stops short of the next element in the order
// gives rw to that element's writer. Only a transaction's external reads
// (before it appended to the key itself) give wr and rw edges.
func (a *analysis) inferAppend() {
	nk := len(a.keys.names)
	st := &appendState{writer: map[ekey]int32{}, order: make([][]int64, nk), witness: make([]int32, nk)}
	a.la = st
	for i := range st.witness {
		st.witness[i] = -1
	}
	for ti := range a.txns {
		t := &a.txns[ti]
		for _, m := range t.mops {
			if m.f == mWrite {
				a.unknown = fmt.Sprintf("op %d writes a register ([w %s %d]) in a list-append history", t.op.ID, a.keys.names[m.key], m.val)
				return
			}
			if m.f != mAppend {
				continue
			}
			ek := ekey{m.key, m.val}
			if w, ok := st.writer[ek]; ok {
				a.unknown = fmt.Sprintf("element %d is appended to key %s twice (ops %d and %d): list-append needs unique elements per key, nothing can be inferred",
					m.val, a.keys.names[m.key], a.txns[w].op.ID, t.op.ID)
				return
			}
			st.writer[ek] = int32(ti)
		}
	}
	for ti := range a.txns {
		t := &a.txns[ti]
		if t.typ != history.OK {
			continue
		}
		for mi := range t.mops {
			m := &t.mops[mi]
			if m.f == mRead && st.witness[m.key] < 0 || m.f == mRead && len(m.list) > len(st.order[m.key]) {
				st.order[m.key] = readList(m)
				st.witness[m.key] = int32(ti)
			}
		}
	}
	// Per key: the first duplicate, failed and unknown (garbage) element
	// positions in the order, so that a read that is a prefix of it is
	// checked in constant time.
	firstDup, firstFailed := make([]int, nk), make([]int, nk)
	for k := range nk {
		order := st.order[k]
		firstDup[k], firstFailed[k] = len(order), len(order)
		seen := make(map[int64]struct{}, len(order))
		for p, e := range order {
			if _, dup := seen[e]; dup && firstDup[k] == len(order) {
				firstDup[k] = p
			}
			seen[e] = struct{}{}
			w, ok := st.writer[ekey{int32(k), e}]
			switch {
			case !ok:
				a.add(finding{typ: GarbageRead, key: int32(k), txns: []int32{st.witness[k]},
					text: fmt.Sprintf("{0} read %s = %s, whose element %d no transaction appended", a.keys.names[k], formatList(order, len(order)-p), e)})
			case a.txns[w].typ == history.Fail && firstFailed[k] == len(order):
				firstFailed[k] = p
			}
			if p > 0 {
				if pw, ok := st.writer[ekey{int32(k), order[p-1]}]; ok && w != pw {
					a.edge(pw, w, relWW, int32(k))
				}
			}
		}
	}
	// Reads that saw a key's whole order: an append no read shows comes
	// after all of it (Elle's previously-appended-element).
	fullReaders := make([][]int32, nk)
	type luKey struct {
		k     int32
		v     int64
		empty bool
	}
	lost := map[luKey][]int32{}
	for ti := range a.txns {
		t := &a.txns[ti]
		if t.typ != history.OK {
			continue
		}
		a.internalAppend(int32(ti))
		ext := extReads(t.mops)
		for mi := range t.mops {
			m := &t.mops[mi]
			if m.f != mRead {
				continue
			}
			k := m.key
			l := readList(m)
			order := st.order[k]
			prefix := len(l) <= len(order) && slices.Equal(l, order[:len(l)])
			if prefix {
				if len(l) > firstDup[k] {
					a.add(finding{typ: DuplicateElements, key: k, txns: []int32{int32(ti)},
						text: fmt.Sprintf("{0} read %s = %s, in which %d appears more than once", a.keys.names[k], formatList(l, len(l)-firstDup[k]), order[firstDup[k]])})
				}
				if len(l) > firstFailed[k] {
					e := order[firstFailed[k]]
					w := st.writer[ekey{k, e}]
					a.add(finding{typ: G1a, key: k, txns: []int32{w, int32(ti)},
						text: fmt.Sprintf("{1} read %s = %s, which holds %d, appended by {0}, which failed (aborted)", a.keys.names[k], formatList(l, len(l)-firstFailed[k]), e)})
				}
			} else {
				a.add(finding{typ: IncompatibleOrder, key: k, txns: []int32{st.witness[k], int32(ti)},
					text: fmt.Sprintf("{1} read %s = %s and {0} read %s = %s: neither is a prefix of the other, so they cannot come from one order of %s",
						a.keys.names[k], formatList(l, 0), a.keys.names[k], formatList(order, 0), a.keys.names[k])})
				a.elementsOff(int32(ti), k, l)
			}
			if len(l) > 0 {
				e := l[len(l)-1]
				if w, ok := st.writer[ekey{k, e}]; ok && w != int32(ti) && !a.lastAppend(w, k, e) && a.txns[w].typ != history.Fail {
					a.add(finding{typ: G1b, key: k, txns: []int32{w, int32(ti)},
						text: fmt.Sprintf("{1} read %s = %s, which ends with %d, an intermediate append of {0} (not its last to %s)", a.keys.names[k], formatList(l, 1), e, a.keys.names[k])})
				}
			}
			if ext[k] == mi {
				for _, later := range t.mops[mi+1:] {
					if later.f == mAppend && later.key == k && slices.Contains(l, later.val) {
						a.add(finding{typ: FutureRead, key: k, txns: []int32{int32(ti)},
							text: fmt.Sprintf("{0} read %s = %s, which holds %d, an element it appends only afterwards", a.keys.names[k], formatList(l, 0), later.val)})
						break
					}
				}
			}
			if ext[k] != mi || !prefix {
				continue
			}
			if len(l) > 0 {
				if w, ok := st.writer[ekey{k, l[len(l)-1]}]; ok {
					a.edge(w, int32(ti), relWR, k)
				}
			}
			if len(l) < len(order) {
				if w, ok := st.writer[ekey{k, order[len(l)]}]; ok {
					a.edge(int32(ti), w, relRW, k)
				}
			} else {
				fullReaders[k] = append(fullReaders[k], int32(ti))
			}
			if appendsAfter(t.mops, mi, k) {
				lk := luKey{k: k, empty: len(l) == 0}
				if len(l) > 0 {
					lk.v = l[len(l)-1]
				}
				lost[lk] = append(lost[lk], int32(ti))
			}
		}
	}
	a.unobservedAppends(fullReaders)
	for lk, ts := range lost {
		if len(ts) < 2 {
			continue
		}
		what := "the empty list"
		if !lk.empty {
			what = fmt.Sprintf("the version ending in %d", lk.v)
		}
		a.add(finding{typ: LostUpdate, key: lk.k, txns: ts,
			text: fmt.Sprintf("%d committed transactions read %s of %s and each appended to it: {all}", len(ts), what, a.keys.names[lk.k])})
	}
}

// unobservedAppends orders the appends no read shows after every element
// read: ww from the writer of the last element of the key's order, rw from
// the reads of the whole order. Only committed or possibly committed
// transactions are vertices; one that is indeterminate and never observed
// gets incoming edges only, so it cannot close a cycle.
func (a *analysis) unobservedAppends(fullReaders [][]int32) {
	st := a.la
	nk := len(st.order)
	st.shown = make([]map[int64]bool, nk)
	for k := range nk {
		st.shown[k] = make(map[int64]bool, len(st.order[k]))
		for _, e := range st.order[k] {
			st.shown[k][e] = true
		}
	}
	for ti := range a.txns {
		t := &a.txns[ti]
		if !a.inGraph(int32(ti)) {
			continue
		}
		for _, m := range t.mops {
			if m.f != mAppend || st.shown[m.key][m.val] {
				continue
			}
			k := m.key
			if order := st.order[k]; len(order) > 0 {
				if w, ok := st.writer[ekey{k, order[len(order)-1]}]; ok {
					a.edge(w, int32(ti), relWW, k)
				}
			}
			for _, r := range fullReaders[k] {
				a.edge(r, int32(ti), relRW, k)
			}
		}
	}
}

func appendsAfter(ms []mop, i int, k int32) bool {
	for _, m := range ms[i+1:] {
		if m.key == k && m.f != mRead {
			return true
		}
	}
	return false
}

// elementsOff checks, element by element, a read that is not a prefix of
// the order: duplicates, garbage, aborted writers.
func (a *analysis) elementsOff(t, k int32, l []int64) {
	seen := map[int64]bool{}
	for i, e := range l {
		if seen[e] {
			a.add(finding{typ: DuplicateElements, key: k, txns: []int32{t},
				text: fmt.Sprintf("{0} read %s = %s, in which %d appears more than once", a.keys.names[k], formatList(l, len(l)-i), e)})
		}
		seen[e] = true
		w, ok := a.la.writer[ekey{k, e}]
		switch {
		case !ok:
			a.add(finding{typ: GarbageRead, key: k, txns: []int32{t},
				text: fmt.Sprintf("{0} read %s = %s, whose element %d no transaction appended", a.keys.names[k], formatList(l, len(l)-i), e)})
		case a.txns[w].typ == history.Fail:
			a.add(finding{typ: G1a, key: k, txns: []int32{w, t},
				text: fmt.Sprintf("{1} read %s = %s, which holds %d, appended by {0}, which failed (aborted)", a.keys.names[k], formatList(l, len(l)-i), e)})
		}
	}
}

// internalAppend checks that a transaction's reads agree with its own
// earlier reads and appends: after reading L and appending x, a read must
// be L+[x]; with appends and no earlier read, it must end with them.
func (a *analysis) internalAppend(t int32) {
	type state struct {
		known   bool
		list    []int64
		pending []int64
	}
	sts := map[int32]*state{}
	for _, m := range a.txns[t].mops {
		s := sts[m.key]
		if s == nil {
			s = &state{}
			sts[m.key] = s
		}
		if m.f == mAppend {
			if s.known {
				s.list = append(slices.Clip(s.list), m.val)
			} else {
				s.pending = append(s.pending, m.val)
			}
			continue
		}
		l := readList(&m)
		var expected string
		switch {
		case s.known && !slices.Equal(l, s.list):
			expected = formatList(s.list, 0)
		case !s.known && len(s.pending) > 0 && (len(l) < len(s.pending) || !slices.Equal(l[len(l)-len(s.pending):], s.pending)):
			expected = "a list ending with " + formatList(s.pending, 0)
		}
		if expected != "" {
			a.add(finding{typ: Internal, key: m.key, txns: []int32{t},
				text: fmt.Sprintf("{0} read %s = %s, but its own earlier operations mean it should have read %s", a.keys.names[m.key], formatList(l, 0), expected)})
		}
		s.known, s.list, s.pending = true, l, nil
	}
}

// explainAppend says why a -> b (kind r, key k), naming transactions with
// name.
func (a *analysis) explainAppend(x, y int32, r rel, k int32, name func(int32) string) string {
	st := a.la
	kn := a.keys.names[k]
	order := st.order[k]
	wit := name(st.witness[k])
	switch r {
	case relWW:
		for p := 1; p < len(order); p++ {
			if st.writer[ekey{k, order[p-1]}] == x && st.writer[ekey{k, order[p]}] == y {
				return fmt.Sprintf("%s appended %d to %s right after %s's append of %d: %s read %s = %s",
					name(y), order[p], kn, name(x), order[p-1], wit, kn, formatList(order[:p+1], 2))
			}
		}
		if e, ok := a.unshown(y, k); ok && len(order) > 0 {
			return fmt.Sprintf("%s appended %d to %s, which no read shows, so after every element read, the last of them %s's append of %d: %s read %s = %s",
				name(y), e, kn, name(x), order[len(order)-1], wit, kn, formatList(order, 1))
		}
	case relWR:
		if mi, ok := extReads(a.txns[y].mops)[k]; ok {
			l := readList(&a.txns[y].mops[mi])
			if len(l) > 0 {
				return fmt.Sprintf("%s read %s = %s, which ends with %s's append of %d", name(y), kn, formatList(l, 1), name(x), l[len(l)-1])
			}
		}
	case relRW:
		if mi, ok := extReads(a.txns[x].mops)[k]; ok {
			l := readList(&a.txns[x].mops[mi])
			if len(l) < len(order) {
				e := order[len(l)]
				return fmt.Sprintf("%s read %s = %s without %s's append of %d, yet that append comes next: %s read %s = %s",
					name(x), kn, formatList(l, 1), name(y), e, wit, kn, formatList(order[:len(l)+1], 2))
			}
			if e, ok := a.unshown(y, k); ok {
				return fmt.Sprintf("%s read %s = %s without %s's append of %d, which no read shows, so it comes after every element read",
					name(x), kn, formatList(l, 1), name(y), e)
			}
		}
	}
	return fmt.Sprintf("%s %s %s on %s", name(x), r, name(y), kn)
}

// unshown returns an append of t to k that no read shows.
func (a *analysis) unshown(t, k int32) (int64, bool) {
	for _, m := range a.txns[t].mops {
		if m.f == mAppend && m.key == k && !a.la.shown[k][m.val] {
			return m.val, true
		}
	}
	return 0, false
}
