//go:build long

package faultline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/checkers"
)

// TestReferenceTargetsSeeds runs every entry of the reference suite with 10
// random seeds (FAULTLINE_LONG_SEEDS changes the count): each broken system
// must be caught (invalid) in at least 9 of 10 runs, and raftkv must be
// valid in every run. Not part of `make test`:
//
//	go test -tags long -run TestReferenceTargetsSeeds -timeout 2h -v .
func TestReferenceTargetsSeeds(t *testing.T) {
	n := 10
	if s := os.Getenv("FAULTLINE_LONG_SEEDS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var table string
	for _, e := range referenceEntries(t) {
		t.Run(e.Name, func(t *testing.T) {
			counts := map[string]int{}
			var seeds []uint64
			for range n {
				sc := e.Scenario
				sc.Seed = rand.Uint64()
				sc.Out = t.TempDir()
				seeds = append(seeds, sc.Seed)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				out, err := faultline.RunContext(ctx, sc)
				cancel()
				switch {
				case out == nil:
					counts["error"]++
					t.Logf("seed %d: %v", sc.Seed, err)
				case out.Summary.Verdict == checkers.Invalid:
					counts["invalid"]++
				case err != nil:
					counts["error"]++
					t.Logf("seed %d: %v", sc.Seed, err)
				default:
					counts[string(out.Summary.Verdict)]++
					if out.Summary.Verdict != e.Expect[0] {
						t.Logf("seed %d: %s, want %s: %s", sc.Seed, out.Summary.Verdict, e.Expect[0], out.Dir)
					}
				}
			}
			got := counts[string(e.Expect[0])]
			line := fmt.Sprintf("%-26s expect %-8s %2d/%d (valid %d, invalid %d, unknown %d, errors %d)", e.Name, e.Expect[0], got, n,
				counts["valid"], counts["invalid"], counts["unknown"], counts["error"])
			t.Log(line)
			table += line + "\n"
			need := n
			if e.Expect[0] == checkers.Invalid {
				need = (9*n + 9) / 10 // at least 9 of 10 caught
			}
			if got < need {
				t.Errorf("%s: %d of %d runs %s, want at least %d (seeds %v)", e.Name, got, n, e.Expect[0], need, seeds)
			}
		})
	}
	t.Logf("\n%s", table)
}
