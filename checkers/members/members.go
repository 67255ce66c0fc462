// Package members is the members-agree checker: after the faults are
// healed and the cluster was quiet, every member was asked for its own view
// (per-member reads of every key the run wrote, and the system's
// consistency probe, recorded as final operations by the workload's final
// phase). Two members that disagree on data at the same version are a
// divergence the cluster's linearizable reads may never show: the quorum
// answers, and the divergent member's data waits for the next failover.
package members

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/revisions"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// Name is the checker's registered name.
const Name = "members-agree"

// Checker is the members-agree checker.
type Checker struct{}

var _ checkers.Checker = (*Checker)(nil)

func (*Checker) Name() string { return Name }

// Difference is the first disagreement found between two members.
type Difference struct {
	// Members are the two members' names.
	Members [2]string `json:"members"`
	Key     string    `json:"key,omitempty"`
	// Revision is the version both answered at.
	Revision int64  `json:"revision"`
	Detail   string `json:"detail"`
}

type view struct {
	value string
	v     revisions.Version
	id    uint64
}

func (c *Checker) Check(ctx context.Context, in *checkers.Input) checkers.Result {
	start := time.Now()
	r := checkers.Result{Checker: Name, Stats: map[string]int{}}
	reads := map[string]map[string]view{} // node -> key -> view
	probes := map[string]targets.MemberProbe{}
	asked := 0
	for i := range in.Ops {
		op := &in.Ops[i]
		switch op.F {
		case targets.FMemberRead:
			asked++
			if op.Type != history.OK {
				continue
			}
			v, _ := revisions.Parse(op.Version)
			if reads[op.Node] == nil {
				reads[op.Node] = map[string]view{}
			}
			reads[op.Node][op.Key] = view{op.Value, v, op.ID}
		case targets.FMemberProbe:
			asked++
			if op.Type != history.OK {
				continue
			}
			var p targets.MemberProbe
			if json.Unmarshal(op.Data, &p) == nil {
				probes[op.Node] = p
			}
		}
	}
	if asked == 0 {
		r.Verdict = checkers.Skipped
		r.Summary = "no per-member reads in the history (the target cannot read per member, or the run ended before its final phase)"
		return r
	}
	nodes := make([]string, 0, len(reads)+len(probes))
	for n := range reads {
		nodes = append(nodes, n)
	}
	for n := range probes {
		if reads[n] == nil {
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	r.Stats["members"] = len(nodes)
	if len(nodes) == 1 && singleMember(in.Ops) {
		r.Verdict = checkers.Skipped
		r.Summary = "a single-member cluster: no peers to agree with"
		return r
	}
	r.Stats["probes"] = len(probes)
	var diffs []Difference
	// The probe: equal data at one revision hashes equally.
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			a, b := nodes[i], nodes[j]
			pa, oka := probes[a]
			pb, okb := probes[b]
			comparable := oka && okb && pa.HashRevision > 0 && pa.HashRevision == pb.HashRevision && pa.Whole == pb.Whole &&
				(!pa.Whole || pa.RaftIndex == pb.RaftIndex)
			// One applied index, two revisions: the same entries applied
			// gave different stores (an entry skipped or applied twice), a
			// divergence the hashes, taken at different revisions, miss.
			if oka && okb && pa.Applied && pb.Applied && pa.RaftIndex > 0 && pa.RaftIndex == pb.RaftIndex && pa.Revision != pb.Revision {
				diffs = append(diffs, Difference{Members: [2]string{a, b}, Revision: min(pa.Revision, pb.Revision),
					Detail: fmt.Sprintf("members %s and %s applied the same raft entries (index %d) but are at revisions %d and %d: one of them skipped or repeated %d write(s)",
						a, b, pa.RaftIndex, pa.Revision, pb.Revision, max(pa.Revision-pb.Revision, pb.Revision-pa.Revision))})
				continue
			}
			if comparable && pa.Hash != pb.Hash {
				diffs = append(diffs, Difference{Members: [2]string{a, b}, Revision: pa.HashRevision,
					Detail: fmt.Sprintf("members %s and %s hash their key space differently at revision %d (%d vs %d; raft index %d vs %d, latest revision %d vs %d)",
						a, b, pa.HashRevision, pa.Hash, pb.Hash, pa.RaftIndex, pb.RaftIndex, pa.Revision, pb.Revision)})
			}
		}
	}
	// The per-member reads: at the same header revision, every key must
	// hold the same value at the same mod revision.
	compared := 0
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			a, b := nodes[i], nodes[j]
			keys := make([]string, 0, len(reads[a]))
			for k := range reads[a] {
				if _, ok := reads[b][k]; ok {
					keys = append(keys, k)
				}
			}
			slices.SortFunc(keys, cmp.Compare)
			for _, k := range keys {
				va, vb := reads[a][k], reads[b][k]
				if va.v.Rev == 0 || va.v.Rev != vb.v.Rev {
					continue // one lags the other: the probe compares them
				}
				compared++
				if va.value != vb.value || va.v.Mod != vb.v.Mod {
					diffs = append(diffs, Difference{Members: [2]string{a, b}, Key: k, Revision: va.v.Rev,
						Detail: fmt.Sprintf("at revision %d, member %s holds %s = %s (mod revision %d, read %d) and member %s holds %s (mod revision %d, read %d)",
							va.v.Rev, a, k, show(va.value), va.v.Mod, va.id, b, show(vb.value), vb.v.Mod, vb.id)})
					break // the first difference of this pair
				}
			}
		}
	}
	r.Stats["keys_compared"] = compared
	r.ElapsedMS = time.Since(start).Milliseconds()
	if len(diffs) > 0 {
		r.Verdict = checkers.Invalid
		r.Summary = fmt.Sprintf("members disagree: %s", diffs[0].Detail)
		var lines []string
		for _, d := range diffs {
			lines = append(lines, d.Detail)
			if d.Key != "" && !slices.Contains(r.InvalidKeys, d.Key) {
				r.InvalidKeys = append(r.InvalidKeys, d.Key)
			}
		}
		r.Explanation = "after healing and a quiet period each member was asked for its own data:\n  " + strings.Join(lines, "\n  ")
		r.Details = diffs
		return r
	}
	if len(nodes) < 2 || compared == 0 && len(probes) < 2 {
		r.Verdict = checkers.Unknown
		r.Summary = fmt.Sprintf("fewer than two members answered at a common version (%d answered)", len(nodes))
		return r
	}
	r.Verdict = checkers.Valid
	r.Summary = fmt.Sprintf("%d members agree: %d key reads compared at equal revisions, %d probes", len(nodes), compared, len(probes))
	return r
}

func show(v string) string {
	if v == "" {
		return "(absent)"
	}
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return fmt.Sprintf("%q", v)
}

// singleMember reports whether every member-read and probe was asked of
// one node: the cluster has one member (a failed answer of another member
// still names it).
func singleMember(ops []history.Op) bool {
	node := ""
	for i := range ops {
		if f := ops[i].F; f == targets.FMemberRead || f == targets.FMemberProbe {
			if node != "" && ops[i].Node != node {
				return false
			}
			node = ops[i].Node
		}
	}
	return true
}
