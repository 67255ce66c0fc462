package checkers

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/checkers/synth"
	"github.com/faultline/faultline/history"
)

// Randomly generated linearizable histories are always valid, for every
// checker; the same histories with one injected anomaly are always invalid,
// on the key it went into, for the linearizability checker and for the
// checker that looks for that kind of anomaly.
func TestPropertyGeneratedHistories(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	ctx := context.Background()
	injected := map[synth.Anomaly]int{}
	for seed := range uint64(seeds) {
		rnd := rand.New(rand.NewPCG(seed, 7))
		cfg := synth.Config{Ops: 300 + rnd.IntN(600), Keys: 2 + rnd.IntN(6), Clients: 2 + rnd.IntN(8),
			CASFraction: 0.3 * rnd.Float64(), Unknown: 0.05 * rnd.Float64(), Fail: 0.05 * rnd.Float64(), FinalReads: true, Seed: seed, At: rnd.Float64()}
		lin := &Linearizable{Budget: 20 * time.Second, SpanOps: []int{1, 4, 16, 64}[rnd.IntN(4)]}
		ops, _ := synth.Generate(cfg)
		in := NewInput(synth.Events(ops), "")
		for _, c := range []Checker{lin, &StaleReads{}, &LostWrites{}} {
			if r := c.Check(ctx, in); r.Verdict != Valid {
				t.Fatalf("seed %d %+v: %s says %s on a linearizable history: %s\n%s", seed, cfg, c.Name(), r.Verdict, r.Summary, r.Explanation)
			}
		}
		for _, a := range synth.Anomalies {
			cfg.Anomaly = a
			ops, inj := synth.Generate(cfg)
			if inj == nil {
				continue // no operation fits it in this history
			}
			injected[a]++
			in := NewInput(synth.Events(ops), "")
			r := lin.Check(ctx, in)
			if r.Verdict != Invalid || len(r.InvalidKeys) != 1 || r.InvalidKeys[0] != inj.Key {
				t.Fatalf("seed %d %s (%+v): linearizable says %s %v, want invalid [%s]: %s", seed, a, inj, r.Verdict, r.InvalidKeys, inj.Key, r.Summary)
			}
			var also Checker
			switch a {
			case synth.StaleRead:
				also = &StaleReads{}
			case synth.LostWrite:
				also = &LostWrites{}
			}
			if also != nil {
				if r := also.Check(ctx, in); r.Verdict != Invalid {
					t.Fatalf("seed %d %s (%+v): %s says %s: %s", seed, a, inj, also.Name(), r.Verdict, r.Summary)
				}
			}
		}
	}
	for _, a := range synth.Anomalies {
		if injected[a] < seeds/2 {
			t.Errorf("%s injected in only %d of %d histories", a, injected[a], seeds)
		}
	}
	// Values that repeat (a small pool, as imported histories have): a
	// linearizable history is still valid for every checker, whatever a
	// read of a repeated value may have seen.
	for seed := range uint64(seeds) {
		rnd := rand.New(rand.NewPCG(seed, 8))
		cfg := synth.Config{Ops: 200 + rnd.IntN(400), Keys: 1 + rnd.IntN(4), Clients: 2 + rnd.IntN(6), Values: 2 + rnd.IntN(8),
			CASFraction: 0.4 * rnd.Float64(), Unknown: 0.05 * rnd.Float64(), Fail: 0.05 * rnd.Float64(), FinalReads: true, Seed: seed}
		lin := &Linearizable{Budget: 20 * time.Second, SpanOps: []int{1, 4, 16, 64}[rnd.IntN(4)]}
		ops, _ := synth.Generate(cfg)
		in := NewInput(synth.Events(ops), "")
		for _, c := range []Checker{lin, &StaleReads{}, &LostWrites{}} {
			if r := c.Check(ctx, in); r.Verdict != Valid {
				t.Fatalf("seed %d %+v: %s says %s on a linearizable history with repeated values: %s\n%s", seed, cfg, c.Name(), r.Verdict, r.Summary, r.Explanation)
			}
		}
	}
}

// Pruning and cutting into spans change nothing: on small random histories
// with random damage (a read or a cas's expected value replaced by another
// value of the key, or nil), the verdict is raw porcupine's on the whole
// history, where an unknown write or cas may happen at any time after its
// call, or never. Half of the histories write unique values, half draw
// them from a small pool, so that they repeat.
func TestAgreesWithRawPorcupine(t *testing.T) {
	n := 300
	if s := os.Getenv("FAULTLINE_PROPERTY_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		n = 60
	}
	ctx := context.Background()
	counts := map[Verdict]int{}
	repeated := map[Verdict]int{}
	for seed := range uint64(n) {
		rnd := rand.New(rand.NewPCG(seed, 11))
		cfg := synth.Config{Ops: 20 + rnd.IntN(60), Keys: 1 + rnd.IntN(2), Clients: 2 + rnd.IntN(5),
			CASFraction: 0.4 * rnd.Float64(), Unknown: 0.08 * rnd.Float64(), Fail: 0.1 * rnd.Float64(), Seed: seed, Latency: time.Duration(1+rnd.IntN(4)) * time.Millisecond}
		if seed%2 == 1 {
			// More unknown outcomes too: those are what repeated values
			// keep open.
			cfg.Values, cfg.Unknown = 2+rnd.IntN(5), 0.2*rnd.Float64()
		}
		ops, _ := synth.Generate(cfg)
		for range 1 + rnd.IntN(2) {
			damage(ops, rnd)
		}
		want := rawPorcupine(ops, 20*time.Second, 4<<30, true)
		if want == porcupine.Unknown {
			continue
		}
		lin := &Linearizable{Budget: 20 * time.Second, SpanOps: []int{1, 2, 8, 64}[rnd.IntN(4)]}
		r := lin.Check(ctx, &Input{Ops: ops})
		got := r.Verdict == Valid
		if r.Verdict == Unknown || got != (want == porcupine.Ok) {
			t.Fatalf("seed %d %+v: ours %s, raw porcupine %s\n%s", seed, cfg, r.Verdict, want, r.Explanation)
		}
		counts[r.Verdict]++
		if cfg.Values > 0 {
			repeated[r.Verdict]++
		}
	}
	t.Logf("verdicts: %v (with repeated values: %v)", counts, repeated)
	if counts[Valid] < n/10 || counts[Invalid] < n/10 || repeated[Valid] < n/20 || repeated[Invalid] < n/20 {
		t.Errorf("too one-sided to mean much: %v (with repeated values: %v)", counts, repeated)
	}
}

// damage replaces what one ok read returned, or what one ok cas expected,
// with another value written on the same key (or nil).
func damage(ops []history.Op, rnd *rand.Rand) {
	i := rnd.IntN(len(ops))
	op := &ops[i]
	if op.Type != history.OK || op.F == history.FWrite {
		return
	}
	var vals []string
	for _, o := range ops {
		if o.Key == op.Key && o.F != history.FRead {
			vals = append(vals, o.Value)
		}
	}
	v := ""
	if len(vals) > 0 && rnd.IntN(5) > 0 {
		v = vals[rnd.IntN(len(vals))]
	}
	if op.F == history.FRead {
		op.Value = v
	} else {
		op.From = v
	}
}
