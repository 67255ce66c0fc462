package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// setOp is an add (elems nil) of v, or a read returning elems.
func setOp(id uint64, p int, v string, elems []string, call, ret int64, t history.Type) history.Op {
	o := history.Op{ID: id, Process: history.Process(p), F: FAdd, Key: "s", Value: v, Call: call, Return: ret, Type: t, Node: "n1"}
	if elems != nil {
		o.F, o.Value = history.FRead, ""
		o.Data, _ = json.Marshal(elems)
	}
	return o
}

func setCheck(t *testing.T, ops []history.Op, spanOps int) Result {
	t.Helper()
	return (&Linearizable{Model: Sets, Budget: 10 * time.Second, SpanOps: spanOps}).Check(context.Background(), &Input{Ops: ops})
}

func TestSetHandBuilt(t *testing.T) {
	none := []string{}
	for _, c := range []struct {
		name    string
		ops     []history.Op
		want    Verdict
		witness []uint64 // the minimal witness, for invalid ones
	}{
		{"concurrent reads see either", []history.Op{
			setOp(1, 0, "1", nil, 0, 10, history.OK), setOp(2, 1, "2", nil, 5, 15, history.OK),
			setOp(3, 2, "", []string{"1"}, 6, 12, history.OK), setOp(4, 2, "", []string{"2", "1"}, 20, 30, history.OK),
		}, Valid, nil},
		{"an unknown add may have happened", []history.Op{
			setOp(1, 0, "3", nil, 0, -1, history.Info), setOp(2, 1, "", none, 5, 8, history.OK),
			setOp(3, 1, "", []string{"3"}, 20, 30, history.OK),
		}, Valid, nil},
		{"failed reads carry nothing", []history.Op{
			setOp(1, 0, "1", nil, 0, 10, history.OK), setOp(2, 1, "", []string{"9"}, 20, 30, history.Fail),
		}, Valid, nil},
		{"a completed add is missing", []history.Op{
			setOp(1, 0, "1", nil, 0, 10, history.OK), setOp(2, 1, "2", nil, 0, 10, history.OK),
			setOp(3, 1, "", []string{"2"}, 20, 30, history.OK),
		}, Invalid, []uint64{1, 2, 3}}, // add(2) leaves only with the read of 2
		{"a later read misses an add it must see", []history.Op{
			setOp(1, 0, "1", nil, 0, 5, history.OK), setOp(2, 1, "2", nil, 0, 5, history.OK),
			setOp(3, 2, "", []string{"1", "2"}, 0, 10, history.OK), setOp(4, 2, "", []string{"1"}, 20, 30, history.OK),
		}, Invalid, []uint64{1, 2, 4}},
		{"a failed add was read", []history.Op{
			setOp(1, 0, "4", nil, 0, 10, history.Fail), setOp(2, 1, "", []string{"4"}, 20, 30, history.OK),
		}, Invalid, []uint64{2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := setCheck(t, c.ops, 0)
			if r.Checker != "linearizable-set" || r.Verdict != c.want {
				t.Fatalf("%s says %s, want %s: %s\n%s", r.Checker, r.Verdict, c.want, r.Summary, r.Explanation)
			}
			if c.want != Invalid {
				return
			}
			keys := r.Details.(LinearizableDetails).Keys
			if len(keys) != 1 || !keys[0].Minimal || !keys[0].Standalone {
				t.Fatalf("details %+v", keys)
			}
			var ids []uint64
			for _, w := range keys[0].Witness {
				ids = append(ids, w.ID)
			}
			if !slices.Equal(ids, c.witness) {
				t.Fatalf("witness %v, want %v:\n%s", ids, c.witness, r.Explanation)
			}
			if !strings.Contains(r.Explanation, "read() -> {") {
				t.Fatalf("explanation does not describe set reads:\n%s", r.Explanation)
			}
		})
	}
}

// genSets is a random history of adds and reads on a few sets, linearizable
// by construction (each operation takes effect at a random point of its
// interval), then maybe damaged: one read loses or gains an element.
func genSets(rnd *rand.Rand, n, keys, clients int, unknown float64) []history.Op {
	type pending struct {
		op history.Op
		at int64
	}
	var ps []pending
	busy := make([]int64, clients)
	for i := range n {
		c := rnd.IntN(clients)
		call := busy[c] + int64(rnd.IntN(5))
		ret := call + 1 + int64(rnd.IntN(20))
		busy[c] = ret + 1
		o := history.Op{ID: uint64(i + 1), Process: history.Process(c), Key: fmt.Sprintf("k%d", rnd.IntN(keys)), Call: call, Return: ret, Type: history.OK}
		if rnd.IntN(2) == 0 {
			o.F, o.Value = FAdd, fmt.Sprint(rnd.IntN(n/2+1))
		} else {
			o.F = history.FRead
		}
		ps = append(ps, pending{o, call + rnd.Int64N(ret-call+1)})
	}
	slices.SortStableFunc(ps, func(a, b pending) int { return int(a.at - b.at) })
	state := map[string]map[string]bool{}
	var ops []history.Op
	for _, p := range ps {
		o := p.op
		s := state[o.Key]
		if s == nil {
			s = map[string]bool{}
			state[o.Key] = s
		}
		if o.F == FAdd {
			if rnd.Float64() < unknown {
				o.Type, o.Return = history.Info, -1
				if rnd.IntN(2) == 0 {
					ops = append(ops, o) // never took effect
					continue
				}
			}
			s[o.Value] = true
		} else {
			elems := []string{}
			for e := range s {
				elems = append(elems, e)
			}
			o.Data, _ = json.Marshal(elems)
		}
		ops = append(ops, o)
	}
	slices.SortStableFunc(ops, func(a, b history.Op) int { return int(a.Call - b.Call) })
	return ops
}

// rawSets checks ops with porcupine directly: one search per key (its
// Partition), unknown adds open to the end of time, failed ones dropped.
func rawSets(ops []history.Op) porcupine.CheckResult {
	var hist []porcupine.Operation
	keys := map[string]int{}
	for _, o := range ops {
		in, out, keep := Sets.Operation(&o)
		if !keep {
			continue
		}
		if _, ok := keys[o.Key]; !ok {
			keys[o.Key] = len(keys)
		}
		ret := o.Return
		if o.Type != history.OK {
			ret = 1 << 62
		}
		hist = append(hist, porcupine.Operation{ClientId: int(o.Process), Input: in, Call: o.Call, Output: out, Return: ret,
			Metadata: keys[o.Key]})
	}
	m := Sets.Porcupine()
	m.Partition = func(h []porcupine.Operation) [][]porcupine.Operation {
		parts := make([][]porcupine.Operation, len(keys))
		for _, op := range h {
			parts[op.Metadata.(int)] = append(parts[op.Metadata.(int)], op)
		}
		return parts
	}
	return porcupine.CheckOperationsTimeout(m, hist, 20*time.Second)
}

// The set model through the bounded search agrees with raw porcupine, on
// generated histories linearizable and damaged.
func TestSetAgreesWithRawPorcupine(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	counts := map[Verdict]int{}
	for seed := range uint64(n) {
		rnd := rand.New(rand.NewPCG(seed, 13))
		ops := genSets(rnd, 10+rnd.IntN(50), 1+rnd.IntN(3), 2+rnd.IntN(4), 0.2*rnd.Float64())
		if seed%2 == 1 { // damage one read: drop an element or add one
			for _, i := range rnd.Perm(len(ops)) {
				if o := &ops[i]; o.F == history.FRead && o.Type == history.OK {
					var elems []string
					_ = json.Unmarshal(o.Data, &elems)
					if len(elems) > 0 && rnd.IntN(2) == 0 {
						elems = elems[1:]
					} else {
						elems = append(elems, fmt.Sprint(rnd.IntN(len(ops))))
					}
					o.Data, _ = json.Marshal(elems)
					break
				}
			}
		}
		want := rawSets(ops)
		if want == porcupine.Unknown {
			continue
		}
		r := setCheck(t, ops, []int{1, 2, 8, 64}[rnd.IntN(4)])
		if r.Verdict == Unknown || (r.Verdict == Valid) != (want == porcupine.Ok) {
			t.Fatalf("seed %d: ours %s, raw porcupine %s\n%s", seed, r.Verdict, want, r.Explanation)
		}
		if seed%2 == 0 && r.Verdict != Valid {
			t.Fatalf("seed %d: an undamaged history is %s", seed, r.Verdict)
		}
		counts[r.Verdict]++
	}
	t.Logf("verdicts: %v", counts)
	if counts[Valid] < n/4 || counts[Invalid] < n/10 {
		t.Errorf("too one-sided to mean much: %v", counts)
	}
}

// A violation in a later span is reported from the state the spans before
// it carried, and its witness stands alone with the adds it needs.
func TestSetViolationAcrossSpans(t *testing.T) {
	var ops []history.Op
	for i := range 10 {
		at := int64(i) * 100
		ops = append(ops, setOp(uint64(2*i+1), 0, fmt.Sprint(i), nil, at, at+10, history.OK))
	}
	// At 1000 the set holds 0..9; a read misses 3.
	ops = append(ops, setOp(100, 1, "", []string{"0", "1", "2", "4", "5", "6", "7", "8", "9"}, 1000, 1010, history.OK))
	r := setCheck(t, ops, 2)
	if r.Verdict != Invalid || r.Stats["spans"] < 3 {
		t.Fatalf("%s (%d spans): %s", r.Verdict, r.Stats["spans"], r.Summary)
	}
	k := r.Details.(LinearizableDetails).Keys[0]
	if k.Decided == 0 || len(k.PossibleValues) != 1 || !strings.Contains(k.PossibleValues[0], "3") {
		t.Fatalf("report %+v", k)
	}
	var ids []uint64
	for _, w := range k.Witness {
		ids = append(ids, w.ID)
	}
	// From the start: the adds (the read saw all but add(3), and an add
	// leaves only with the reads of its value) and the read.
	if !k.Minimal || !k.Standalone || len(ids) != 11 || !slices.Contains(ids, 7) || ids[10] != 100 {
		t.Fatalf("witness %v (minimal %v standalone %v):\n%s", ids, k.Minimal, k.Standalone, r.Explanation)
	}
}
