package faultline_test

import (
	"testing"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/suite"
)

// referenceSuite is issue 8's proof that the checkers catch real bugs and
// pass a correct system: each reference target in a short run (3-node
// clusters in Docker), with the verdict it must get and a seed known to
// give it. The partitions isolate the leader at 2-4 s and 6-8 s; the kill
// is one kill -9 of the leader at 3-6 s, restarted on its data.
const referenceSuite = `
name: reference-targets
defaults:
  load: {duration: 8s, rate: 200}
  chaos: {interval: 2s, quiet: 2s}
entries:
  - {name: raftkv-partition, target: raftkv, nemesis: partition, seed: 1, expect: valid}
  - {name: raftkv-kill, target: raftkv, nemesis: kill-leader, chaos: {interval: 3s}, seed: 1, expect: valid}
  - {name: naive-paxos-partition, target: naive-paxos, nemesis: partition, seed: 1, expect: invalid}
  - {name: raftkv-stale-reads, target: raftkv, bug: stale-reads, nemesis: partition, seed: 1, expect: invalid}
  - {name: raftkv-ack-before-commit, target: raftkv, bug: ack-before-commit, nemesis: partition, seed: 1, expect: invalid}
  - {name: raftkv-non-atomic-cas, target: raftkv, bug: non-atomic-cas, nemesis: partition, seed: 1, expect: invalid}
`

func referenceEntries(t *testing.T) []suite.Entry {
	t.Helper()
	s, err := suite.Parse([]byte(referenceSuite), "reference suite", ".", 0)
	if err != nil {
		t.Fatal(err)
	}
	return s.Entries
}

// longOnly are the entries `make test` leaves to the long tag: a second
// correct-mode run of raftkv (valid under kill as under partition), which
// TestReferenceTargetsSeeds runs with 10 seeds.
var longOnly = map[string]bool{"raftkv-kill": true}

// TestReferenceTargets: raftkv is valid under partition; naive-paxos and
// each of raftkv's bugs are caught (invalid).
func TestReferenceTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs clusters")
	}
	for _, e := range referenceEntries(t) {
		if longOnly[e.Name] {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			sc := e.Scenario
			sc.Out = t.TempDir()
			out := faultline.RunExpect(t, sc, e.Expect[0])
			if e.Expect[0] == checkers.Invalid {
				// The report says why: an explanation of the violation.
				explained := false
				for _, c := range out.Summary.Checks {
					explained = explained || (c.Verdict == checkers.Invalid && c.Explanation != "")
				}
				if !explained {
					t.Errorf("invalid without an explanation: %+v", out.Summary.Checks)
				}
			}
			assertNothingLeft(t, out.Summary.RunID)
		})
	}
}
