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
// Values are unique, so "older" needs no guess; an unknown write counts as
// ended when the first operation that observed it ended. A stale read is a
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
	issued, okReads, stale, unwritten := 0, 0, 0, 0
	seen := map[string]int64{}
	for key, idx := range byKey(in.Ops) {
		if ctx.Err() != nil {
			break
		}
		observations(in.Ops, idx, seen)
		// end[v]: when the write of v certainly had taken effect.
		end := map[string]int64{}
		var acked []*history.Op // ok writes and cas, by return
		for _, i := range idx {
			op := &in.Ops[i]
			if op.F == history.FRead {
				continue
			}
			switch op.Type {
			case history.OK:
				end[op.Value] = op.Return
				acked = append(acked, op)
			case history.Info:
				if t, ok := seen[op.Value]; ok {
					end[op.Value] = max(t, op.Call)
				}
			}
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
			since := int64(-1 << 63) // the initial value precedes everything
			if op.Value != "" {
				t, ok := end[op.Value]
				if !ok {
					unwritten++ // no write of it took effect: the linearizability check reports it
					continue
				}
				since = t
			}
			// The acknowledged writes that returned before the read began.
			k, _ := slices.BinarySearchFunc(acked, op.Call, func(w *history.Op, t int64) int { return cmp.Compare(w.Return, t) })
			if k == 0 || latest[k-1].Call <= since {
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
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
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
