package elle

import (
	"cmp"
	"slices"
)

// rel is a set of dependency kinds between two transactions.
type rel uint8

const (
	relWW   rel = 1 << iota // write-write: T2 overwrote (appended after) T1's version
	relWR                   // write-read: T2 read T1's version
	relRW                   // read-write (anti-dependency): T2 overwrote the version T1 read
	relRT                   // real time: T1 completed before T2 was invoked
	relData = relWW | relWR | relRW
)

var relNames = map[rel]string{relWW: "ww", relWR: "wr", relRW: "rw", relRT: "realtime"}

func (r rel) String() string { return relNames[r] }

// rawEdge is an edge as inference finds it; key is the key that justifies
// it (-1 for real-time edges).
type rawEdge struct {
	from, to int32
	r        rel
	key      int32
}

// graph is a directed graph in compressed rows: the edges out of v are
// to[off[v]:off[v+1]], each with its kinds and, per kind, a key that
// justifies it (for explanations; ww, wr, rw in that order).
type graph struct {
	n    int
	off  []int32
	to   []int32
	rels []rel
	why  [][3]int32
}

func whySlot(r rel) int {
	switch r {
	case relWW:
		return 0
	case relWR:
		return 1
	default:
		return 2
	}
}

// buildGraph merges parallel edges (one edge, the union of their kinds).
func buildGraph(n int, es []rawEdge) *graph {
	slices.SortFunc(es, func(a, b rawEdge) int {
		if c := cmp.Compare(a.from, b.from); c != 0 {
			return c
		}
		return cmp.Compare(a.to, b.to)
	})
	g := &graph{n: n, off: make([]int32, n+1)}
	for i := 0; i < len(es); {
		j := i
		var rs rel
		why := [3]int32{-1, -1, -1}
		for ; j < len(es) && es[j].from == es[i].from && es[j].to == es[i].to; j++ {
			rs |= es[j].r
			if es[j].r != relRT && why[whySlot(es[j].r)] < 0 {
				why[whySlot(es[j].r)] = es[j].key
			}
		}
		g.to = append(g.to, es[i].to)
		g.rels = append(g.rels, rs)
		g.why = append(g.why, why)
		g.off[es[i].from+1]++
		i = j
	}
	for v := 0; v < n; v++ {
		g.off[v+1] += g.off[v]
	}
	return g
}

// edge returns the index of the edge a->b, or -1.
func (g *graph) edge(a, b int32) int {
	lo, hi := int(g.off[a]), int(g.off[a+1])
	i, ok := slices.BinarySearch(g.to[lo:hi], b)
	if !ok {
		return -1
	}
	return lo + i
}

// scratch holds the per-node arrays the searches reuse, so that a search
// in a small component costs its size, not the graph's.
type scratch struct {
	index, low []int32
	onStack    []bool
	comp       []int32 // component of a node in the last tarjan call
	mark       []uint32
	stamp      uint32
	seen       []uint32 // BFS states visited (2 per node)
	epoch      uint32
	parent     []int32
	prel       []rel
}

func newScratch(n int) *scratch {
	s := &scratch{index: make([]int32, n), low: make([]int32, n), onStack: make([]bool, n),
		comp: make([]int32, n), mark: make([]uint32, n), seen: make([]uint32, 2*n),
		parent: make([]int32, 2*n), prel: make([]rel, 2*n)}
	for i := range s.index {
		s.index[i] = -1
	}
	return s
}

// tarjan returns the strongly connected components, of two nodes or more,
// of the subgraph of members (nodes with mark == stamp) over edges whose
// kinds meet mask, and sets comp for every member (its component's
// position in the result, or -1 when alone). Iterative: a history's graph
// may have a path of a million transactions.
func (g *graph) tarjan(s *scratch, members []int32, stamp uint32, mask rel) [][]int32 {
	type frame struct{ v, e int32 }
	var comps [][]int32
	var stack []int32
	var frames []frame
	counter := int32(0)
	in := func(v int32) bool { return s.mark[v] == stamp }
	for _, root := range members {
		if s.index[root] >= 0 {
			continue
		}
		frames = append(frames, frame{root, g.off[root]})
		s.index[root], s.low[root] = counter, counter
		counter++
		stack = append(stack, root)
		s.onStack[root] = true
		for len(frames) > 0 {
			f := &frames[len(frames)-1]
			v := f.v
			descended := false
			for f.e < g.off[v+1] {
				e := f.e
				f.e++
				w := g.to[e]
				if g.rels[e]&mask == 0 || !in(w) {
					continue
				}
				if s.index[w] < 0 {
					s.index[w], s.low[w] = counter, counter
					counter++
					stack = append(stack, w)
					s.onStack[w] = true
					frames = append(frames, frame{w, g.off[w]})
					descended = true
					break
				}
				if s.onStack[w] && s.index[w] < s.low[v] {
					s.low[v] = s.index[w]
				}
			}
			if descended {
				continue
			}
			if s.low[v] == s.index[v] {
				i := len(stack) - 1
				for stack[i] != v {
					i--
				}
				c := slices.Clone(stack[i:])
				stack = stack[:i]
				id := int32(-1)
				if len(c) > 1 {
					id = int32(len(comps))
					comps = append(comps, c)
				}
				for _, w := range c {
					s.onStack[w] = false
					s.comp[w] = id
				}
			}
			frames = frames[:len(frames)-1]
			if len(frames) > 0 {
				p := frames[len(frames)-1].v
				if s.low[v] < s.low[p] {
					s.low[p] = s.low[v]
				}
			}
		}
	}
	for _, v := range members {
		s.index[v] = -1
	}
	return comps
}

// pick chooses the kind an edge is shown as, of those allowed: the
// plainest dependency first, so a cycle is named by what it needs.
func pick(rs rel) rel {
	for _, r := range []rel{relWW, relWR, relRW, relRT} {
		if rs&r != 0 {
			return r
		}
	}
	return 0
}

// cycle is a closed walk: nodes[i] -> nodes[i+1 mod n] by rels[i].
type cycle struct {
	nodes []int32
	rels  []rel
}

// closeCycle searches, breadth first (so shortest), a path from b back to
// a among nodes with comp == c over edges of mask, and closes it with the
// edge a->b taken as kind first. When noAdjRW is set, no two rw edges may
// follow one another (counting the closing edge). budget bounds the edges
// looked at; it returns nil when none is found or the budget runs out.
func (g *graph) closeCycle(s *scratch, a, b int32, first rel, c int32, mask rel, noAdjRW bool, budget *int) *cycle {
	s.epoch++
	if s.epoch == 0 { // wrapped: clear
		clear(s.seen)
		s.epoch = 1
	}
	state := func(v int32, lastRW bool) int32 {
		if lastRW {
			return 2*v + 1
		}
		return 2 * v
	}
	start := state(b, noAdjRW && first == relRW)
	goal := state(a, false)
	s.seen[start] = s.epoch
	s.parent[start] = -1
	queue := []int32{start}
	found := false
	for qi := 0; qi < len(queue) && !found; qi++ {
		st := queue[qi]
		v, lastRW := st/2, st%2 == 1
		for e := g.off[v]; e < g.off[v+1]; e++ {
			*budget--
			if *budget < 0 {
				return nil
			}
			w := g.to[e]
			if s.mark[w] != s.stamp || s.comp[w] != c {
				continue
			}
			rs := g.rels[e] & mask
			if rs == 0 {
				continue
			}
			type move struct {
				r  rel
				rw bool
			}
			var moves [2]move
			nm := 0
			if other := rs &^ relRW; other != 0 {
				moves[nm] = move{pick(other), false}
				nm++
			}
			if rs&relRW != 0 && !(noAdjRW && lastRW) {
				moves[nm] = move{relRW, noAdjRW}
				nm++
			}
			for _, m := range moves[:nm] {
				ns := state(w, m.rw)
				if noAdjRW && w == a && m.rw && first == relRW {
					continue // would put two rw edges side by side
				}
				if s.seen[ns] == s.epoch {
					continue
				}
				s.seen[ns] = s.epoch
				s.parent[ns] = st
				s.prel[ns] = m.r
				if ns == goal || (!noAdjRW && w == a) {
					goal = ns
					found = true
					break
				}
				queue = append(queue, ns)
			}
			if found {
				break
			}
		}
	}
	if !found {
		return nil
	}
	// Walk back from a to b, then reverse: b ... a, and the closing a->b.
	var nodes []int32
	var rels []rel
	for st := goal; st != start; st = s.parent[st] {
		nodes = append(nodes, st/2)
		rels = append(rels, s.prel[st])
	}
	nodes = append(nodes, b)
	slices.Reverse(nodes) // b, ..., a
	slices.Reverse(rels)  // b->..., ...->a
	rels = append(rels, first)
	return &cycle{nodes: nodes, rels: rels}
}
