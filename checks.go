package faultline

import (
	"time"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/checkers"
)

// checksFor lists the checkers a run's history goes through, in the order
// they are reported: linearizability first, then the checks that explain
// what went wrong, then the scenario's thresholds (if it sets any). A
// threshold that does not parse is a *bench.ConfigError.
func checksFor(info bench.RunInfo) ([]checkers.Checker, error) {
	if err := info.Check.Validate(); err != nil {
		return nil, &bench.ConfigError{Err: err}
	}
	lin := &checkers.Linearizable{Budget: time.Duration(info.Check.Timeout)}
	if info.Check.MemoryMB > 0 {
		lin.MemoryLimit = uint64(info.Check.MemoryMB) << 20
	}
	list := []checkers.Checker{
		lin,
		&checkers.StaleReads{},
		&checkers.LostWrites{},
		&checkers.Availability{},
	}
	if len(info.Check.Thresholds) > 0 {
		th := &checkers.Thresholds{}
		for _, s := range info.Check.Thresholds {
			t, err := bench.ParseThreshold(s)
			if err != nil {
				return nil, &bench.ConfigError{Err: err}
			}
			th.List = append(th.List, checkers.Threshold{Text: t.Text, Metric: t.Metric, Op: t.Op, Value: t.Value, Scope: t.Scope})
		}
		list = append(list, th)
	}
	return list, nil
}
