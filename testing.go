package faultline

import (
	"context"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/report"
)

// TB is the part of testing.TB that Run uses; *testing.T satisfies it.
type TB interface {
	Helper()
	Context() context.Context
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Run runs the scenario inside a Go test and fails the test unless the
// verdict is valid, so teams can put Faultline in their own suites:
//
//	func TestMyClusterUnderPartition(t *testing.T) {
//		sc := scenario.Default()
//		sc.Load.Duration = scenario.Duration(20 * time.Second)
//		faultline.Run(t, sc)
//	}
func Run(t TB, sc scenario.Scenario, opts ...Option) *Outcome {
	t.Helper()
	return RunExpect(t, sc, checkers.Valid, opts...)
}

// RunExpect is Run for a scenario expected to end with another verdict, e.g.
// a known-broken system that must be caught (checkers.Invalid).
func RunExpect(t TB, sc scenario.Scenario, want checkers.Verdict, opts ...Option) *Outcome {
	t.Helper()
	opts = append([]Option{WithLog(t.Logf)}, opts...)
	out, err := RunContext(t.Context(), sc, opts...)
	if out == nil {
		t.Fatalf("faultline: %v", err)
		return nil
	}
	t.Logf("%s", report.VerdictLine(out.Summary, out.Dir))
	if err != nil {
		t.Fatalf("faultline: run cut short: %v (report in %s)", err, out.Dir)
	}
	if out.Summary.Verdict != want {
		msg := ""
		for _, c := range out.Summary.Checks {
			if c.Verdict != checkers.Valid {
				msg += "\n  " + c.Checker + ": " + c.Summary
				if c.Explanation != "" {
					msg += "\n    " + c.Explanation
				}
			}
		}
		t.Fatalf("faultline: verdict %s, want %s (report: %s)%s", out.Summary.Verdict, want, out.Dir+"/"+report.HTMLFile, msg)
	}
	return out
}
