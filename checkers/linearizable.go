package checkers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Linearizable checks that the operations of every key can be linearized,
// with porcupine, under a total time budget and a memory limit. The data
// model is Model (default Registers: read, write and cas on each key).
//
// Each key's history (pruned, when the model is a Pruner) is cut into spans
// where the key was quiet (when the model is a Spanner; see Span), and
// checked span after span, carrying the states the key may be in across
// each cut. Keys are checked by a pool of workers, each key for a
// time slice at a time (doubling each turn) and then put back in the queue,
// so a key whose search blows up cannot starve the others; the memory
// watchdog stops the search that holds the most when the heap goes over the
// limit. A key left undecided makes the verdict unknown, with its reason.
type Linearizable struct {
	// Model is the data model checked (default Registers).
	Model Model
	// Budget bounds the whole check (default 2 minutes).
	Budget time.Duration
	// MemoryLimit is the heap, in bytes, over which the watchdog stops the
	// heaviest search (default 2 GiB; the heap includes the history itself).
	MemoryLimit uint64
	// Workers checking keys in parallel (default GOMAXPROCS).
	Workers int
	// SpanOps is the number of operations a span aims at (default 64).
	SpanOps int
	// MaxExplained caps the invalid keys explained (default 5), and
	// MaxVisualizations those given an HTML page (default 3).
	MaxExplained      int
	MaxVisualizations int
	// MaxVisualizedOps caps the operations drawn on one page (default 300),
	// and MaxPageBytes its size (default 4 MiB).
	MaxVisualizedOps int
	MaxPageBytes     int
	// ExplainBudget bounds the time spent shrinking and drawing the
	// explanations, after the verdict is known (default 20 s).
	ExplainBudget time.Duration
	// IgnoreRevisions turns off revision ordering (order.go): the search
	// then never looks at the revisions operations report. The verdict is
	// the same either way.
	IgnoreRevisions bool
}

// Name is "linearizable" for registers, "linearizable-<model>" otherwise.
func (l *Linearizable) Name() string {
	if l.Model == nil || l.Model == Registers {
		return "linearizable"
	}
	return "linearizable-" + l.Model.Name()
}

func (l Linearizable) withDefaults() Linearizable {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if l.Budget <= 0 {
		l.Budget = 2 * time.Minute
	}
	if l.MemoryLimit == 0 {
		l.MemoryLimit = 2 << 30
	}
	def(&l.Workers, runtime.GOMAXPROCS(0))
	def(&l.SpanOps, 64)
	def(&l.MaxExplained, 5)
	def(&l.MaxVisualizations, 3)
	def(&l.MaxVisualizedOps, 300)
	def(&l.MaxPageBytes, 4<<20)
	if l.ExplainBudget <= 0 {
		l.ExplainBudget = 20 * time.Second
	}
	return l
}

// keyJob is one key's check, resumable: spans before next are decided, and
// states are the values the key may hold when spans[next] begins.
type keyJob struct {
	searcher
	key    string
	ops    []porcupine.Operation
	spans  []span
	next   int
	states []string
	turns  int
	greedy int // spans linearized without porcupine
	// recorded is the key's operations as recorded while ops is them
	// ordered by revision; a narrowed key that cannot be linearized is
	// checked again from recorded (reordered says it was).
	recorded  []porcupine.Operation
	spanOps   int
	reordered bool

	verdict Verdict // empty while undecided
	why     string  // why it is unknown
	// The span that cannot be linearized, and what the key could hold before it.
	bad       span
	badStates []string
}

// LinearizableDetails is the linearizability checker's structured finding.
type LinearizableDetails struct {
	Keys []KeyReport `json:"keys,omitempty"`
}

// KeyReport explains one key that is invalid or undecided.
type KeyReport struct {
	Key     string  `json:"key"`
	Verdict Verdict `json:"verdict"`
	// Reason says why an undecided key is undecided.
	Reason string `json:"reason,omitempty"`
	// Ops is the key's number of operations after pruning; Decided how many
	// of them (in call order) were shown linearizable before the stop.
	Ops     int `json:"ops"`
	Decided int `json:"decided"`
	// Span is how many operations, from Decided on, were checked together
	// and cannot follow the decided ones.
	Span int `json:"span,omitempty"`
	// AtS is when the part that cannot be linearized (or the undecided part) begins.
	AtS float64 `json:"at_s"`
	// PossibleValues the key could hold at AtS, by everything before it.
	PossibleValues []string `json:"possible_values,omitempty"`
	// Witness is a set of operations with no linearization, 1-minimal: none
	// of them can be left out (along with the reads of its value) and keep
	// it so. Standalone says it holds from the start of the history;
	// otherwise it holds given PossibleValues.
	Witness       []WitnessOp `json:"witness,omitempty"`
	Minimal       bool        `json:"minimal,omitempty"`
	Standalone    bool        `json:"standalone,omitempty"`
	Visualization string      `json:"visualization,omitempty"`

	noShrinker bool // the model is no Shrinker: why Minimal is false
}

// WitnessOp is one operation of an explanation.
type WitnessOp struct {
	ID      uint64  `json:"id"`
	Process string  `json:"process"`
	Node    string  `json:"node,omitempty"`
	Op      string  `json:"op"`
	Outcome string  `json:"outcome"`
	CallS   float64 `json:"call_s"`
	// ReturnS is the recorded completion (-1: never completed).
	ReturnS float64 `json:"return_s"`
	// EndS is where the checker ended an unknown write that a read saw.
	EndS float64 `json:"end_s,omitempty"`
	// Open says the checker left an unknown write open (its value was
	// written more than once): it may have taken effect at any time after
	// its call, or never.
	Open bool `json:"open,omitempty"`
}

// Check runs the search on every key.
func (l *Linearizable) Check(ctx context.Context, in *Input) Result {
	start := time.Now()
	cfg := l.withDefaults()
	e := newEngine(cfg.Model)
	keyed, st := e.partition(in.Ops)
	var revs map[uint64]opRevision
	if _, ok := e.m.(registers); ok && !cfg.IgnoreRevisions {
		revs = revisionsOf(in.Ops)
	}
	jobs := make([]*keyJob, 0, len(keyed))
	spans, ordered := 0, 0
	for k, ops := range keyed {
		j := &keyJob{searcher: searcher{e: e}, key: k, ops: ops, states: e.initial(), spanOps: cfg.SpanOps}
		if revs != nil {
			if o := orderByRevision(ops, revs); o != nil {
				j.recorded, j.ops = ops, o
				ordered++
			}
		}
		j.spans = e.cuts(j.ops, cfg.SpanOps)
		spans += len(j.spans)
		jobs = append(jobs, j)
	}
	clear(keyed)
	slices.SortFunc(jobs, func(a, b *keyJob) int { return naturalCompare(a.key, b.key) })

	wd := newWatchdog(cfg.MemoryLimit)
	wd.start()
	budgetCtx, cancel := context.WithTimeout(ctx, cfg.Budget)
	defer cancel()
	turns := cfg.schedule(budgetCtx, jobs, wd)

	r := Result{Checker: l.Name(), Stats: map[string]int{
		"keys": len(jobs), "ops_checked": st.Kept, "spans": spans, "turns": turns,
	}}
	if e.pr == nil {
		// Without a Pruner: what the model dropped, and what it left open.
		r.Stats["ops_dropped"], r.Stats["unknown_ops_open"] = st.Other, st.OpenUnknown
	} else {
		r.Stats["failed_reads_dropped"], r.Stats["failed_writes_dropped"] = st.FailedReads, st.FailedWrites
		r.Stats["unseen_unknown_writes_dropped"], r.Stats["seen_unknown_writes_capped"] = st.UnseenUnknown, st.SeenUnknownCapped
		if st.Other > 0 {
			r.Stats["other_ops_skipped"] = st.Other
		}
		// Values written more than once: the shortcuts that need a read to
		// name the write it saw were given up where they would not be exact.
		r.Stats["repeated_values"] = st.RepeatedValues
	}
	if e.pr != nil && st.RepeatedValues > 0 {
		r.Stats["keys_with_repeated_values"] = st.RepeatedKeys
		r.Stats["shortcuts_skipped_unknown_write_cap"] = st.OpenUnknown
		r.Stats["shortcuts_skipped_span_cut_ops"] = st.OpenTailOps
	}
	var calls int64
	greedy, reordered := 0, 0
	var invalid, unknown []*keyJob
	for _, j := range jobs {
		calls += j.calls.Load()
		greedy += j.greedy
		if j.reordered {
			reordered++
		}
		switch j.verdict {
		case Invalid:
			invalid = append(invalid, j)
		case Unknown:
			unknown = append(unknown, j)
		}
	}
	r.Stats["porcupine_calls"], r.Stats["spans_without_search"] = int(calls), greedy
	if revs != nil {
		// Keys searched in revision order, and those of them checked again
		// as recorded because the order did not linearize.
		r.Stats["keys_ordered_by_revision"], r.Stats["keys_rechecked_as_recorded"] = ordered, reordered
	}
	r.Stats["invalid_keys"], r.Stats["unknown_keys"] = len(invalid), len(unknown)
	for _, j := range invalid[:min(len(invalid), maxListed)] {
		r.InvalidKeys = append(r.InvalidKeys, j.key)
	}
	for _, j := range unknown[:min(len(unknown), maxListed)] {
		r.UnknownKeys = append(r.UnknownKeys, j.key)
	}
	var details LinearizableDetails
	switch {
	case len(invalid) > 0:
		r.Verdict = Invalid
		r.Summary = fmt.Sprintf("%d of %d keys cannot be linearized: %s", len(invalid), len(jobs), list(r.InvalidKeys, 10))
		if len(unknown) > 0 {
			r.Summary += fmt.Sprintf("; %d undecided", len(unknown))
		}
		t0 := time.Now()
		details.Keys, r.Explanation, r.Artifacts = cfg.explain(ctx, in, invalid, wd)
		r.Stats["explain_ms"] = int(time.Since(t0).Milliseconds())
	case len(unknown) > 0:
		r.Verdict = Unknown
		r.Summary = fmt.Sprintf("%d of %d keys undecided (budget %v, memory limit %d MiB): %s",
			len(unknown), len(jobs), cfg.Budget, cfg.MemoryLimit>>20, list(r.UnknownKeys, 10))
	case len(jobs) == 0:
		r.Verdict = Unknown
		r.Summary = "no completed operation to check"
	default:
		r.Verdict = Valid
		r.Summary = fmt.Sprintf("all %d keys linearizable (%d operations checked)", len(jobs), st.Kept)
	}
	if note := st.repeatedNote(); note != "" && e.pr != nil {
		r.Summary += "; " + note
		if r.Verdict != Valid {
			r.Explanation = strings.TrimLeft(r.Explanation+"\n"+note+": "+
				"an unknown write of such a value may have taken effect at any time after its call, or never, and was checked so (a read of the value may have seen another write of it)", "\n")
		}
	}
	if len(unknown) > 0 {
		var lines []string
		for i, j := range unknown {
			if i == 20 {
				lines = append(lines, fmt.Sprintf("... and %d more undecided keys", len(unknown)-i))
				break
			}
			lines = append(lines, fmt.Sprintf("key %s: undecided: %s", j.key, j.why))
			details.Keys = append(details.Keys, KeyReport{Key: j.key, Verdict: Unknown, Reason: j.why,
				Ops: len(j.ops), Decided: j.decided(), AtS: seconds(j.ops[j.spans[min(j.next, len(j.spans)-1)].Lo].Call),
				PossibleValues: j.e.stateNames(j.states)})
		}
		r.Explanation = strings.TrimLeft(r.Explanation+"\n"+strings.Join(lines, "\n"), "\n")
	}
	if len(details.Keys) > 0 {
		r.Details = details
	}
	r.Stats["peak_heap_mb"] = int(wd.close() >> 20)
	r.Stats["memory_stops"] = int(wd.killed.Load())
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
}

// repeatedNote says, when values repeated, what that cost the check.
func (st PruneStats) repeatedNote() string {
	if st.RepeatedValues == 0 {
		return ""
	}
	s := fmt.Sprintf("%d values written more than once on %d keys", st.RepeatedValues, st.RepeatedKeys)
	if st.OpenUnknown > 0 {
		s += fmt.Sprintf(", %d unknown writes left open instead of ended at the first read of their value (%d operations after them not cut into spans)",
			st.OpenUnknown, st.OpenTailOps)
	}
	return s
}

func (j *keyJob) decided() int {
	if j.next >= len(j.spans) {
		return len(j.ops)
	}
	return j.spans[j.next].Lo
}

// schedule runs the jobs on cfg.Workers workers: FIFO, one time slice per
// turn, a job that used its slice goes to the back of the queue with twice
// the slice next time. It returns the number of turns taken.
func (cfg Linearizable) schedule(ctx context.Context, jobs []*keyJob, wd *watchdog) int {
	if len(jobs) == 0 {
		return 0
	}
	// Every key's first slice fits in a quarter of the budget.
	base := max(20*time.Millisecond, cfg.Budget*time.Duration(cfg.Workers)/time.Duration(4*len(jobs)))
	queue := make(chan *keyJob, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	var mu sync.Mutex
	pending, turns := len(jobs), 0
	var wg sync.WaitGroup
	for range min(cfg.Workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				slice := base << min(j.turns, 16)
				j.turns++
				j.run(ctx, slice, wd)
				mu.Lock()
				turns++
				if j.verdict == "" {
					queue <- j // used its slice: back of the queue
					mu.Unlock()
					continue
				}
				if pending--; pending == 0 {
					close(queue)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return turns
}

// run checks j's spans for at most slice, leaving j.verdict empty if the
// slice ran out first.
func (j *keyJob) run(ctx context.Context, slice time.Duration, wd *watchdog) {
	ctxStop := func() {
		reason := stopCancel
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = stopBudget
		}
		j.stop.CompareAndSwap(running, reason)
	}
	j.stop.Store(running)
	if ctx.Err() != nil {
		ctxStop()
	}
	stopCtx := context.AfterFunc(ctx, ctxStop)
	defer stopCtx()
	t := time.AfterFunc(slice, func() { j.stop.CompareAndSwap(running, stopSlice) })
	defer t.Stop()
	wd.watch(&j.searcher)
	defer wd.unwatch(&j.searcher)

	for j.next < len(j.spans) && j.stop.Load() == running {
		sp := j.spans[j.next]
		res, next := j.checkSpan(sp, j.next == len(j.spans)-1)
		switch res {
		case porcupine.Ok:
			j.states = next
			j.next++
		case porcupine.Illegal:
			if j.recorded != nil {
				// The revision order proves nothing when it fails: start
				// again from the recorded intervals.
				j.ops, j.recorded, j.reordered = j.recorded, nil, true
				j.spans, j.next, j.states = j.e.cuts(j.ops, j.spanOps), 0, j.e.initial()
				continue
			}
			j.verdict, j.bad, j.badStates = Invalid, sp, j.states
			return
		}
	}
	if j.next == len(j.spans) {
		j.verdict = Valid
		return
	}
	switch j.stop.Load() {
	case stopSlice:
		return // back in the queue
	case stopMemory:
		j.why = fmt.Sprintf("the memory watchdog stopped its search (%d operations in the span at %.3fs)",
			j.spans[j.next].Hi-j.spans[j.next].Lo, seconds(j.ops[j.spans[j.next].Lo].Call))
	case stopCancel:
		j.why = "the check was cancelled"
	default:
		j.why = "the time budget ran out"
	}
	j.why += fmt.Sprintf("; %d of %d operations decided", j.decided(), len(j.ops))
	j.verdict = Unknown
}

// checkSpan checks one span from j.states and returns the states the key
// may be in after it (not computed for the last span).
func (j *keyJob) checkSpan(sp span, last bool) (porcupine.CheckResult, []string) {
	ops := j.ops[sp.Lo:sp.Hi]
	spn := j.e.sp
	if spn == nil { // one span, from the initial state
		return j.call(ops, nil), nil
	}
	cands, hasWrite := spn.EndStates(ops, j.states)
	// Most spans need no search: a linearization built without guessing
	// proves them linearizable; the others go to porcupine.
	if g := j.e.gr; g != nil && len(j.states) == 1 && (last || len(cands) == 1) {
		if end, ok := g.Linearize(ops, j.states[0]); ok && (last || end == cands[0]) {
			j.greedy++
			return porcupine.Ok, cands
		}
	}
	if last {
		return j.call(ops, j.states), nil
	}
	if len(cands) == 1 {
		res := j.call(ops, j.states)
		return res, cands
	}
	// Several values may end the span: keep those some linearization ends in.
	var next []string
	for _, c := range cands {
		var res porcupine.CheckResult
		if hasWrite {
			res = j.call(spn.Probe(ops, c), j.states)
		} else {
			res = j.call(ops, []string{c})
		}
		switch res {
		case porcupine.Ok:
			next = append(next, c)
		case porcupine.Unknown:
			return res, nil
		}
	}
	if len(next) == 0 {
		return porcupine.Illegal, nil
	}
	return porcupine.Ok, next
}

func list(ks []string, n int) string {
	if len(ks) <= n {
		return strings.Join(ks, ", ")
	}
	return strings.Join(ks[:n], ", ") + fmt.Sprintf(", ... (%d more)", len(ks)-n)
}

func seconds(ns int64) float64 { return float64(ns/1e6) / 1e3 }

// naturalCompare orders k2 before k10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
