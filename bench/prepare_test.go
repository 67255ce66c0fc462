package bench

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/chaos/nemesis"
	"github.com/faultline/faultline/chaos/netfault"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// A scenario file's timeline is the schedule Prepare plans.
func TestPrepareTimelinePlan(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(`
seed: 42
cluster: {nodes: 5}
load: {duration: 1m, rate: "300"}
chaos:
  timeline:
    - {at: 10s, for: 10s, fault: partition-ring}
    - {at: 25s, for: 2.5, fault: kill}
    - {at: 40s, for: 5s, fault: partition-ring}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := scenario.Default()
	if _, err := scenario.LoadFile(p, &sc); err != nil {
		t.Fatal(err)
	}
	p2, err := Prepare(sc)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	plan := p2.nemesis.Planned()
	if len(plan) != 3 || plan[1].Fault != "kill" || plan[2].At != 40*time.Second {
		t.Errorf("plan %+v", plan)
	}
}

// What cannot work is refused before anything is launched.
func TestPrepareRefusesFaults(t *testing.T) {
	cases := map[string]func(*scenario.Scenario){
		"ring needs 4 nodes": func(s *scenario.Scenario) { s.Chaos.Nemesis = []string{"partition-ring"} },
		"bridge needs 3 nodes": func(s *scenario.Scenario) {
			s.Chaos.Nemesis = []string{"kill", "partition-bridge"}
			s.Cluster.Nodes = 2
		},
		"unknown fault":      func(s *scenario.Scenario) { s.Chaos.Nemesis = []string{"meteor"} },
		"bad firewall":       func(s *scenario.Scenario) { s.Chaos.Firewall = "iptables" },
		"sidecar off docker": func(s *scenario.Scenario) { s.Chaos.Firewall = nemesis.FirewallSidecar; s.Cluster.Runtime = "local" },
		"overlapping timeline": func(s *scenario.Scenario) {
			s.Chaos.Timeline = []scenario.TimelineStep{{At: 0, For: scenario.Duration(5 * time.Second), Fault: "kill"}, {At: scenario.Duration(time.Second), For: scenario.Duration(time.Second), Fault: "pause"}}
			s.Chaos.Nemesis = []string{"kill", "pause"}
		},
		"nemesis and timeline disagree": func(s *scenario.Scenario) {
			s.Chaos.Timeline = []scenario.TimelineStep{{At: 0, For: scenario.Duration(5 * time.Second), Fault: "kill"}}
		},
		"timeline after the load": func(s *scenario.Scenario) {
			s.Chaos.Timeline = []scenario.TimelineStep{{At: scenario.Duration(45 * time.Second), For: scenario.Duration(time.Second), Fault: "kill"}}
			s.Chaos.Nemesis = []string{"kill"}
		},
		"loss over 100": func(s *scenario.Scenario) { s.Chaos.LossPercent = 140 },
		"no final time": func(s *scenario.Scenario) { s.Chaos.FinalTimeout = 0 },
		"image target on local": func(s *scenario.Scenario) {
			s.Cluster.Target, s.Cluster.Runtime, s.Cluster.Nodes = "postgres", pick.Local, 1
		},
	}
	for name, mod := range cases {
		sc := scenario.Default()
		mod(&sc)
		_, err := Prepare(sc)
		var ce *scenario.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: %v, want a ConfigError", name, err)
		}
	}
}

// delay is refused where the kernel has no netem, and only there: the
// kernel is asked, not assumed.
func TestPrepareDelayFollowsTheKernel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the host check needs root; without it the sidecar checks")
	}
	sc := scenario.Default()
	sc.Chaos.Nemesis = []string{"delay"}
	_, err := Prepare(sc)
	host := netfault.CheckNetem()
	switch {
	case errors.Is(host, netfault.ErrNoNetem):
		var ce *scenario.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "netem") {
			t.Errorf("no netem here, yet Prepare says %v", err)
		}
	case host == nil && err != nil:
		t.Errorf("netem is here, yet Prepare says %v", err)
	}
	t.Logf("delay: %v", err)
}
