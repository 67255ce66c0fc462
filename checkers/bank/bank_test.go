package bank_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	wl "github.com/faultline/faultline/bench/workload/bank"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/bank"
	"github.com/faultline/faultline/history"
)

type hist struct {
	events []history.Event
	id     uint64
}

// op appends an invoke at t0 and its completion typ at t1 (no completion
// when typ is Invoke: the operation never returned).
func (h *hist) op(f string, t0, t1 int64, typ history.Type, in, out string) {
	h.id++
	ev := history.Event{ID: h.id, Process: history.Process(h.id), F: f, Type: history.Invoke, Time: t0, Node: "n1"}
	if in != "" {
		ev.Data = json.RawMessage(in)
	}
	h.events = append(h.events, ev)
	if typ == history.Invoke {
		return
	}
	done := ev
	done.Type, done.Time, done.Data = typ, t1, nil
	if out != "" {
		done.Data = json.RawMessage(out)
	}
	h.events = append(h.events, done)
}

const initData = `{"accounts":["a0","a1","a2"],"balance":10}`

func opened() *hist {
	h := &hist{}
	h.op(wl.FInit, 0, 10, history.OK, initData, "")
	return h
}

func check(h *hist) checkers.Result {
	return bank.Checker{}.Check(context.Background(), checkers.NewInput(h.events, ""))
}

func TestVerdicts(t *testing.T) {
	cases := []struct {
		name  string
		build func(h *hist)
		want  checkers.Verdict
		stat  string
	}{
		{"valid", func(h *hist) {
			h.op(wl.FTransfer, 20, 30, history.OK, `{"from":"a0","to":"a1","amount":4}`, "")
			h.op(wl.FRead, 40, 50, history.OK, "", `{"a0":6,"a1":14,"a2":10}`)
		}, checkers.Valid, ""},
		{"unknown transfers either way", func(h *hist) {
			h.op(wl.FTransfer, 20, 30, history.Info, `{"from":"a0","to":"a1","amount":4}`, "")
			h.op(wl.FTransfer, 20, -1, history.Invoke, `{"from":"a2","to":"a1","amount":3}`, "")
			h.op(wl.FRead, 40, 50, history.OK, "", `{"a0":6,"a1":14,"a2":10}`)
			h.op(wl.FRead, 60, 70, history.OK, "", `{"a0":6,"a1":17,"a2":7}`)
		}, checkers.Valid, ""},
		{"read before the accounts were opened", func(h *hist) {
			h.events, h.id = nil, 0
			h.op(wl.FRead, 0, 5, history.OK, "", `{}`)
			h.op(wl.FInit, 1, 10, history.OK, initData, "")
			h.op(wl.FRead, 20, 25, history.OK, "", `{"a0":10,"a1":10,"a2":10}`)
		}, checkers.Valid, ""},
		{"money created", func(h *hist) {
			h.op(wl.FRead, 40, 50, history.OK, "", `{"a0":6,"a1":14,"a2":14}`)
		}, checkers.Invalid, "money_created"},
		{"money lost", func(h *hist) {
			h.op(wl.FTransfer, 20, 30, history.Info, `{"from":"a0","to":"a1","amount":4}`, "")
			h.op(wl.FRead, 40, 50, history.OK, "", `{"a0":6,"a1":10,"a2":10}`)
		}, checkers.Invalid, "money_lost"},
		{"negative balance", func(h *hist) {
			h.op(wl.FRead, 40, 50, history.OK, "", `{"a0":-2,"a1":22,"a2":10}`)
		}, checkers.Invalid, "negative"},
		{"accounts gone after init", func(h *hist) {
			h.op(wl.FRead, 40, 50, history.OK, "", `{}`)
		}, checkers.Invalid, "missing"},
		{"failed reads carry nothing", func(h *hist) {
			h.op(wl.FRead, 40, 50, history.Fail, "", `{"a0":99}`)
			h.op(wl.FRead, 40, 50, history.OK, "", `{"a0":10,"a1":10,"a2":10}`)
		}, checkers.Valid, ""},
		{"no reads", func(h *hist) {}, checkers.Skipped, ""},
	}
	for _, c := range cases {
		h := opened()
		c.build(h)
		r := check(h)
		if r.Verdict != c.want {
			t.Errorf("%s: %s (%s), want %s\n%s", c.name, r.Verdict, r.Summary, c.want, r.Explanation)
			continue
		}
		if c.stat != "" && r.Stats[c.stat] == 0 {
			t.Errorf("%s: stat %s not counted: %v", c.name, c.stat, r.Stats)
		}
		if r.Verdict == checkers.Invalid && !strings.Contains(r.Explanation, "op ") {
			t.Errorf("%s: explanation names no operation: %q", c.name, r.Explanation)
		}
	}
	if r := check(&hist{}); r.Verdict != checkers.Skipped {
		t.Errorf("empty history: %s", r.Verdict)
	}
	h := opened()
	h.op(wl.FInit, 0, 10, history.OK, `{"accounts":["a0"],"balance":10}`, "")
	h.op(wl.FRead, 40, 50, history.OK, "", `{"a0":10}`)
	if r := check(h); r.Verdict != checkers.Unknown {
		t.Errorf("disagreeing inits: %s, want unknown", r.Verdict)
	}
}

// A property: histories of a real (serial) bank, with transfers that are
// acknowledged, refused, or unknown and then applied or not at random, are
// valid whatever the seed; the same histories with one update lost (one
// side of a transfer not applied, as a read-modify-write race does) are
// invalid.
func TestPropertySerialBank(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		for _, lose := range []bool{false, true} {
			rnd := rand.New(rand.NewPCG(seed, 1))
			h := opened()
			bal := map[string]int64{"a0": 10, "a1": 10, "a2": 10}
			names := []string{"a0", "a1", "a2"}
			tm := int64(20)
			lost := false
			for i := 0; i < 60; i++ {
				tm += 10
				if rnd.IntN(2) == 0 {
					b, _ := json.Marshal(bal)
					h.op(wl.FRead, tm, tm+5, history.OK, "", string(b))
					continue
				}
				from, to := names[rnd.IntN(3)], names[rnd.IntN(3)]
				if from == to {
					continue
				}
				amt := 1 + rnd.Int64N(5)
				in := `{"from":"` + from + `","to":"` + to + `","amount":` + string(rune('0'+amt)) + `}`
				if bal[from] < amt {
					h.op(wl.FTransfer, tm, tm+5, history.Fail, in, "")
					continue
				}
				typ := history.OK
				apply := true
				if rnd.IntN(3) == 0 {
					typ, apply = history.Info, rnd.IntN(2) == 0
				}
				if apply {
					bal[from] -= amt
					if lose && !lost && i > 10 {
						lost = true // the credit is overwritten by a racing write
					} else {
						bal[to] += amt
					}
				}
				h.op(wl.FTransfer, tm, tm+5, typ, in, "")
			}
			b, _ := json.Marshal(bal)
			h.op(wl.FRead, tm+10, tm+15, history.OK, "", string(b))
			r := check(h)
			want := checkers.Valid
			if lost {
				want = checkers.Invalid
			}
			if r.Verdict != want {
				t.Fatalf("seed %d lose=%v (lost %v): %s, want %s: %s\n%s", seed, lose, lost, r.Verdict, want, r.Summary, r.Explanation)
			}
		}
	}
}
