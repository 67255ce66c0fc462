package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/checkers/synth"
	"github.com/faultline/faultline/history"
)

func revOp(id uint64, f, value string, call, ret, rev, mod int64) history.Op {
	op := history.Op{ID: id, Process: history.Process(id), Key: "k", F: f, Value: value, Type: history.OK, Call: call, Return: ret}
	if rev > 0 {
		op.Version = []byte(fmt.Sprintf(`{"rev":%d,"mod":%d}`, rev, mod))
	}
	return op
}

// Concurrent operations with revisions come out of the narrowing ordered by
// them: each group returns before the next is called, inside its recorded
// interval.
func TestOrderByRevisionNarrows(t *testing.T) {
	ops := []history.Op{
		revOp(1, history.FWrite, "a", 0, 100, 3, 0),
		revOp(2, history.FWrite, "b", 10, 90, 2, 0),
		revOp(3, history.FRead, "a", 20, 110, 3, 3),
		revOp(4, history.FRead, "a", 30, 120, 3, 3),
		revOp(5, history.FWrite, "c", 40, 130, 5, 0),
	}
	keyed, _ := Prune(ops)
	rec := keyed["k"]
	got := orderByRevision(rec, revisionsOf(ops))
	if got == nil {
		t.Fatal("not narrowed")
	}
	at := map[uint64]porcupine.Operation{}
	for _, o := range got {
		at[o.Metadata.(*OpMeta).ID] = o
	}
	for _, o := range rec {
		n := at[o.Metadata.(*OpMeta).ID]
		if n.Call < o.Call || n.Return > o.Return || n.Call > n.Return {
			t.Fatalf("op %d: [%d,%d] is not inside [%d,%d]", o.Metadata.(*OpMeta).ID, n.Call, n.Return, o.Call, o.Return)
		}
	}
	// b (2) < a (3) < reads at 3 (3, 4; unordered) < c (5)
	for _, p := range [][2]uint64{{2, 1}, {1, 3}, {1, 4}, {3, 5}, {4, 5}} {
		if a, b := at[p[0]], at[p[1]]; a.Return >= b.Call {
			t.Fatalf("op %d [%d,%d] does not precede op %d [%d,%d]", p[0], a.Call, a.Return, p[1], b.Call, b.Return)
		}
	}
	if a, b := at[3], at[4]; a.Return < b.Call || b.Return < a.Call {
		t.Fatalf("reads at one revision were ordered: [%d,%d] [%d,%d]", a.Call, a.Return, b.Call, b.Return)
	}
	// Revisions that cannot be honoured leave the key as recorded.
	for name, bad := range map[string][]history.Op{
		"two writes at one revision": {revOp(1, history.FWrite, "a", 0, 100, 3, 0), revOp(2, history.FWrite, "b", 10, 90, 3, 0)},
		"real time contradicts":      {revOp(1, history.FWrite, "a", 0, 10, 3, 0), revOp(2, history.FWrite, "b", 20, 30, 2, 0)},
	} {
		keyed, _ := Prune(bad)
		if got := orderByRevision(keyed["k"], revisionsOf(bad)); got != nil {
			t.Fatalf("%s: narrowed", name)
		}
	}
}

// A history whose revisions are wrong is judged on its values alone: wrong
// revisions never make an invalid history valid (narrowing only removes
// linearizations) nor a valid one invalid (a narrowed key that fails is
// checked again as recorded).
func TestOrderByWrongRevisions(t *testing.T) {
	ctx := context.Background()
	// Valid by values: a then b, but the revisions claim b came first.
	valid := []history.Op{
		revOp(1, history.FWrite, "a", 0, 100, 3, 0),
		revOp(2, history.FWrite, "b", 10, 90, 2, 0),
		revOp(3, history.FRead, "b", 200, 210, 3, 2),
	}
	r := (&Linearizable{}).Check(ctx, &Input{Ops: valid})
	if r.Verdict != Valid || r.Stats["keys_rechecked_as_recorded"] != 1 {
		t.Fatalf("%s (%v): %s", r.Verdict, r.Stats, r.Summary)
	}
	// Invalid by values (the read saw a after b overwrote it, in real
	// time), with revisions that put the read between them.
	invalid := []history.Op{
		revOp(1, history.FWrite, "a", 0, 10, 2, 0),
		revOp(2, history.FWrite, "b", 20, 30, 4, 0),
		revOp(3, history.FRead, "a", 40, 50, 3, 2),
	}
	r = (&Linearizable{}).Check(ctx, &Input{Ops: invalid})
	if r.Verdict != Invalid {
		t.Fatalf("%s (%v): %s", r.Verdict, r.Stats, r.Summary)
	}
}

// The verdict with revision ordering is the verdict without it, and raw
// porcupine's, on random histories with revisions (etcd's: one counter
// across keys), damaged at random: values replaced (the revisions then
// disagree with them) and revisions shifted.
func TestRevisionOrderAgrees(t *testing.T) {
	n := 300
	if s := os.Getenv("FAULTLINE_PROPERTY_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		n = 60
	}
	ctx := context.Background()
	counts := map[Verdict]int{}
	ordered, rechecked := 0, 0
	for seed := range uint64(n) {
		rnd := rand.New(rand.NewPCG(seed, 35))
		cfg := synth.Config{Ops: 20 + rnd.IntN(80), Keys: 1 + rnd.IntN(2), Clients: 2 + rnd.IntN(6),
			CASFraction: 0.4 * rnd.Float64(), Unknown: 0.08 * rnd.Float64(), Fail: 0.1 * rnd.Float64(), Seed: seed,
			Latency: time.Duration(1+rnd.IntN(4)) * time.Millisecond, Revisions: true}
		if seed%3 == 1 {
			cfg.Values = 2 + rnd.IntN(5)
		}
		ops, _ := synth.Generate(cfg)
		if seed%2 == 1 {
			damage(ops, rnd)
		}
		if seed%4 >= 2 {
			damageRevision(ops, rnd)
		}
		want := rawPorcupine(ops, 20*time.Second, 4<<30, true)
		if want == porcupine.Unknown {
			continue
		}
		spanOps := []int{1, 2, 8, 64}[rnd.IntN(4)]
		with := (&Linearizable{Budget: 20 * time.Second, SpanOps: spanOps}).Check(ctx, &Input{Ops: ops})
		without := (&Linearizable{Budget: 20 * time.Second, SpanOps: spanOps, IgnoreRevisions: true}).Check(ctx, &Input{Ops: ops})
		if with.Verdict == Unknown || with.Verdict != without.Verdict || (with.Verdict == Valid) != (want == porcupine.Ok) {
			t.Fatalf("seed %d %+v: with revisions %s, without %s, raw porcupine %s\n%s", seed, cfg, with.Verdict, without.Verdict, want, with.Explanation)
		}
		if _, ok := without.Stats["keys_ordered_by_revision"]; ok {
			t.Fatal("IgnoreRevisions still ordered keys")
		}
		counts[with.Verdict]++
		ordered += with.Stats["keys_ordered_by_revision"]
		rechecked += with.Stats["keys_rechecked_as_recorded"]
	}
	t.Logf("verdicts %v; keys ordered by revision %d, of them checked again as recorded %d", counts, ordered, rechecked)
	if counts[Valid] < n/10 || counts[Invalid] < n/10 || ordered < n/2 || rechecked == 0 {
		t.Errorf("too one-sided to mean much: %v, %d ordered, %d rechecked", counts, ordered, rechecked)
	}
}

// damageRevision moves one operation's revision by a few.
func damageRevision(ops []history.Op, rnd *rand.Rand) {
	i := rnd.IntN(len(ops))
	var v opRevision
	if ops[i].Version == nil || json.Unmarshal(ops[i].Version, &v) != nil {
		return
	}
	v.Rev = max(1, v.Rev+int64(rnd.IntN(7))-3)
	ops[i].Version = []byte(fmt.Sprintf(`{"rev":%d,"mod":%d}`, v.Rev, v.Mod))
}

func TestParseRevision(t *testing.T) {
	for in, want := range map[string]opRevision{
		`{"rev":12}`:                      {Rev: 12},
		`{"rev":12,"mod":10}`:             {Rev: 12, Mod: 10},
		`{"rev":12,"mod":10,"ser":true}`:  {Rev: 12, Mod: 10, Ser: true},
		`{"rev":12,"ser":true}`:           {Rev: 12, Ser: true},
		`{"mod":3,"rev":7}`:               {Rev: 7, Mod: 3},
		`{ "rev": 9 }`:                    {Rev: 9},
		`{"rev":12,"mod":10,"ser":false}`: {Rev: 12, Mod: 10},
		`{"rev":5,"mod":4,"extra":"x"}`:   {Rev: 5, Mod: 4},
	} {
		got, ok := parseRevision([]byte(in))
		if !ok || got != want {
			t.Errorf("%s: %+v %t, want %+v", in, got, ok, want)
		}
	}
	for _, in := range []string{``, `41`, `{"rev":0}`, `{"mod":3}`, `{"rev":`, `{"rev":x}`} {
		if got, ok := parseRevision([]byte(in)); ok {
			t.Errorf("%s: %+v, want none", in, got)
		}
	}
}

// Every linearization in revision order survives the narrowing: a
// linearizable history whose revisions are right is never checked twice,
// however many operations without a revision (unknown writes) float among
// the others.
func TestRightRevisionsNeverRechecked(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	ctx := context.Background()
	ordered, keys := 0, 0
	for seed := range uint64(n) {
		rnd := rand.New(rand.NewPCG(seed, 36))
		cfg := synth.Config{Ops: 100 + rnd.IntN(400), Keys: 1 + rnd.IntN(3), Clients: 2 + rnd.IntN(24),
			CASFraction: 0.4 * rnd.Float64(), Unknown: 0.1 * rnd.Float64(), Fail: 0.05 * rnd.Float64(), Seed: seed,
			Latency: time.Duration(1+rnd.IntN(10)) * time.Millisecond, Think: time.Duration(rnd.IntN(1000)) * time.Microsecond,
			FinalReads: rnd.IntN(2) == 0, Revisions: true}
		if seed%3 == 1 {
			cfg.Values = 2 + rnd.IntN(5)
		}
		ops, _ := synth.Generate(cfg)
		r := (&Linearizable{Budget: 20 * time.Second}).Check(ctx, &Input{Ops: ops})
		if r.Verdict != Valid || r.Stats["keys_rechecked_as_recorded"] != 0 {
			t.Fatalf("seed %d %+v: %s, stats %v: %s", seed, cfg, r.Verdict, r.Stats, r.Summary)
		}
		ordered += r.Stats["keys_ordered_by_revision"]
		keys += r.Stats["keys"]
	}
	t.Logf("%d of %d keys ordered by revision", ordered, keys)
	if ordered < keys*9/10 {
		t.Errorf("only %d of %d keys ordered", ordered, keys)
	}
}
