// Package elle checks transactional histories for isolation anomalies, the
// way Jepsen's Elle does (Kingsbury and Alvaro, "Elle: Inferring Isolation
// Anomalies from Experimental Observations"): it infers write-write,
// write-read and read-write dependencies between transactions from what
// they read and wrote, adds real-time order when the model asks for it,
// finds the strongly connected components of that graph, and in each one
// a short cycle per anomaly class (G0, G1c, G-single, G-nonadjacent,
// G2-item, and their real-time variants). Beside cycles it reports aborted
// and intermediate reads (G1a, G1b), internal inconsistency, duplicate
// elements, incompatible orders, garbage reads, lost updates and cyclic
// version orders. The verdict is invalid only for an anomaly the chosen
// consistency model forbids; every anomaly found is listed with the
// weakest model it rules out.
//
// Two workloads: list append (micro-operations ["append", k, v] and
// ["r", k, [v...]]) and read/write registers (["w", k, v], ["r", k, v]),
// with unique values per key, in operations whose F is "txn".
package elle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// Workload says how micro-operations are read.
type Workload int

const (
	ListAppend Workload = iota + 1
	RWRegister
)

func (w Workload) String() string {
	switch w {
	case ListAppend:
		return "list-append"
	case RWRegister:
		return "rw-register"
	}
	return fmt.Sprintf("workload(%d)", int(w))
}

// ParseWorkload accepts "list-append" and "rw-register".
func ParseWorkload(s string) (Workload, error) {
	switch s {
	case "list-append", "append":
		return ListAppend, nil
	case "rw-register", "wr-register", "wr":
		return RWRegister, nil
	}
	return 0, fmt.Errorf("transactional workload %q: want list-append or rw-register", s)
}

// Checker is the transactional isolation checker.
type Checker struct {
	workload    Workload
	model       Model
	maxExamples int
	maxSVGs     int
	budget      int
	wfr         bool
	linKeys     bool
	unknownInit bool
	err         error
}

var _ checkers.Checker = (*Checker)(nil)

// Option configures a Checker.
type Option func(*Checker)

// WithConsistency sets the model the history must satisfy (default
// strict-serializable, as Elle's).
func WithConsistency(model string) Option {
	return func(c *Checker) {
		m, err := ParseModel(model)
		if err != nil {
			c.err = err
			return
		}
		c.model = m
	}
}

// WithModel is WithConsistency for a parsed model.
func WithModel(m Model) Option { return func(c *Checker) { c.model = m } }

// WithMaxExamples caps the anomalies of each type explained (default 3);
// all are counted.
func WithMaxExamples(n int) Option { return func(c *Checker) { c.maxExamples = n } }

// WithMaxSVGs caps the cycle pictures written (default 10).
func WithMaxSVGs(n int) Option { return func(c *Checker) { c.maxSVGs = n } }

// WithSearchBudget bounds the edges the cycle searches may look at in one
// strongly connected component beyond the ones that are certain to find a
// cycle (default 20 million). A search cut short may miss a G-single or
// G-nonadjacent in a huge component (a cycle of some kind is always
// reported for it) and says so.
func WithSearchBudget(edges int) Option { return func(c *Checker) { c.budget = edges } }

// WithWritesFollowReads, for registers: a committed transaction that read
// k = v1 and then wrote k = v2 puts v1 before v2 in k's version order
// (Elle's :wfr-keys?). On by default; it is used only under models that
// forbid G1 (read committed and stronger), where a system breaking it shows
// a G1c anyway.
func WithWritesFollowReads(on bool) Option { return func(c *Checker) { c.wfr = on } }

// WithLinearizableKeys, for registers under strict serializability: each
// key is taken to be linearizable (Elle's :linearizable-keys?), so a
// transaction that completed before another was invoked left each key it
// touched at a version no later than the one the other met. Off by
// default, as in Elle.
func WithLinearizableKeys(on bool) Option { return func(c *Checker) { c.linKeys = on } }

// WithUnknownInitialState: the history may not hold every write, or its
// keys may not have started empty (a history imported from Jepsen), so a
// read of a value no transaction in it wrote is taken, as Elle takes it, for
// an initial state or a write the history lacks: it gives no dependency and
// rules out no model, and the summary notes it. Off by default: Faultline
// records every write it sends, into keys that start empty, so such a read
// is a garbage read, which every model forbids.
func WithUnknownInitialState(on bool) Option { return func(c *Checker) { c.unknownInit = on } }

// New returns a checker of the workload's histories.
func New(w Workload, opts ...Option) (*Checker, error) {
	c := &Checker{workload: w, model: StrictSerializable, maxExamples: 3, maxSVGs: 10, budget: 20_000_000, wfr: true}
	if w != ListAppend && w != RWRegister {
		return nil, fmt.Errorf("elle: unknown workload %d", int(w))
	}
	for _, o := range opts {
		o(c)
	}
	if c.err != nil {
		return nil, c.err
	}
	return c, nil
}

func (c *Checker) Name() string { return "elle-" + c.workload.String() }

// Model is the model the checker holds histories to.
func (c *Checker) Model() Model { return c.model }

// finding is one anomaly, before it is explained. Cycles have cyc; the
// others name their transactions (txns) and a key, with facts for the
// text.
type finding struct {
	typ  string
	cyc  *cycle
	txns []int32
	key  int32
	text string
}

// analysis is what one Check works on.
type analysis struct {
	c        *Checker
	txns     []txn
	keys     keyTable
	edges    []rawEdge
	findings map[string][]finding
	counts   map[string]int
	// workload state for explanations
	la *appendState
	rr *registerState
	// unknown is set when the history breaks the workload's rules (values
	// not unique): nothing can be concluded.
	unknown string
	notes   []string
	// cut counts the components whose budgeted searches ran out.
	cut int
	// unwritten counts, under WithUnknownInitialState, the reads of values
	// no transaction in the history wrote.
	unwritten int
}

func (a *analysis) add(f finding) {
	if f.typ == GarbageRead && a.c.unknownInit {
		// Elle's rw-register: "we read a value that came out of nowhere.
		// This is probably an initial state."
		a.unwritten++
		return
	}
	a.counts[f.typ]++
	// Keep a few more than are explained: Details lists them.
	if len(a.findings[f.typ]) < max(a.c.maxExamples, 1)*4 {
		a.findings[f.typ] = append(a.findings[f.typ], f)
	}
}

func (a *analysis) edge(from, to int32, r rel, key int32) {
	if from == to || from < 0 || to < 0 {
		return
	}
	if !a.inGraph(from) || !a.inGraph(to) {
		return
	}
	a.edges = append(a.edges, rawEdge{from, to, r, key})
}

// inGraph: committed (ok) and indeterminate (info) transactions are
// vertices; a failed one certainly did not commit.
func (a *analysis) inGraph(t int32) bool { return a.txns[t].typ != history.Fail }

func (c *Checker) Check(ctx context.Context, in *checkers.Input) checkers.Result {
	start := time.Now()
	r := checkers.Result{Checker: c.Name(), Stats: map[string]int{}}
	a := &analysis{c: c, keys: keyTable{ids: map[string]int32{}}, findings: map[string][]finding{}, counts: map[string]int{}}
	done := func() checkers.Result {
		r.ElapsedMS = time.Since(start).Milliseconds()
		return r
	}
	for i := range in.Ops {
		op := &in.Ops[i]
		if op.F != FTxn && op.F != ":"+FTxn {
			continue
		}
		if len(op.Data) == 0 {
			r.Verdict = checkers.Unknown
			r.Summary = fmt.Sprintf("transaction op %d (process %d) has no micro-operations", op.ID, op.Process)
			return done()
		}
		ms, err := parseMops(op.Data, &a.keys)
		if err != nil {
			r.Verdict = checkers.Unknown
			r.Summary = fmt.Sprintf("transaction op %d (process %d): cannot read its micro-operations %.80s: %v", op.ID, op.Process, op.Data, err)
			return done()
		}
		a.txns = append(a.txns, txn{op: op, typ: op.Type, mops: ms})
	}
	if len(a.txns) == 0 {
		r.Verdict = checkers.Skipped
		r.Summary = `the history has no transactions (operations with f "txn")`
		return done()
	}
	if ctx.Err() != nil {
		r.Verdict, r.Summary = checkers.Unknown, "check cancelled: "+ctx.Err().Error()
		return done()
	}
	switch c.workload {
	case ListAppend:
		a.inferAppend()
	case RWRegister:
		a.inferRegister()
	}
	if a.unknown != "" {
		r.Verdict, r.Summary = checkers.Unknown, a.unknown
		return done()
	}
	if a.unwritten > 0 {
		a.notes = append(a.notes, fmt.Sprintf("%d read(s) of values no transaction in the history wrote, taken (as Elle does) for an initial state or writes the history lacks; check.options.initial-state=empty calls them garbage reads", a.unwritten))
	}
	if needsRealtime(c.model) {
		a.realtimeEdges()
	}
	g := buildGraph(len(a.txns), a.edges)
	a.edges = nil
	sccs, cut := a.cycles(ctx, g)
	if ctx.Err() != nil {
		r.Verdict, r.Summary = checkers.Unknown, "check cancelled during the cycle search: "+ctx.Err().Error()
		return done()
	}
	if cut > 0 {
		a.cut = cut
		a.notes = append(a.notes, fmt.Sprintf("the cycle search ran out of budget in %d strongly connected component(s): they may hold a G-single or G-nonadjacent not reported", cut))
	}
	a.stats(r.Stats, g, sccs)
	a.report(&r, in.Dir, g)
	return done()
}

// stats fills the counts a report shows.
func (a *analysis) stats(st map[string]int, g *graph, sccs int) {
	st["txns"] = len(a.txns)
	for _, t := range a.txns {
		st[t.typ.String()]++
	}
	st["keys"] = len(a.keys.names)
	for e := range g.to {
		for _, r := range []rel{relWW, relWR, relRW, relRT} {
			if g.rels[e]&r != 0 {
				st["edges_"+r.String()]++
			}
		}
	}
	st["sccs"] = sccs
	if a.unwritten > 0 {
		st["unwritten_reads"] = a.unwritten
	}
	for typ, n := range a.counts {
		st["anomaly_"+typ] = n
	}
}

// cycles finds the strongly connected components and, in each, a short
// cycle of each anomaly class the component holds. It returns how many
// components there were and in how many a budgeted search was cut short.
func (a *analysis) cycles(ctx context.Context, g *graph) (int, int) {
	s := newScratch(g.n)
	all := make([]int32, g.n)
	for i := range all {
		all[i] = int32(i)
	}
	mask := relData
	if needsRealtime(a.c.model) {
		mask |= relRT
	}
	s.stamp++
	for _, v := range all {
		s.mark[v] = s.stamp
	}
	comps := g.tarjan(s, all, s.stamp, mask)
	cut := 0
	for _, comp := range comps {
		if ctx.Err() != nil {
			break
		}
		if a.searchComponent(g, s, comp, mask) {
			cut++
		}
	}
	return len(comps), cut
}

// searchComponent looks for cycles in one component, from the plainest
// class up, each search over the edges its class allows (Elle's order):
// G0 (ww), G1c (ww, wr, one wr at least), G-single (exactly one rw),
// G-nonadjacent (rw edges never side by side), G2-item (any), then, only
// when no data cycle is there, one through a real-time edge.
func (a *analysis) searchComponent(g *graph, s *scratch, comp []int32, mask rel) (cut bool) {
	budget := a.c.budget
	found := false
	report := func(cy *cycle) {
		found = true
		a.add(finding{typ: classify(cy), cyc: cy})
	}
	sub := func(m rel) [][]int32 {
		s.stamp++
		for _, v := range comp {
			s.mark[v] = s.stamp
		}
		return g.tarjan(s, comp, s.stamp, m)
	}
	// firstInside closes cycles through the first few edges of kind k
	// inside one of comps (both ends there), each certain to succeed, and
	// keeps the shortest: tries bounds the searches, so that a huge
	// component costs a few passes over it.
	firstInside := func(comps [][]int32, k, m rel) *cycle {
		const tries = 8
		var best *cycle
		n := 0
		for ci, c := range comps {
			for _, v := range c {
				for e := g.off[v]; e < g.off[v+1]; e++ {
					if w := g.to[e]; g.rels[e]&k != 0 && s.mark[w] == s.stamp && s.comp[w] == int32(ci) {
						unlimited := int(^uint(0) >> 1)
						cy := g.closeCycle(s, v, w, k, int32(ci), m, false, &unlimited)
						if cy != nil && (best == nil || len(cy.nodes) < len(best.nodes)) {
							best = cy
						}
						if n++; n >= tries || best != nil && len(best.nodes) == 2 {
							return best
						}
					}
				}
			}
		}
		return best
	}
	if cs := sub(relWW); len(cs) > 0 {
		report(firstInside(cs, relWW, relWW))
	}
	wwwr := sub(relWW | relWR)
	if cy := firstInside(wwwr, relWR, relWW|relWR); cy != nil {
		report(cy)
	}
	// G-single: an rw edge a->b closed by a ww/wr path b ~> a. Both ends
	// in one ww/wr component is certain; otherwise a budgeted search.
	var single *cycle
	var rwEdges [][2]int32
	for _, v := range comp {
		for e := g.off[v]; e < g.off[v+1]; e++ {
			if g.rels[e]&relRW != 0 && s.mark[g.to[e]] == s.stamp {
				rwEdges = append(rwEdges, [2]int32{v, g.to[e]})
			}
		}
	}
	tries := 0
	for _, ed := range rwEdges {
		if c := s.comp[ed[0]]; c >= 0 && c == s.comp[ed[1]] {
			unlimited := int(^uint(0) >> 1)
			cy := g.closeCycle(s, ed[0], ed[1], relRW, c, relWW|relWR, false, &unlimited)
			if cy != nil && (single == nil || len(cy.nodes) < len(single.nodes)) {
				single = cy
			}
			if tries++; tries >= 8 || len(single.nodes) == 2 {
				break
			}
		}
	}
	if single == nil && len(rwEdges) > 0 {
		// Search the whole component: mark it as one "comp".
		for _, v := range comp {
			s.comp[v] = -2
		}
		var c bool
		single, c = g.deepening(s, rwEdges, func([2]int32) int32 { return -2 }, relWW|relWR, false, &budget)
		cut = cut || c
	}
	if single != nil {
		report(single)
	} else if len(rwEdges) > 0 {
		data := sub(relData)
		var nonadj *cycle
		if len(data) > 0 {
			var inside [][2]int32
			for _, ed := range rwEdges {
				if c := s.comp[ed[0]]; c >= 0 && c == s.comp[ed[1]] {
					inside = append(inside, ed)
				}
			}
			var c bool
			nonadj, c = g.deepening(s, inside, func(ed [2]int32) int32 { return s.comp[ed[0]] }, relData, true, &budget)
			cut = cut || c
		}
		if nonadj != nil {
			report(nonadj)
		} else if cy := firstInside(data, relRW, relData); cy != nil {
			report(cy)
		}
	}
	if !found && mask&relRT != 0 {
		s.stamp++
		for _, v := range comp {
			s.mark[v] = s.stamp
			s.comp[v] = -2
		}
		for _, v := range comp {
			for e := g.off[v]; e < g.off[v+1]; e++ {
				if g.rels[e]&relRT != 0 && s.mark[g.to[e]] == s.stamp {
					unlimited := int(^uint(0) >> 1)
					if cy := g.closeCycle(s, v, g.to[e], relRT, -2, mask, false, &unlimited); cy != nil {
						report(cy)
						return cut
					}
				}
			}
		}
	}
	return cut
}

// classify names a cycle by its edges, as Elle's cycle explainer does: one
// rw edge is G-single, several never adjacent G-nonadjacent, else G2-item;
// no rw but a wr is G1c; only ww is G0; a real-time edge adds -realtime.
func classify(cy *cycle) string {
	n := len(cy.rels)
	var rw, wr, rt int
	adj := false
	for i, r := range cy.rels {
		switch r {
		case relRW:
			rw++
			if cy.rels[(i+1)%n] == relRW {
				adj = true
			}
		case relWR:
			wr++
		case relRT:
			rt++
		}
	}
	var t string
	switch {
	case rw == 1:
		t = GSingle
	case rw > 1 && !adj:
		t = GNonadjacent
	case rw > 1:
		t = G2Item
	case wr > 0:
		t = G1c
	default:
		t = G0
	}
	if rt > 0 {
		t += realtimeSuffix
	}
	return t
}

// realtimeEdges adds T1 -> T2 when T1 completed ok before T2 was invoked,
// as a transitive reduction: each transaction links from the frontier of
// transactions completed before it began that nothing completed since
// follows. An indeterminate transaction may take effect any time after
// its invocation, so it never precedes anything in real time.
func (a *analysis) realtimeEdges() {
	type ev struct {
		t      int64
		txn    int32
		invoke bool
	}
	evs := make([]ev, 0, 2*len(a.txns))
	for i, t := range a.txns {
		if !a.inGraph(int32(i)) {
			continue
		}
		evs = append(evs, ev{t.op.Call, int32(i), true})
		if t.typ == history.OK && t.op.Return >= 0 {
			evs = append(evs, ev{t.op.Return, int32(i), false})
		}
	}
	slices.SortStableFunc(evs, func(x, y ev) int {
		if x.t != y.t {
			if x.t < y.t {
				return -1
			}
			return 1
		}
		// At equal times a completion does not precede an invocation:
		// invocations first.
		switch {
		case x.invoke && !y.invoke:
			return -1
		case !x.invoke && y.invoke:
			return 1
		}
		return 0
	})
	preds := map[int32][]int32{}
	frontier := map[int32]bool{}
	for _, e := range evs {
		if e.invoke {
			var ps []int32
			for f := range frontier {
				ps = append(ps, f)
				a.edges = append(a.edges, rawEdge{f, e.txn, relRT, -1})
			}
			if a.txns[e.txn].typ == history.OK {
				preds[e.txn] = ps
			}
			continue
		}
		for _, p := range preds[e.txn] {
			delete(frontier, p)
		}
		delete(preds, e.txn)
		frontier[e.txn] = true
	}
}

// extReads returns, per key, the first read of a key made before the
// transaction wrote it (what it observed of others); extWrites, the last
// write or append of each key (what it left).
func extReads(ms []mop) map[int32]int {
	out := map[int32]int{}
	wrote := map[int32]bool{}
	for i, m := range ms {
		switch m.f {
		case mRead:
			if _, ok := out[m.key]; !ok && !wrote[m.key] {
				out[m.key] = i
			}
		default:
			wrote[m.key] = true
		}
	}
	return out
}

// modelList renders models for people.
func modelList(ms []Model) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, " and ")
}

// deepening looks for a cycle closing any of the rw edges, with searches
// of growing size per edge (so that short cycles anywhere are found before
// long searches anywhere), within budget. cut says the budget ran out
// before every search could finish.
func (g *graph) deepening(s *scratch, edges [][2]int32, comp func([2]int32) int32, mask rel, noAdjRW bool, budget *int) (*cycle, bool) {
	for per := 64; ; per *= 8 {
		complete := true
		for _, ed := range edges {
			if *budget <= 0 {
				return nil, true
			}
			local := min(per, *budget)
			start := local
			cy := g.closeCycle(s, ed[0], ed[1], relRW, comp(ed), mask, noAdjRW, &local)
			*budget -= start - max(local, 0)
			if cy != nil {
				return cy, false
			}
			if local < 0 {
				complete = false
			}
		}
		if complete {
			return nil, false
		}
	}
}
