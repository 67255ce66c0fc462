// Package bank is the checker of the bank workload (bench/workload/bank):
// every ok read of the balances is one snapshot of accounts whose total is
// the total they were opened with, and no balance is negative.
//
// Transfers whose outcome is unknown (info) need no special case, which is
// what keeps the check sound: a transfer moves money, it never makes or
// destroys it, so whether or not it happened the total must hold in every
// read. A read that saw half of a transfer (money taken from one account
// and not yet given to the other) is not a snapshot and shows as a wrong
// total too.
package bank

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	wl "github.com/faultline/faultline/bench/workload/bank"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// Name is the registered name of the checker.
const Name = wl.CheckerName

// Checker checks bank histories.
type Checker struct{}

var _ checkers.Checker = Checker{}

// New is the checkers.Factory.
func New(checkers.Config) (checkers.Checker, error) { return Checker{}, nil }

func (Checker) Name() string { return Name }

// maxExplained bounds the reads named in an explanation.
const maxExplained = 10

// BadRead is one read that broke an invariant (Result.Details).
type BadRead struct {
	Op      uint64      `json:"op"`
	Node    string      `json:"node,omitempty"`
	AtSec   float64     `json:"at_s"`
	Total   int64       `json:"total"`
	Want    int64       `json:"want"`
	Problem string      `json:"problem"`
	Read    wl.Balances `json:"read"`
	Final   bool        `json:"final,omitempty"`
	Fault   string      `json:"fault,omitempty"`
}

func (Checker) Check(_ context.Context, in *checkers.Input) checkers.Result {
	r := checkers.Result{Checker: Name, Stats: map[string]int{}}
	var (
		init      *wl.Init
		openedAt  int64 = -1 // return of the first ok init
		reads     []history.Op
		conflicts []string
	)
	for _, op := range in.Ops {
		switch op.F {
		case wl.FInit:
			if op.Type == history.Fail {
				continue
			}
			var v wl.Init
			if err := json.Unmarshal(op.Data, &v); err != nil || len(v.Accounts) == 0 {
				conflicts = append(conflicts, fmt.Sprintf("op %d: undecodable init %s", op.ID, op.Data))
				continue
			}
			if init == nil {
				init = &v
			} else if !slices.Equal(init.Accounts, v.Accounts) || init.Balance != v.Balance {
				conflicts = append(conflicts, fmt.Sprintf("op %d opens other accounts or balances than the first init", op.ID))
			}
			if op.Type == history.OK && (openedAt < 0 || op.Return < openedAt) {
				openedAt = op.Return
			}
		case wl.FTransfer:
			r.Stats["transfers_"+op.Type.String()]++
		case wl.FRead:
			if op.Type == history.OK {
				reads = append(reads, op)
			}
		}
	}
	r.Stats["reads"] = len(reads)
	if len(conflicts) > 0 {
		r.Verdict, r.Summary = checkers.Unknown, "the history's init operations disagree: the total is not known"
		r.Explanation = strings.Join(conflicts[:min(len(conflicts), maxExplained)], "\n")
		return r
	}
	if init == nil {
		r.Verdict, r.Summary = checkers.Skipped, "no init operation: the accounts and their total are not known"
		return r
	}
	want := init.Balance * int64(len(init.Accounts))
	var bad []BadRead
	for _, op := range reads {
		var b wl.Balances
		if len(op.Data) > 0 && string(op.Data) != "null" {
			if err := json.Unmarshal(op.Data, &b); err != nil {
				bad = append(bad, badRead(in, op, nil, 0, want, "undecodable read "+string(op.Data)))
				continue
			}
		}
		if len(b) == 0 {
			// Before the accounts were opened a read sees none; after an
			// acknowledged init it must see them.
			if openedAt >= 0 && openedAt < op.Call {
				r.Stats["missing"]++
				bad = append(bad, badRead(in, op, b, 0, want, "no accounts, after the init was acknowledged"))
			}
			continue
		}
		var total int64
		var problems []string
		for _, a := range init.Accounts {
			v, ok := b[a]
			if !ok {
				problems = append(problems, "account "+a+" missing")
				continue
			}
			total += v
			if v < 0 {
				problems = append(problems, fmt.Sprintf("%s is negative (%d)", a, v))
			}
		}
		for a := range b {
			if !slices.Contains(init.Accounts, a) {
				problems = append(problems, "account "+a+" was never opened")
				total += b[a]
			}
		}
		if total != want {
			if total > want {
				r.Stats["money_created"]++
				problems = append([]string{fmt.Sprintf("total %d, %d created", total, total-want)}, problems...)
			} else {
				r.Stats["money_lost"]++
				problems = append([]string{fmt.Sprintf("total %d, %d vanished", total, want-total)}, problems...)
			}
		}
		for _, p := range problems {
			if strings.Contains(p, "negative") {
				r.Stats["negative"]++
				break
			}
		}
		if len(problems) > 0 {
			bad = append(bad, badRead(in, op, b, total, want, strings.Join(problems, "; ")))
		}
	}
	r.Stats["bad_reads"] = len(bad)
	if len(reads) == 0 {
		r.Verdict, r.Summary = checkers.Skipped, "no successful reads: nothing to check"
		return r
	}
	if len(bad) == 0 {
		r.Verdict = checkers.Valid
		r.Summary = fmt.Sprintf("%d reads of %d accounts: every total was %d, no balance negative (%d transfers ok, %d unknown)",
			len(reads), len(init.Accounts), want, r.Stats["transfers_ok"], r.Stats["transfers_info"])
		return r
	}
	r.Verdict = checkers.Invalid
	r.Summary = fmt.Sprintf("%d of %d reads broke the bank: %d with money created, %d with money vanished, %d with a negative balance, %d missing accounts (total must be %d)",
		len(bad), len(reads), r.Stats["money_created"], r.Stats["money_lost"], r.Stats["negative"], r.Stats["missing"], want)
	var lines []string
	for _, b := range bad[:min(len(bad), maxExplained)] {
		where := ""
		if b.Fault != "" {
			where = " during " + b.Fault
		}
		lines = append(lines, fmt.Sprintf("op %d (node %s, at %.3fs%s): %s", b.Op, b.Node, b.AtSec, where, b.Problem))
	}
	r.Explanation = strings.Join(lines, "\n")
	r.Details = bad[:min(len(bad), 100)]
	return r
}

func badRead(in *checkers.Input, op history.Op, b wl.Balances, total, want int64, problem string) BadRead {
	br := BadRead{Op: op.ID, Node: op.Node, AtSec: float64(op.Call) / 1e9, Total: total, Want: want, Problem: problem, Read: b, Final: op.Final}
	for _, w := range in.Faults {
		if w.Start <= op.Call && op.Call <= w.End {
			br.Fault = w.Kind
			break
		}
	}
	return br
}
