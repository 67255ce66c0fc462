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

// StaleReads counts, per node, the reads that returned a value older than
// one already acknowledged before the read began: the read's value was
// written by an operation that certainly ended before some acknowledged
// write began, and that write was acknowledged before the read was invoked.
// With a value written once, "older" needs no guess, and an unknown write
// counts as ended when the first operation that observed it ended. A value
// written more than once may have come from any of its writes invoked
// before the read returned: the read is stale only if every one of them is
// older, and one with an unknown outcome (not ended by a read that can only
// have seen it) may have taken effect at any time, so it never is. A stale read is a
// linearizability violation too; this check says which nodes served them and
// how far behind.
type StaleReads struct {
	// MaxExamples caps the stale reads described (default 10).
	MaxExamples int
}

func (s *StaleReads) Name() string { return "stale-reads" }

// StaleDetails is the stale-reads checker's finding.
type StaleDetails struct {
	ByNode   []NodeStaleness `json:"by_node"`
	Examples []StaleRead     `json:"examples,omitempty"`
}

// NodeStaleness is one node's reads.
type NodeStaleness struct {
	Node  string `json:"node"`
	Reads int    `json:"reads"` // ok reads served
	Stale int    `json:"stale"`
	// BehindMS is the most a stale read began after the newer write was
	// acknowledged: it was at least this stale.
	BehindMS float64 `json:"max_behind_ms,omitempty"`
}

// StaleRead is one stale read and the newer acknowledged write it missed.
type StaleRead struct {
	Key      string    `json:"key"`
	Read     WitnessOp `json:"read"`
	Missed   WitnessOp `json:"missed_write"`
	BehindMS float64   `json:"behind_ms"`
}

func (s *StaleReads) Check(ctx context.Context, in *Input) Result {
	start := time.Now()
	maxEx := s.MaxExamples
	if maxEx <= 0 {
		maxEx = 10
	}
	r := Result{Checker: s.Name(), Stats: map[string]int{}}
	nodes := map[string]*NodeStaleness{}
	var examples []StaleRead
	issued, okReads, stale, unwritten, repeated, repeatedReads, undecided := 0, 0, 0, 0, 0, 0, 0
	var vals values
	for key, k := range groupByKey(in.Ops) {
		if ctx.Err() != nil {
			break
		}
		idx := k.idx
		vals.index(in.Ops, k)
		repeated += vals.repeated
		// end[v]: when the one write of v certainly had taken effect.
		end := map[string]int64{}
		// The writes of each repeated value, by call (see since).
		var multi map[string]*valueWriters
		var acked []*history.Op // ok writes and cas, by return
		for _, i := range idx {
			op := &in.Ops[i]
			if op.F != history.FWrite && op.F != history.FCAS || op.Type == history.Fail {
				continue
			}
			t, known := op.Return, true
			if op.Type == history.OK {
				acked = append(acked, op)
			} else if c, fate := vals.unknown(op, i); fate == capped {
				t = c
			} else {
				t, known = forever, false
			}
			if vals.writers(op.Value) > 1 {
				if multi == nil {
					multi = map[string]*valueWriters{}
				}
				w := multi[op.Value]
				if w == nil {
					w = &valueWriters{}
					if op.Value == "" { // the initial value, before everything
						w.add(never, never, true)
					}
					multi[op.Value] = w
				}
				w.add(op.Call, t, known)
			} else if known {
				end[op.Value] = t
			}
		}
		for _, w := range multi {
			w.sort()
		}
		slices.SortFunc(acked, func(a, b *history.Op) int { return cmp.Compare(a.Return, b.Return) })
		// latest[i]: of acked[:i+1], the one that began last.
		latest := make([]*history.Op, len(acked))
		for i, w := range acked {
			latest[i] = w
			if i > 0 && latest[i-1].Call > w.Call {
				latest[i] = latest[i-1]
			}
		}
		for _, i := range idx {
			op := &in.Ops[i]
			if op.F != history.FRead {
				continue
			}
			issued++
			if op.Type != history.OK {
				continue
			}
			okReads++
			n := nodes[op.Node]
			if n == nil {
				n = &NodeStaleness{Node: op.Node}
				nodes[op.Node] = n
			}
			n.Reads++
			since, sinceKnown := int64(never), int64(never) // the initial value precedes everything
			if w := multi[op.Value]; w != nil {
				// Any write of the value invoked before the read returned may
				// be the one it saw: it is stale only if all of them are
				// certainly older, and one whose outcome is unknown may have
				// taken effect at any time.
				repeatedReads++
				var found bool
				if since, sinceKnown, found = w.since(op.Return); !found {
					unwritten++
					continue
				}
			} else if op.Value != "" {
				t, ok := end[op.Value]
				if !ok {
					unwritten++ // no write of it took effect: the linearizability check reports it
					continue
				}
				since, sinceKnown = t, t
			}
			// The acknowledged writes that returned before the read began.
			k, _ := slices.BinarySearchFunc(acked, op.Call, func(w *history.Op, t int64) int { return cmp.Compare(w.Return, t) })
			if k == 0 || latest[k-1].Call <= since {
				if k > 0 && latest[k-1].Call > sinceKnown {
					undecided++ // stale unless an unknown write of the same value took effect late
				}
				continue
			}
			w := latest[k-1]
			behind := float64((op.Call-w.Return)/1e3) / 1e3 // ms, to the microsecond
			stale++
			n.Stale++
			n.BehindMS = max(n.BehindMS, behind)
			if len(examples) < maxEx {
				examples = append(examples, StaleRead{Key: key, Read: opWitness(op), Missed: opWitness(w), BehindMS: behind})
			}
		}
	}
	var d StaleDetails
	for _, n := range nodes {
		d.ByNode = append(d.ByNode, *n)
	}
	slices.SortFunc(d.ByNode, func(a, b NodeStaleness) int { return naturalCompare(a.Node, b.Node) })
	slices.SortFunc(examples, func(a, b StaleRead) int { return cmp.Compare(a.Read.CallS, b.Read.CallS) })
	d.Examples = examples
	r.Details = d
	r.Stats["reads"], r.Stats["ok_reads"], r.Stats["stale_reads"] = issued, okReads, stale
	if unwritten > 0 {
		r.Stats["reads_of_values_never_written"] = unwritten
	}
	if repeated > 0 {
		r.Stats["repeated_values"], r.Stats["reads_of_repeated_values"] = repeated, repeatedReads
		r.Stats["reads_undecided_repeated_values"] = undecided
	}
	var per []string
	for _, n := range d.ByNode {
		per = append(per, fmt.Sprintf("%s %d/%d", orNone(n.Node), n.Stale, n.Reads))
	}
	switch {
	case ctx.Err() != nil:
		r.Verdict, r.Summary = Unknown, "cancelled: "+ctx.Err().Error()
	case issued == 0:
		r.Verdict, r.Summary = Skipped, "the workload made no reads"
	case okReads == 0:
		r.Verdict, r.Summary = Unknown, fmt.Sprintf("none of %d reads succeeded: staleness cannot be judged", issued)
	case stale > 0:
		r.Verdict = Invalid
		r.Summary = fmt.Sprintf("%d of %d ok reads were stale (per node, stale/reads: %s)", stale, okReads, strings.Join(per, ", "))
		var lines []string
		for _, e := range examples {
			lines = append(lines, fmt.Sprintf("key %s: %s on %s at %.3fs began %.1f ms after %s was acknowledged (node %s, op %d)",
				e.Key, e.Read.Op, orNone(e.Read.Node), e.Read.CallS, e.BehindMS, e.Missed.Op, orNone(e.Missed.Node), e.Missed.ID))
		}
		if stale > len(examples) {
			lines = append(lines, fmt.Sprintf("... and %d more", stale-len(examples)))
		}
		r.Explanation = strings.Join(lines, "\n")
	default:
		r.Verdict = Valid
		r.Summary = fmt.Sprintf("no stale read among %d ok reads (per node: %s)", okReads, strings.Join(per, ", "))
	}
	if undecided > 0 && r.Verdict != Unknown {
		r.Summary += fmt.Sprintf("; %d reads of values written more than once would be stale unless an unknown write of the same value took effect late, which cannot be ruled out: not counted", undecided)
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
}

// valueWriters are the writes of one value that repeats, by call, with the
// latest time each prefix of them certainly had taken effect by: all of
// them (ends), and those whose outcome is known or bounded (known).
type valueWriters struct {
	calls, ends, known []int64
}

func (w *valueWriters) add(call, end int64, known bool) {
	k := end
	if !known {
		k = never
	}
	w.calls, w.ends, w.known = append(w.calls, call), append(w.ends, end), append(w.known, k)
}

func (w *valueWriters) sort() {
	idx := make([]int, len(w.calls))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(w.calls[a], w.calls[b]) })
	calls, ends, known := make([]int64, len(idx)), make([]int64, len(idx)), make([]int64, len(idx))
	for n, i := range idx {
		calls[n], ends[n], known[n] = w.calls[i], w.ends[i], w.known[i]
		if n > 0 {
			ends[n], known[n] = max(ends[n], ends[n-1]), max(known[n], known[n-1])
		}
	}
	w.calls, w.ends, w.known = calls, ends, known
}

// since returns, for a read that returned at ret, the latest time one of
// the writes it may have seen (those invoked by ret) had certainly taken
// effect by; sinceKnown is the same over the writes not left open.
func (w *valueWriters) since(ret int64) (since, sinceKnown int64, found bool) {
	k, _ := slices.BinarySearchFunc(w.calls, ret+1, cmp.Compare[int64])
	if k == 0 {
		return 0, 0, false
	}
	return w.ends[k-1], w.known[k-1], true
}

// opWitness describes a history operation as in explanations.
func opWitness(op *history.Op) WitnessOp {
	in := &RegisterInput{F: op.F, Value: op.Value, From: op.From}
	out := &RegisterOutput{}
	if op.F == history.FRead {
		in.Value, out.Value = "", op.Value
	}
	w := WitnessOp{ID: op.ID, Process: op.Process.String(), Node: op.Node, Op: describeOp(in, out),
		Outcome: op.Type.String(), CallS: seconds(op.Call), ReturnS: -1}
	if op.Return >= 0 {
		w.ReturnS = seconds(op.Return)
	}
	return w
}

func orNone(node string) string {
	if node == "" {
		return "(no node)"
	}
	return node
}
