package faultline

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/report"
)

func TestExitCodes(t *testing.T) {
	sum := func(v checkers.Verdict, interrupted bool) report.Summary {
		s := report.Summary{Verdict: v}
		s.Interrupted = interrupted
		return s
	}
	infra := errors.New("docker engine went away")
	cases := []struct {
		name string
		o    *Outcome
		err  error
		want int
	}{
		{"valid", &Outcome{Summary: sum(checkers.Valid, false)}, nil, ExitPass},
		{"invalid", &Outcome{Summary: sum(checkers.Invalid, false)}, nil, ExitFail},
		{"unknown", &Outcome{Summary: sum(checkers.Unknown, false)}, nil, ExitUnknown},
		{"bad config", nil, &scenario.ConfigError{Err: errors.New("--rate -5")}, ExitUsage},
		{"no docker", nil, infra, ExitInfra},
		{"ctrl-c during launch", nil, fmt.Errorf("launch: %w", context.Canceled), ExitUnknown},
		{"interrupted, valid so far", &Outcome{Summary: sum(checkers.Valid, true), Err: context.Canceled}, context.Canceled, ExitUnknown},
		{"interrupted, violation found", &Outcome{Summary: sum(checkers.Invalid, true), Err: context.Canceled}, context.Canceled, ExitFail},
		{"cut short, valid so far", &Outcome{Summary: sum(checkers.Valid, false), Err: infra}, infra, ExitInfra},
		{"cut short, violation found", &Outcome{Summary: sum(checkers.Invalid, false), Err: infra}, infra, ExitFail},
	}
	for _, c := range cases {
		if got := ExitCode(c.o, c.err); got != c.want {
			t.Errorf("%s: exit %d, want %d", c.name, got, c.want)
		}
	}
}
