package revisions

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// op builds a completed operation: f on key with value, [call, ret], and
// version v ("" for none).
func op(id uint64, f, key, value string, call, ret int64, v string) history.Op {
	o := history.Op{ID: id, F: f, Key: key, Value: value, Type: history.OK, Call: call, Return: ret, Node: "n1"}
	if v != "" {
		o.Version = []byte(v)
	}
	return o
}

func check(ops ...history.Op) checkers.Result {
	return (&Checker{}).Check(context.Background(), &checkers.Input{Ops: ops})
}

func TestValid(t *testing.T) {
	r := check(
		op(1, history.FWrite, "k", "1", 0, 10, `{"rev":2}`),
		op(2, history.FRead, "k", "1", 11, 20, `{"rev":2,"mod":2}`),
		op(3, history.FWrite, "k", "3", 15, 30, `{"rev":3}`),
		// concurrent with write 3: may see either
		op(4, history.FRead, "k", "1", 16, 25, `{"rev":2,"mod":2}`),
		op(5, history.FCAS, "j", "5", 31, 40, `{"rev":4}`),
		op(6, history.FRead, "k", "3", 41, 50, `{"rev":4,"mod":3}`),
		// a serializable read may lag
		op(7, history.FRead, "k", "1", 51, 60, `{"rev":2,"mod":2,"ser":true}`),
	)
	if r.Verdict != checkers.Valid {
		t.Fatalf("%s: %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
}

func TestSkippedWithoutVersions(t *testing.T) {
	if r := check(op(1, history.FWrite, "k", "1", 0, 10, "")); r.Verdict != checkers.Skipped {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
}

func wantRule(t *testing.T, r checkers.Result, rule string) {
	t.Helper()
	if r.Verdict != checkers.Invalid || r.Stats[rule] == 0 {
		t.Fatalf("want invalid by %s, got %s: %s (%v)", rule, r.Verdict, r.Summary, r.Stats)
	}
}

func TestDuplicatedRevision(t *testing.T) {
	wantRule(t, check(
		op(1, history.FWrite, "k", "1", 0, 10, `{"rev":5}`),
		op(2, history.FWrite, "j", "2", 0, 10, `{"rev":5}`),
	), RuleDuplicateWrite)
}

func TestRevisionGoesBack(t *testing.T) {
	wantRule(t, check(
		op(1, history.FWrite, "k", "1", 0, 10, `{"rev":7}`),
		op(2, history.FRead, "j", "", 20, 30, `{"rev":6}`),
	), RuleRealTime)
}

func TestTwoValuesAtOneMod(t *testing.T) {
	// Two members hold different values under the same mod revision: one
	// applied an entry the other did not (per-member reads are
	// serializable, which does not exempt them from this rule).
	wantRule(t, check(
		op(1, history.FRead, "k", "a", 0, 10, `{"rev":9,"mod":8,"ser":true}`),
		op(2, history.FRead, "k", "b", 0, 10, `{"rev":9,"mod":8,"ser":true}`),
	), RuleValuePerMod)
	wantRule(t, check(
		op(1, history.FWrite, "k", "a", 0, 10, `{"rev":8}`),
		op(2, history.FRead, "k", "b", 20, 30, `{"rev":9,"mod":8}`),
	), RuleValuePerMod)
}

func TestReadOlderThanWrite(t *testing.T) {
	wantRule(t, check(
		op(1, history.FWrite, "k", "a", 0, 10, `{"rev":3}`),
		op(2, history.FWrite, "k", "b", 11, 20, `{"rev":8}`),
		op(3, history.FRead, "k", "a", 21, 30, `{"rev":9,"mod":3}`),
	), RuleStaleMod)
}

// Property: a history generated from a correct sequential store (each
// operation takes effect at a point inside its interval, revisions assigned
// in that order) is always valid, whatever the overlaps.
func TestPropertyCorrectStoreIsValid(t *testing.T) {
	for seed := range uint64(200) {
		rnd := rand.New(rand.NewPCG(seed, 1))
		type point struct {
			at  int64
			idx int
		}
		var ops []history.Op
		n := 5 + rnd.IntN(40)
		for i := range n {
			call := rnd.Int64N(1000)
			ops = append(ops, history.Op{ID: uint64(i), Call: call, Return: call + 1 + rnd.Int64N(100), Type: history.OK, Key: fmt.Sprintf("k%d", rnd.IntN(3))})
		}
		// linearization points in call..return, applied in order
		pts := make([]point, n)
		for i := range ops {
			pts[i] = point{ops[i].Call + rnd.Int64N(ops[i].Return-ops[i].Call), i}
		}
		for a := range pts {
			for b := a + 1; b < len(pts); b++ {
				if pts[b].at < pts[a].at {
					pts[a], pts[b] = pts[b], pts[a]
				}
			}
		}
		rev := int64(1)
		type kv struct {
			v   string
			mod int64
		}
		store := map[string]kv{}
		for _, p := range pts {
			o := &ops[p.idx]
			if rnd.IntN(2) == 0 {
				rev++
				o.F, o.Value = history.FWrite, fmt.Sprint(o.ID)
				store[o.Key] = kv{o.Value, rev}
				o.Version = []byte(fmt.Sprintf(`{"rev":%d}`, rev))
			} else {
				o.F = history.FRead
				cur := store[o.Key]
				o.Value = cur.v
				o.Version = []byte(fmt.Sprintf(`{"rev":%d,"mod":%d}`, rev, cur.mod))
			}
		}
		if r := check(ops...); r.Verdict != checkers.Valid {
			t.Fatalf("seed %d: %s: %s", seed, r.Verdict, r.Explanation)
		}
	}
}
