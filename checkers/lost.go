package checkers

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// LostWrites looks for acknowledged writes that the cluster no longer holds
// once the faults are healed. It reads the final reads (made after the last
// heal and a quiet period): a write (or cas) that returned ok is lost when a
// final read that began after it was acknowledged returns neither its value
// nor the value of a write that could have come after it, one that did not
// certainly end before the lost write began and did not certainly fail. A
// value written more than once counts by the write of it that may have
// taken effect last.
//
// Without final reads there is nothing to compare with: a history with no
// final read at all gets Skipped (the run ended before them, or the
// workload does not make them), said in its summary; a key whose final
// reads were all attempted and all failed is unknown, since a cluster that
// cannot answer after healing may well have lost it.
type LostWrites struct {
	// MaxExamples caps the lost writes described (default 10).
	MaxExamples int
}

func (l *LostWrites) Name() string { return "lost-writes" }

// LostDetails is the lost-writes checker's finding.
type LostDetails struct {
	Lost []LostWrite `json:"lost,omitempty"`
	// Unread are keys with acknowledged writes that no final read looked at.
	Unread []string `json:"unread_keys,omitempty"`
}

// LostWrite is an acknowledged write a final read does not reflect.
type LostWrite struct {
	Key   string    `json:"key"`
	Write WitnessOp `json:"write"`
	Final WitnessOp `json:"final_read"`
	// Shows says what the final read's value is instead.
	Shows string `json:"shows"`
	// During names the fault window the write was acknowledged in (its
	// kind and span, e.g. "partition-leader 3.0-6.1s"), empty when no fault
	// was active: where a failover loses writes is what a reader wants.
	During string `json:"during,omitempty"`
	// After names, when no fault was active, the last fault window healed
	// before the acknowledgement: a node restarted by kill-leader can
	// acknowledge writes before Sentinel demotes it.
	After string `json:"after,omitempty"`
}

func (l *LostWrites) Check(ctx context.Context, in *Input) Result {
	start := time.Now()
	maxEx := l.MaxExamples
	if maxEx <= 0 {
		maxEx = 10
	}
	r := Result{Checker: l.Name(), Stats: map[string]int{}}
	finals := 0
	for i := range in.Ops {
		if in.Ops[i].Final {
			finals++
		}
	}
	if finals == 0 {
		r.Verdict = Skipped
		r.Summary = "the history has no final reads (the run ended before them, or the workload makes none), so lost writes cannot be looked for"
		return r
	}
	var lost []LostWrite
	var unknown, unread []string
	checkedKeys, checkedWrites, lostWrites, repeated := 0, 0, 0, 0
	keys := byKey(in.Ops)
	for key, idx := range keys {
		var writes, reads []*history.Op
		tried := false
		// writer[v]: of the writes of v, the one that may have taken effect
		// last (an unknown outcome may have at any time; failed ones never).
		writer := map[string]*history.Op{}
		for _, i := range idx {
			op := &in.Ops[i]
			switch {
			case op.F == history.FWrite || op.F == history.FCAS:
				x := writer[op.Value]
				if x != nil {
					repeated++
				}
				if x == nil || later(op, x) {
					writer[op.Value] = op
				}
				if op.Type == history.OK {
					writes = append(writes, op)
				}
			case op.F == history.FRead && op.Final:
				tried = true
				if op.Type == history.OK {
					reads = append(reads, op)
				}
			}
		}
		switch {
		case len(writes) == 0:
			continue
		case len(reads) == 0 && tried:
			unknown = append(unknown, key)
			continue
		case len(reads) == 0:
			unread = append(unread, key)
			continue
		}
		checkedKeys++
		for _, w := range writes {
			checkedWrites++
			for _, f := range reads {
				if f.Call <= w.Return || f.Value == w.Value {
					continue
				}
				x := writer[f.Value]
				if x != nil && x.Type != history.Fail && !(x.Type == history.OK && x.Return < w.Call) {
					continue // x may have overwritten w
				}
				lostWrites++
				during, after := faultAt(in.Faults, w.Return)
				switch {
				case during != nil:
					r.Stats["lost_during_"+during.Kind]++
				case after != nil:
					r.Stats["lost_after_"+after.Kind]++
				}
				if len(lost) < maxEx {
					lost = append(lost, LostWrite{Key: key, Write: opWitness(w), Final: opWitness(f), Shows: shows(f.Value, x),
						During: windowName(during), After: windowName(after)})
				}
				break
			}
		}
	}
	slices.SortFunc(lost, func(a, b LostWrite) int { return cmp.Compare(a.Write.CallS, b.Write.CallS) })
	slices.SortFunc(unknown, naturalCompare)
	slices.SortFunc(unread, naturalCompare)
	r.Stats["final_reads"], r.Stats["keys_checked"], r.Stats["writes_checked"], r.Stats["lost_writes"] = finals, checkedKeys, checkedWrites, lostWrites
	if len(unread) > 0 {
		r.Stats["keys_not_read_at_the_end"] = len(unread)
	}
	if repeated > 0 {
		r.Stats["repeated_writes"] = repeated
	}
	r.UnknownKeys = unknown[:min(len(unknown), maxListed)]
	if len(lost) > 0 || len(unread) > 0 {
		r.Details = LostDetails{Lost: lost, Unread: unread[:min(len(unread), maxListed)]}
	}
	note := ""
	if len(unread) > 0 {
		note = fmt.Sprintf("; %d keys with acknowledged writes had no final read and were not checked", len(unread))
	}
	switch {
	case lostWrites > 0:
		r.Verdict = Invalid
		r.Summary = fmt.Sprintf("%d of %d acknowledged writes lost (not reflected by the final reads)%s", lostWrites, checkedWrites, note)
		var lines []string
		for _, x := range lost {
			during := ""
			switch {
			case x.During != "":
				during = " (during " + x.During + ")"
			case x.After != "":
				during = " (after " + x.After + ")"
			}
			lines = append(lines, fmt.Sprintf("key %s: %s, acknowledged at %.3fs%s by node %s, is lost: the final read on node %s at %.3fs %s",
				x.Key, x.Write.Op, x.Write.ReturnS, during, orNone(x.Write.Node), orNone(x.Final.Node), x.Final.CallS, x.Shows))
		}
		if lostWrites > len(lost) {
			lines = append(lines, fmt.Sprintf("... and %d more", lostWrites-len(lost)))
		}
		r.Explanation = strings.Join(lines, "\n")
	case len(unknown) > 0:
		r.Verdict = Unknown
		r.Summary = fmt.Sprintf("every final read failed on %d keys with acknowledged writes: %s%s", len(unknown), list(unknown, 10), note)
	case checkedKeys == 0 && len(unread) > 0:
		r.Verdict = Unknown
		r.Summary = fmt.Sprintf("no key with acknowledged writes had a final read (%d such keys)", len(unread))
	case checkedKeys == 0:
		r.Verdict = Skipped
		r.Summary = "no write was acknowledged, so none can be lost"
	default:
		r.Verdict = Valid
		r.Summary = fmt.Sprintf("all %d acknowledged writes on %d keys are reflected by the final reads%s", checkedWrites, checkedKeys, note)
	}
	if ctx.Err() != nil {
		r.Verdict, r.Summary = Unknown, "cancelled: "+ctx.Err().Error()
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
}

// faultAt is the fault window active at t (the latest started, when
// several overlap) or, when none is, the last one healed before t.
func faultAt(ws []history.Window, t int64) (during, after *history.Window) {
	for i := range ws {
		switch {
		case ws[i].Start <= t && t <= ws[i].End:
			during = &ws[i]
		case ws[i].End < t && (after == nil || ws[i].End > after.End):
			after = &ws[i]
		}
	}
	if during != nil {
		after = nil
	}
	return during, after
}

func windowName(w *history.Window) string {
	if w == nil {
		return ""
	}
	return fmt.Sprintf("%s %.1f-%.1fs", w.Kind, seconds(w.Start), seconds(w.End))
}

// later says a may have taken effect after b did: of the writes of one
// value, the latest is what a final read of it may reflect. Failed writes
// never took effect, unknown ones may have at any time, ok ones by their
// return.
func later(a, b *history.Op) bool {
	rank := func(o *history.Op) (int, int64) {
		switch o.Type {
		case history.Fail:
			return 0, 0
		case history.OK:
			return 1, o.Return
		}
		return 2, 0
	}
	ra, ta := rank(a)
	rb, tb := rank(b)
	return ra > rb || ra == rb && ta > tb
}

func shows(v string, x *history.Op) string {
	switch {
	case v == "":
		return "shows no value at all"
	case x == nil:
		return fmt.Sprintf("shows %s, which nobody wrote", v)
	case x.Type == history.Fail:
		return fmt.Sprintf("shows %s, written by op %d, which failed", v, x.ID)
	}
	return fmt.Sprintf("shows %s, written by op %d, acknowledged at %.3fs, before the lost write began", v, x.ID, seconds(x.Return))
}
