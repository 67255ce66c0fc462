// Package revisions is the etcd-revisions checker: it holds a register
// history to the revisions the system reported with each operation
// (history.Op.Version, {"rev":R,"mod":M,"ser":true} as etcd's client records
// it), which catches what values alone cannot: a member that applied
// entries twice or skipped some returns plausible values, but its
// revisions disagree with the others'.
//
// It checks, over every operation whose completion carries a revision:
//
//   - writes' revisions are unique: each acknowledged put or successful
//     compare-and-set created its own revision;
//   - one value per key per mod revision: every read of a key at mod
//     revision M saw the same value, and it is the value of the write that
//     created M when that write is known;
//   - revisions increase with real time for linearizable operations: an
//     operation that completed before another began has a header revision
//     no greater than the other's (serializable reads are exempt: they are
//     one member's local view);
//   - a linearizable read of a key that began after a write of it was
//     acknowledged sees a mod revision at least the write's.
package revisions

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// Name is the checker's registered name.
const Name = "etcd-revisions"

// Version is what the client recorded with an operation.
type Version struct {
	Rev          int64 `json:"rev"`
	Mod          int64 `json:"mod,omitempty"`
	Serializable bool  `json:"ser,omitempty"`
}

// Parse reads a recorded version; ok is false when there is none.
func Parse(raw json.RawMessage) (Version, bool) {
	if len(raw) == 0 {
		return Version{}, false
	}
	var v Version
	if err := json.Unmarshal(raw, &v); err != nil || v.Rev <= 0 {
		return Version{}, false
	}
	return v, true
}

// Checker is the etcd-revisions checker.
type Checker struct {
	// MaxExamples caps the violations described (default 10).
	MaxExamples int
}

var _ checkers.Checker = (*Checker)(nil)

func (*Checker) Name() string { return Name }

// Violation is one inconsistency between revisions, values and time.
type Violation struct {
	Rule string `json:"rule"`
	Key  string `json:"key,omitempty"`
	// A and B are the two operations that disagree (ids in history.jsonl).
	A      uint64 `json:"a"`
	B      uint64 `json:"b"`
	Detail string `json:"detail"`
}

// Rules.
const (
	RuleDuplicateWrite = "duplicate-write-revision"
	RuleValuePerMod    = "one-value-per-mod-revision"
	RuleRealTime       = "revision-goes-back-in-real-time"
	RuleStaleMod       = "read-older-than-acknowledged-write"
)

type vop struct {
	op *history.Op
	v  Version
}

func isWrite(op *history.Op) bool {
	return op.Type == history.OK && (op.F == history.FWrite || op.F == history.FCAS)
}

func (c *Checker) Check(ctx context.Context, in *checkers.Input) checkers.Result {
	start := time.Now()
	maxEx := c.MaxExamples
	if maxEx <= 0 {
		maxEx = 10
	}
	r := checkers.Result{Checker: Name, Stats: map[string]int{}}
	var ops []vop
	for i := range in.Ops {
		op := &in.Ops[i]
		if op.Return < 0 || op.Type == history.Info {
			continue
		}
		if v, ok := Parse(op.Version); ok {
			ops = append(ops, vop{op, v})
		}
	}
	r.Stats["operations"] = len(ops)
	if len(ops) == 0 {
		r.Verdict = checkers.Skipped
		r.Summary = "no operation carries a system-reported revision (the target records none)"
		return r
	}
	var found []Violation
	total := map[string]int{}
	add := func(v Violation) {
		total[v.Rule]++
		if len(found) < maxEx {
			found = append(found, v)
		}
	}

	// Writes' revisions are unique; and the write that created each
	// (key, revision).
	writeAt := map[int64]*history.Op{}
	for _, o := range ops {
		if !isWrite(o.op) {
			continue
		}
		if prev, dup := writeAt[o.v.Rev]; dup {
			add(Violation{Rule: RuleDuplicateWrite, Key: o.op.Key, A: prev.ID, B: o.op.ID,
				Detail: fmt.Sprintf("writes %d (key %s) and %d (key %s) both report revision %d", prev.ID, prev.Key, o.op.ID, o.op.Key, o.v.Rev)})
			continue
		}
		writeAt[o.v.Rev] = o.op
	}

	// One value per key per mod revision.
	type km struct {
		key string
		mod int64
	}
	seen := map[km]*history.Op{}
	for _, o := range ops {
		op := o.op
		if op.F != history.FRead || op.Type != history.OK || o.v.Mod == 0 {
			continue
		}
		if w, ok := writeAt[o.v.Mod]; ok && w.Key == op.Key && w.Value != op.Value {
			add(Violation{Rule: RuleValuePerMod, Key: op.Key, A: w.ID, B: op.ID,
				Detail: fmt.Sprintf("write %d put %q at revision %d, read %d (node %s) saw %q at that mod revision", w.ID, w.Value, o.v.Mod, op.ID, op.Node, op.Value)})
			continue
		}
		k := km{op.Key, o.v.Mod}
		if prev, ok := seen[k]; ok && prev.Value != op.Value {
			add(Violation{Rule: RuleValuePerMod, Key: op.Key, A: prev.ID, B: op.ID,
				Detail: fmt.Sprintf("reads %d (node %s) and %d (node %s) of %s at mod revision %d saw %q and %q", prev.ID, prev.Node, op.ID, op.Node, op.Key, o.v.Mod, prev.Value, op.Value)})
			continue
		}
		if _, ok := seen[k]; !ok {
			seen[k] = op
		}
	}

	// Real time: sweep operations by call, having folded in every operation
	// that returned before it.
	var lin []vop
	for _, o := range ops {
		if !o.v.Serializable {
			lin = append(lin, o)
		}
	}
	byCall := slices.Clone(lin)
	slices.SortFunc(byCall, func(a, b vop) int { return cmp.Compare(a.op.Call, b.op.Call) })
	byRet := lin
	slices.SortFunc(byRet, func(a, b vop) int { return cmp.Compare(a.op.Return, b.op.Return) })
	var maxOp *vop
	lastWrite := map[string]*vop{} // per key, the acknowledged write of highest revision returned so far
	j := 0
	for i := range byCall {
		if ctx.Err() != nil {
			r.Verdict, r.Summary = checkers.Unknown, "stopped: "+ctx.Err().Error()
			return r
		}
		b := &byCall[i]
		for ; j < len(byRet) && byRet[j].op.Return < b.op.Call; j++ {
			a := &byRet[j]
			if maxOp == nil || a.v.Rev > maxOp.v.Rev {
				maxOp = a
			}
			if isWrite(a.op) {
				if w := lastWrite[a.op.Key]; w == nil || a.v.Rev > w.v.Rev {
					lastWrite[a.op.Key] = a
				}
			}
		}
		if maxOp != nil && b.v.Rev < maxOp.v.Rev {
			add(Violation{Rule: RuleRealTime, Key: b.op.Key, A: maxOp.op.ID, B: b.op.ID,
				Detail: fmt.Sprintf("%s %d (node %s) returned revision %d, then %s %d (node %s), which began after it returned, reports revision %d",
					maxOp.op.F, maxOp.op.ID, maxOp.op.Node, maxOp.v.Rev, b.op.F, b.op.ID, b.op.Node, b.v.Rev)})
		}
		if b.op.F == history.FRead && b.op.Type == history.OK {
			if w := lastWrite[b.op.Key]; w != nil && b.v.Mod < w.v.Rev {
				add(Violation{Rule: RuleStaleMod, Key: b.op.Key, A: w.op.ID, B: b.op.ID,
					Detail: fmt.Sprintf("write %d of %s was acknowledged at revision %d, then read %d (node %s) saw mod revision %d (%q)",
						w.op.ID, b.op.Key, w.v.Rev, b.op.ID, b.op.Node, b.v.Mod, b.op.Value)})
			}
		}
	}
	r.Stats["linearizable_operations"] = len(lin)
	r.Stats["writes"] = len(writeAt)
	for k, n := range total {
		r.Stats[k] = n
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	if len(found) == 0 {
		r.Verdict = checkers.Valid
		r.Summary = fmt.Sprintf("%d operations' revisions agree with their values and real-time order (%d writes, unique revisions)", len(ops), len(writeAt))
		return r
	}
	r.Verdict = checkers.Invalid
	n := 0
	var rules []string
	for k, c := range total {
		n += c
		rules = append(rules, fmt.Sprintf("%s: %d", k, c))
	}
	slices.Sort(rules)
	r.Summary = fmt.Sprintf("%d revision violations (%s); first: %s", n, strings.Join(rules, ", "), found[0].Detail)
	var ex []string
	keys := map[string]bool{}
	for _, v := range found {
		ex = append(ex, v.Rule+": "+v.Detail)
		if v.Key != "" && !keys[v.Key] {
			keys[v.Key] = true
			r.InvalidKeys = append(r.InvalidKeys, v.Key)
		}
	}
	r.Explanation = "the revisions etcd reported contradict each other or real time:\n  " + strings.Join(ex, "\n  ")
	r.Details = found
	return r
}
