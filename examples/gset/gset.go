// Package gset is a complete workload written outside Faultline's core, as a
// user would write one in their own module: a grow-only set with its
// checker. It adds unique elements to one set and reads the whole set, and
// it speaks transactions of one micro-operation (["append","s",7],
// ["r","s",null]), so any target that performs list-append transactions
// (raftkv) can run it. Register it once, then name it in a scenario:
//
//	workload.Register(gset.Workload{})
//	checkers.Register(gset.CheckerName, gset.NewChecker)
//	sc.Load.Workload = gset.Name
//
// docs/adding-a-workload.md walks through it.
package gset

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// Name is what load.workload selects; CheckerName the checker it asks for.
const (
	Name        = "g-set"
	CheckerName = "g-set"
)

// set is the one key the workload uses.
const set = "s"

// Workload is the grow-only set (workload.Workload, workload.Finisher).
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Finisher = Workload{}
)

func (Workload) Name() string { return Name }

// New: half adds, half reads, seeded.
func (Workload) New(cfg workload.Config) (workload.Generator, error) {
	if len(cfg.Options) > 0 {
		return nil, fmt.Errorf("load.workload_options: %s takes none", Name)
	}
	return &generator{rnd: rand.New(rand.NewPCG(cfg.Seed, 1))}, nil
}

func (Workload) Ops(workload.Config) ([]string, error) { return []string{"txn"}, nil }

func (Workload) Checkers(workload.Config) []string { return []string{CheckerName} }

// Final reads the set once the cluster is healed and quiet.
func (Workload) Final(ctx context.Context, _ workload.Generator, env workload.FinalEnv) workload.FinalStats {
	return workload.ReadBack(ctx, env, 1, func(int) history.Event { return readOp() })
}

type generator struct {
	mu  sync.Mutex
	rnd *rand.Rand
}

func readOp() history.Event {
	return history.Event{F: "txn", Data: json.RawMessage(`[["r","` + set + `",null]]`)}
}

// Next adds the op id (unique) or reads the set.
func (g *generator) Next(op *history.Event) {
	g.mu.Lock()
	add := g.rnd.IntN(2) == 0
	g.mu.Unlock()
	if !add {
		*op = history.Event{ID: op.ID, Process: op.Process, Node: op.Node, Type: op.Type, F: "txn", Data: readOp().Data}
		return
	}
	op.F, op.Data = "txn", json.RawMessage(`[["append","`+set+`",`+strconv.FormatUint(op.ID, 10)+`]]`)
}

func (g *generator) Done(*history.Event) {}

// Checker: every element a read returned was added (no phantom), and every
// add acknowledged before a read began is in that read (no loss), the
// final reads included. Adds with unknown outcomes may or may not appear.
type Checker struct{}

var _ checkers.Checker = Checker{}

// NewChecker is the checkers.Factory of the g-set checker.
func NewChecker(checkers.Config) (checkers.Checker, error) { return Checker{}, nil }

func (Checker) Name() string { return CheckerName }

type mop struct {
	f string
	v json.RawMessage
}

func decode(data []byte) (mop, bool) {
	var m []json.RawMessage
	var outer [][]json.RawMessage
	if json.Unmarshal(data, &outer) != nil || len(outer) != 1 || len(outer[0]) != 3 {
		return mop{}, false
	}
	m = outer[0]
	var f string
	if json.Unmarshal(m[0], &f) != nil {
		return mop{}, false
	}
	return mop{f, m[2]}, true
}

func (Checker) Check(_ context.Context, in *checkers.Input) checkers.Result {
	r := checkers.Result{Checker: CheckerName, Stats: map[string]int{}}
	type add struct{ call, ret int64 }
	adds := map[string]add{} // element -> its add (ret -1 when unknown)
	var reads []history.Op
	for _, op := range in.Ops {
		m, ok := decode(op.Data)
		if op.F != "txn" || !ok {
			continue
		}
		switch {
		case m.f == "append" && op.Type != history.Fail:
			ret := op.Return
			if op.Type != history.OK {
				ret = -1
			}
			adds[string(m.v)] = add{op.Call, ret}
		case m.f == "r" && op.Type == history.OK:
			reads = append(reads, op)
		}
	}
	r.Stats["adds"], r.Stats["reads"] = len(adds), len(reads)
	if len(reads) == 0 {
		r.Verdict, r.Summary = checkers.Skipped, "no successful reads: nothing to check"
		return r
	}
	var problems []string
	for _, op := range reads {
		m, _ := decode(op.Data)
		var elems []json.RawMessage
		if string(m.v) != "null" && json.Unmarshal(m.v, &elems) != nil {
			problems = append(problems, fmt.Sprintf("op %d read %s: not a list", op.ID, m.v))
			continue
		}
		seen := map[string]bool{}
		for _, e := range elems {
			seen[string(e)] = true
			if a, ok := adds[string(e)]; !ok || a.call > op.Return {
				r.Stats["phantoms"]++
				problems = append(problems, fmt.Sprintf("op %d read element %s, which no add had begun to write", op.ID, e))
			}
		}
		for e, a := range adds {
			if a.ret >= 0 && a.ret < op.Call && !seen[e] {
				r.Stats["lost"]++
				problems = append(problems, fmt.Sprintf("op %d (node %s, from %.3fs) did not read element %s, whose add was acknowledged at %.3fs",
					op.ID, op.Node, float64(op.Call)/1e9, e, float64(a.ret)/1e9))
			}
		}
	}
	if len(problems) == 0 {
		r.Verdict, r.Summary = checkers.Valid, fmt.Sprintf("%d adds, %d reads: every read held every acknowledged add", len(adds), len(reads))
		return r
	}
	slices.Sort(problems)
	r.Verdict = checkers.Invalid
	r.Summary = fmt.Sprintf("%d phantom and %d lost elements in %d reads", r.Stats["phantoms"], r.Stats["lost"], len(reads))
	r.Explanation = strings.Join(problems[:min(len(problems), 10)], "\n")
	return r
}
