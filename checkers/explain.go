package checkers

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"html"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/internal/safefile"
)

// explain builds, for the first invalid keys, a 1-minimal witness and (for
// fewer keys) porcupine's visualization with the fault windows annotated.
// Everything here runs after the verdict is known and within ExplainBudget:
// it can make an explanation shorter, never change the verdict.
func (cfg Linearizable) explain(ctx context.Context, in *Input, invalid []*keyJob, wd *watchdog) ([]KeyReport, string, []string) {
	deadline := time.Now().Add(cfg.ExplainBudget)
	var reports []KeyReport
	var lines, files []string
	names := map[string]bool{}
	n := min(len(invalid), cfg.MaxExplained)
	for i, j := range invalid[:n] {
		rep, view, init := cfg.explainKey(ctx, j, time.Until(deadline)/time.Duration(n-i), wd)
		vizNote := ""
		if i < cfg.MaxVisualizations && in.Dir != "" && ctx.Err() == nil {
			name, note := cfg.visualize(in, j.e, j.key, view, init, rep, names, wd)
			if name != "" {
				files = append(files, name)
				rep.Visualization = name
			}
			vizNote = note
		}
		lines = append(lines, rep.text(vizNote)...)
		reports = append(reports, rep)
	}
	if len(invalid) > n {
		lines = append(lines, fmt.Sprintf("... and %d more keys that cannot be linearized (not explained: MaxExplained is %d)", len(invalid)-n, n))
	}
	return reports, strings.Join(lines, "\n"), files
}

// explainKey finds a witness for j's bad span. It first tries one that
// stands alone: the span plus the earlier writes of the values the span
// relies on, checked from the initial (absent) value. If that much is
// linearizable the violation depends on a longer past, and the witness is
// taken within the span, from the values the key could hold before it. It
// returns the report and the operations to draw, with their start states.
func (cfg Linearizable) explainKey(ctx context.Context, j *keyJob, budget time.Duration, wd *watchdog) (KeyReport, []porcupine.Operation, []string) {
	span := j.ops[j.bad.Lo:j.bad.Hi]
	rep := KeyReport{Key: j.key, Verdict: Invalid, Ops: len(j.ops), Decided: j.bad.Lo, Span: len(span), AtS: seconds(span[0].Call),
		PossibleValues: j.e.stateNames(j.badStates)}
	s := &searcher{e: j.e}
	t := time.AfterFunc(budget, func() { s.stop.Store(stopBudget) })
	defer t.Stop()
	stopCtx := context.AfterFunc(ctx, func() { s.stop.Store(stopCancel) })
	defer stopCtx()
	wd.watch(s)
	defer wd.unwatch(s)

	cand, init, start := span, j.badStates, j.e.initial()
	if j.e.sh == nil || j.e.sp == nil {
		// One span from the start, or no way to find the writers it needs.
		rep.Standalone = j.bad.Lo == 0
	} else {
		if extra := writersOf(j.e.sh, j.ops[:j.bad.Lo], span, j.badStates); len(extra) > 0 || !slices.Equal(j.badStates, start) {
			alone := append(slices.Clone(extra), span...)
			slices.SortStableFunc(alone, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
			if s.call(alone, start) == porcupine.Illegal {
				cand, init = alone, start
			}
		}
		rep.Standalone = slices.Equal(init, start)
	}
	wit, minimal := s.minimize(cand, init)
	rep.Minimal, rep.noShrinker = minimal, j.e.sh == nil
	for _, op := range wit {
		rep.Witness = append(rep.Witness, j.e.witnessOp(op))
	}
	return rep, cand, init
}

// writersOf returns the operations of before that wrote a value the span
// reads, expects (cas) or may start from.
func writersOf(sh Shrinker, before, span []porcupine.Operation, states []string) []porcupine.Operation {
	need := map[string]bool{}
	for _, st := range states {
		for _, v := range sh.Holds(st) {
			need[v] = true
		}
	}
	for _, op := range span {
		for _, v := range sh.Observes(op) {
			need[v] = true
		}
	}
	delete(need, "")
	var out []porcupine.Operation
	for _, op := range before {
		if v, ok := sh.Writes(op); ok && need[v] {
			out = append(out, op)
		}
	}
	return out
}

// minimize shrinks ops, which cannot be linearized from states, to a subset
// that still cannot and from which no single operation can be left out and
// keep it so (1-minimal; an operation leaves with the operations that
// observe its value), by leaving out blocks of halving size and then single
// operations, re-checking each time. A write is left out only when
// no remaining operation observes its value (a read of it, or a cas
// expecting it): such a subset is a projection of the history closed under
// observation, and any linearization of the history, with the other
// operations taken out, linearizes it; so a witness that cannot be
// linearized proves the whole key cannot. minimal is false when the
// budget ran out first, or the model is no Shrinker.
func (s *searcher) minimize(ops []porcupine.Operation, states []string) (witness []porcupine.Operation, minimal bool) {
	sh := s.e.sh
	if sh == nil {
		return ops, false
	}
	keep := make([]bool, len(ops))
	observers := map[string]int{}
	observed := sh.Observes
	writes := func(i int) (string, bool) { return sh.Writes(ops[i]) }
	for i := range ops {
		keep[i] = true
		for _, v := range observed(ops[i]) {
			observers[v]++
		}
	}
	subset := func() []porcupine.Operation {
		var out []porcupine.Operation
		for i, k := range keep {
			if k {
				out = append(out, ops[i])
			}
		}
		return out
	}
	// try leaves out block; it reports whether the rest still cannot be
	// linearized, and undoes the removal otherwise.
	timedOut := false
	try := func(block []int) bool {
		for _, i := range block {
			keep[i] = false
			for _, v := range observed(ops[i]) {
				observers[v]--
			}
		}
		ok := true
		for _, i := range block {
			if v, w := writes(i); w && observers[v] > 0 {
				ok = false
				break
			}
		}
		if ok {
			switch s.call(subset(), states) {
			case porcupine.Illegal:
				return true
			case porcupine.Unknown:
				timedOut = true
			}
		}
		for _, i := range block {
			keep[i] = true
			for _, v := range observed(ops[i]) {
				observers[v]++
			}
		}
		return false
	}
	kept := func() []int {
		var out []int
		for i, k := range keep {
			if k {
				out = append(out, i)
			}
		}
		return out
	}
	for size := len(ops) / 2; size > 1 && !timedOut; size /= 2 {
		idx := kept()
		for lo := 0; lo < len(idx) && !timedOut; lo += size {
			try(idx[lo:min(lo+size, len(idx))])
		}
	}
	// An operation with the operations that observe it, transitively (a
	// cas observing a write is itself a write others may observe).
	byValue := map[string][]int{}
	for i := range ops {
		for _, v := range observed(ops[i]) {
			if v != "" {
				byValue[v] = append(byValue[v], i)
			}
		}
	}
	closure := func(i int) []int {
		block, in := []int{i}, map[int]bool{i: true}
		for k := 0; k < len(block); k++ {
			v, w := writes(block[k])
			if !w {
				continue
			}
			for _, o := range byValue[v] {
				if keep[o] && !in[o] {
					in[o] = true
					block = append(block, o)
				}
			}
		}
		return block
	}
	for changed := true; changed && !timedOut; {
		changed = false
		for _, i := range kept() {
			if timedOut {
				break
			}
			if keep[i] && try(closure(i)) {
				changed = true
			}
		}
	}
	return subset(), !timedOut
}

func (e *engine) witnessOp(op porcupine.Operation) WitnessOp {
	m := metaOf(op)
	w := WitnessOp{ID: m.ID, Process: m.Process.String(), Node: m.Node, Op: e.describe(op),
		Outcome: m.Type.String(), CallS: seconds(op.Call), ReturnS: -1}
	if m.Return >= 0 {
		w.ReturnS = seconds(m.Return)
	}
	if m.Pruned {
		w.EndS = seconds(op.Return)
	}
	w.Open = m.Open
	return w
}

// text renders a report as indented lines for summary.json's explanation.
func (r KeyReport) text(vizNote string) []string {
	lines := []string{fmt.Sprintf("key %s: cannot be linearized: its operations %d-%d of %d (in call order, from %.3fs) cannot follow the %d before them, which can be",
		r.Key, r.Decided+1, r.Decided+r.Span, r.Ops, r.AtS, r.Decided)}
	if r.Decided == 0 {
		lines[0] = fmt.Sprintf("key %s: cannot be linearized: its operations 1-%d of %d (in call order, from %.3fs) cannot be", r.Key, r.Span, r.Ops, r.AtS)
	}
	what := "these operations cannot be linearized"
	if r.Standalone {
		what += " even on their own, from the start of the history"
	} else {
		lines = append(lines, fmt.Sprintf("  by then the key could only hold one of %s; from there,", describeSet(r.PossibleValues)))
	}
	if r.Minimal {
		what += "; leaving out any one of them (with the reads of its value) makes them linearizable"
	} else if r.noShrinker {
		what += " (not shrunk: the model says nothing of which operations can be left out)"
	} else {
		what += " (not shrunk to a minimum: the explanation budget ran out)"
	}
	lines = append(lines, "  "+what+":")
	const maxLines = 40
	for i, w := range r.Witness {
		if i == maxLines {
			lines = append(lines, fmt.Sprintf("    ... %d more", len(r.Witness)-i))
			break
		}
		lines = append(lines, "    "+w.String())
	}
	if r.Visualization != "" || vizNote != "" {
		lines = append(lines, "  visualization: "+strings.TrimSpace(r.Visualization+" "+vizNote))
	}
	return lines
}

func (w WitnessOp) String() string {
	when := fmt.Sprintf("%.3fs-%.3fs", w.CallS, w.ReturnS)
	switch {
	case w.EndS > 0 && w.ReturnS < 0:
		when = fmt.Sprintf("%.3fs-never (seen by %.3fs)", w.CallS, w.EndS)
	case w.EndS > 0:
		when += fmt.Sprintf(" (seen by %.3fs)", w.EndS)
	case w.ReturnS < 0:
		when = fmt.Sprintf("%.3fs-never", w.CallS)
	}
	if w.Open {
		when += " (open)"
	}
	return fmt.Sprintf("%-22s %-4s %-32s node %-4s process %-5s op %d", w.Op, w.Outcome, when, w.Node, w.Process, w.ID)
}

// visualize writes porcupine's page for ops (from init), trimmed to
// MaxVisualizedOps around the witness and to MaxPageBytes, with the fault
// windows and the witness annotated. It returns the file name, or a note
// saying why there is none.
func (cfg Linearizable) visualize(in *Input, e *engine, key string, ops []porcupine.Operation, init []string, rep KeyReport, names map[string]bool, wd *watchdog) (string, string) {
	witness := map[uint64]bool{}
	for _, w := range rep.Witness {
		witness[w.ID] = true
	}
	view := trimAround(ops, witness, cfg.MaxVisualizedOps)
	page, err := cfg.render(e, view, init, witness, in.Faults, wd)
	if errors.Is(err, errTooBig) && len(view) > len(witness) {
		view = trimAround(ops, witness, len(witness))
		page, err = cfg.render(e, view, init, witness, in.Faults, wd)
	}
	if err != nil {
		return "", "(none: " + err.Error() + ")"
	}
	name := "linearizability-" + safeName(key)
	for i := 2; names[name]; i++ {
		name = fmt.Sprintf("linearizability-%s-%d", safeName(key), i)
	}
	names[name] = true
	name += ".html"
	if err := safefile.WriteFile(in.Dir, name, page, 0o644); err != nil {
		return "", "(none: " + err.Error() + ")"
	}
	note := fmt.Sprintf("(%d KB, %d operations", len(page)/1024, len(view))
	if len(view) < len(ops) {
		note += fmt.Sprintf(" of %d, those nearest the witness", len(ops))
	}
	return name, note + ")"
}

var errTooBig = errors.New("page over the size cap")

// trimAround keeps the witness and the operations nearest to it in time,
// at most n (never fewer than the witness), in call order. Keeping a
// superset of the witness keeps the page's verdict: a superset of an
// observation-closed set that cannot be linearized cannot be either.
func trimAround(ops []porcupine.Operation, witness map[uint64]bool, n int) []porcupine.Operation {
	if len(ops) <= n {
		return ops
	}
	var lo, hi int64 = 1<<63 - 1, -1 << 63
	for _, op := range ops {
		if witness[metaOf(op).ID] {
			lo, hi = min(lo, op.Call), max(hi, op.Return)
		}
	}
	dist := func(op porcupine.Operation) int64 {
		switch {
		case witness[metaOf(op).ID]:
			return -1
		case op.Return < lo:
			return lo - op.Return
		case op.Call > hi:
			return op.Call - hi
		}
		return 0
	}
	idx := make([]int, len(ops))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(dist(ops[a]), dist(ops[b])) })
	idx = idx[:max(n, len(witness))]
	slices.Sort(idx)
	out := make([]porcupine.Operation, len(idx))
	for i, k := range idx {
		out[i] = ops[k]
	}
	return out
}

// render checks view verbosely (porcupine's partial linearizations drive
// the page) and draws it, within the size cap.
func (cfg Linearizable) render(e *engine, view []porcupine.Operation, init []string, witness map[uint64]bool, faults []history.Window, wd *watchdog) ([]byte, error) {
	// One row per process, numbered from zero on this page.
	rows := map[int]int{}
	ops := make([]porcupine.Operation, len(view))
	var lo, hi int64 = 1<<63 - 1, -1 << 63
	for i, op := range view {
		r, ok := rows[op.ClientId]
		if !ok {
			r = len(rows)
			rows[op.ClientId] = r
		}
		op.ClientId = r
		ops[i] = op
		lo, hi = min(lo, op.Call), max(hi, op.Return)
	}
	s := &searcher{e: e}
	t := time.AfterFunc(10*time.Second, func() { s.stop.Store(stopBudget) })
	defer t.Stop()
	wd.watch(s)
	defer wd.unwatch(s)
	res, info := porcupine.CheckOperationsVerbose(e.porcupine(ops, init, func() bool { return s.stop.Load() != running }), ops, 0)
	if s.stop.Load() != running {
		return nil, errors.New("drawing it took too long or too much memory")
	}
	// Values, node names and fault details come from the run directory:
	// everything porcupine's page shows is escaped (its script puts some of
	// it into innerHTML), so a crafted history cannot put markup in it.
	esc := html.EscapeString
	var anns []porcupine.Annotation
	anns = append(anns, porcupine.Annotation{Tag: "checker", Start: lo, End: lo,
		Description: esc("starts from " + e.startDesc(init)), BackgroundColor: "#dde7f5"})
	if res == porcupine.Ok {
		anns[0].Details = "these operations alone are linearizable: the violation needs operations left off this page"
	}
	for _, w := range faults {
		if w.End < lo || w.Start > hi {
			continue
		}
		details := ""
		if w.Fault != nil {
			details = strings.TrimSpace(strings.Join(w.Fault.Nodes, ",") + " " + w.Fault.Detail)
		}
		anns = append(anns, porcupine.Annotation{Tag: "nemesis", Start: max(w.Start, lo), End: min(w.End, hi),
			Description: esc(w.Kind), Details: esc(details), BackgroundColor: "#f4c7c3"})
	}
	for _, op := range ops {
		m := metaOf(op)
		if witness[m.ID] {
			anns = append(anns, porcupine.Annotation{Tag: "witness", Start: op.Call, End: op.Return,
				Description: esc(e.describe(op)), Details: esc(describeMeta(m)), BackgroundColor: "#fff2a8"})
		}
	}
	info.AddAnnotations(anns)
	w := &capWriter{max: cfg.MaxPageBytes}
	page := e.porcupine(ops, init, nil)
	state, desc := page.DescribeState, page.DescribeOperation
	if state == nil {
		state = func(s interface{}) string { return fmt.Sprint(s) }
	}
	if desc == nil {
		desc = func(in, out interface{}) string { return fmt.Sprint(in, " -> ", out) }
	}
	page.DescribeOperation = func(in, out interface{}) string { return esc(desc(in, out)) }
	page.DescribeState = func(s interface{}) string { return esc(state(s)) }
	page.DescribeOperationMetadata = func(m interface{}) string { return esc(describeMeta(m)) }
	if err := porcupine.Visualize(page, info, w); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, errTooBig
	}
	return w.buf.Write(p)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
