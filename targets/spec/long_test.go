//go:build long

package spec_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// TestSameVerdictsAsBuiltIn runs the built-in raftkv and examples/raftkv.yaml
// side by side, correct and with each bug, under the default partition and
// kill schedules, over several seeds (FAULTLINE_LONG_SEEDS, default 3): the
// correct system must pass every run of both, and each bug must be caught by
// both in most seeds. Minutes of Docker: `go test -tags long -run
// SameVerdicts ./targets/spec`.
func TestSameVerdictsAsBuiltIn(t *testing.T) {
	needDocker(t)
	seeds := 3
	if s, err := strconv.Atoi(os.Getenv("FAULTLINE_LONG_SEEDS")); err == nil && s > 0 {
		seeds = s
	}
	cases := []struct {
		bug, nemesis string
		want         checkers.Verdict
	}{
		{"", "partition", checkers.Valid},
		{"", "kill", checkers.Valid},
		{"stale-reads", "partition", checkers.Invalid},
		{"ack-before-commit", "partition", checkers.Invalid},
		{"non-atomic-cas", "partition", checkers.Invalid},
	}
	for _, c := range cases {
		for _, how := range []string{"built-in", "spec"} {
			name := fmt.Sprintf("%s/%s/%s", how, orNone(c.bug), c.nemesis)
			hits := 0
			for seed := 1; seed <= seeds; seed++ {
				sc := loadExample(t)
				if how == "built-in" {
					sc.Cluster.Spec, sc.Cluster.Target = nil, "raftkv"
				}
				if c.bug != "" {
					sc.Cluster.Options = map[string]string{"bug": c.bug}
				}
				sc.Name = ""
				sc.Chaos.Nemesis = []string{c.nemesis}
				sc.Load.Duration = scenario.Duration(20 * time.Second)
				sc.Chaos.Interval = scenario.Duration(5 * time.Second)
				sc.Cluster.Runtime = pick.Docker
				sc.Out, sc.Seed = t.TempDir(), uint64(seed)
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				out, err := faultline.RunContext(ctx, sc)
				cancel()
				if err != nil {
					t.Fatalf("%s seed %d: %v", name, seed, err)
				}
				t.Logf("%s seed %d: %s", name, seed, report.VerdictLine(out.Summary, out.Dir))
				if out.Summary.Verdict == c.want {
					hits++
				}
			}
			t.Logf("%s: %s in %d of %d seeds", name, c.want, hits, seeds)
			if c.want == checkers.Valid && hits != seeds || c.want == checkers.Invalid && 2*hits <= seeds {
				t.Errorf("%s: %s in only %d of %d seeds", name, c.want, hits, seeds)
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "correct"
	}
	return s
}
