package faultline

import (
	"time"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/checkers"
)

// checksFor lists the checkers a run's history goes through.
func checksFor(info bench.RunInfo) []checkers.Checker {
	return []checkers.Checker{
		&checkers.Linearizable{Budget: time.Duration(info.Check.Timeout)},
	}
}
