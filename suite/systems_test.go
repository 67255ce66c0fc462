package suite

import (
	"testing"

	"github.com/faultline/faultline/checkers"
)

// suite/systems.yaml resolves: every entry a complete scenario, the options
// and faults its systems need.
func TestSystemsSuiteResolves(t *testing.T) {
	s, err := Load("systems.yaml", 1)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	for _, e := range s.Entries {
		byName[e.Name] = e
	}
	for name, want := range map[string]struct {
		target, nemesis, opt, val string
		expect                    checkers.Verdict
	}{
		"zookeeper-plain-partition-follower": {"zookeeper", "partition-follower", "read-mode", "plain", checkers.Invalid},
		"zookeeper-sync-kill":                {"zookeeper", "kill", "read-mode", "sync", checkers.Valid},
		"redis-nowait-partition-leader":      {"redis", "partition-leader", "wait", "0", checkers.Invalid},
	} {
		e, ok := byName[name]
		if !ok {
			t.Errorf("no entry %s", name)
			continue
		}
		sc := e.Scenario
		if sc.Cluster.Target != want.target || len(sc.Chaos.Nemesis) != 1 || sc.Chaos.Nemesis[0] != want.nemesis ||
			sc.Cluster.Options[want.opt] != want.val || !e.Expect.Match(want.expect) || sc.Cluster.Runtime != "docker" {
			t.Errorf("%s: target %s nemesis %v options %v runtime %s expect %v", name, sc.Cluster.Target, sc.Chaos.Nemesis, sc.Cluster.Options, sc.Cluster.Runtime, e.Expect)
		}
	}
}
