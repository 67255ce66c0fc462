package rabbitmq_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline"
	scen "github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// scenario is a short run of the queue workload on a 3-node RabbitMQ
// cluster in Docker: 8 s of load, a fault every 2 s.
func scenario(t *testing.T, nemesis string, opts map[string]string, seed uint64) scen.Scenario {
	sc := scen.Default()
	sc.Cluster.Target, sc.Cluster.Runtime = "rabbitmq", pick.Docker
	sc.Cluster.Options = opts
	sc.Cluster.HealthTimeout = scen.Duration(120 * time.Second)
	sc.Load.Workload = "queue"
	sc.Load.Duration = scen.Duration(8 * time.Second)
	sc.Load.Rate = "150"
	sc.Load.Timeout = scen.Duration(5 * time.Second)
	sc.Chaos.Nemesis = []string{nemesis}
	sc.Chaos.Interval = scen.Duration(2 * time.Second)
	sc.Chaos.Quiet = scen.Duration(5 * time.Second)
	sc.Check.Options = map[string]string{"redelivers": "true", "at-least-once": "true"}
	sc.Out = t.TempDir()
	sc.Seed = seed
	if s := os.Getenv("FAULTLINE_SEED"); s != "" {
		n, _ := strconv.ParseUint(s, 10, 64)
		sc.Seed = n
	}
	return sc
}

func need(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a cluster in Docker")
	}
	t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
}

// TestMeasure runs one case named by FAULTLINE_RABBITMQ_CASE
// (nemesis,queue-type[,partition-handling[,net-ticktime]]), for the README's measurements over seeds
// (FAULTLINE_SEED): it reports the verdicts and expects nothing.
func TestMeasure(t *testing.T) {
	c := os.Getenv("FAULTLINE_RABBITMQ_CASE")
	if c == "" {
		t.Skip("FAULTLINE_RABBITMQ_CASE not set")
	}
	need(t)
	f := strings.Split(c, ",")
	if len(f) < 2 || len(f) > 4 {
		t.Fatalf("FAULTLINE_RABBITMQ_CASE %q: want nemesis,queue-type[,partition-handling[,net-ticktime]]", c)
	}
	opts := map[string]string{"queue-type": f[1]}
	if len(f) >= 3 {
		opts["partition-handling"] = f[2]
	}
	if len(f) == 4 {
		opts["net-ticktime"] = f[3]
	}
	sc := scenario(t, f[0], opts, 1)
	// FAULTLINE_INTERVAL and FAULTLINE_DURATION lengthen the faults and
	// the load (partitions that outlast the tick time).
	if d, err := time.ParseDuration(os.Getenv("FAULTLINE_INTERVAL")); err == nil {
		sc.Chaos.Interval = scen.Duration(d)
	}
	if d, err := time.ParseDuration(os.Getenv("FAULTLINE_DURATION")); err == nil {
		sc.Load.Duration = scen.Duration(d)
	}
	out, err := faultline.RunContext(t.Context(), sc)
	if out == nil {
		t.Fatal(err)
	}
	t.Logf("MEASURE %s seed %d: %s (%v)", c, sc.Seed, out.Summary.Verdict, err)
	for _, c := range out.Summary.Checks {
		t.Logf("MEASURE   %s: %s %s", c.Checker, c.Verdict, c.Summary)
	}
}

// Quorum queues lose nothing when partitions isolate nodes.
func TestQuorumUnderPartitionValid(t *testing.T) {
	need(t)
	faultline.RunExpect(t, scenario(t, "partition", nil, 1), checkers.Valid)
}

// A classic queue with transient messages loses what its node held when
// the nodes are killed: invalid, the lost messages named.
func TestClassicKillLosesMessages(t *testing.T) {
	need(t)
	out := faultline.RunExpect(t, scenario(t, "kill-all", map[string]string{"queue-type": "classic"}, 1), checkers.Invalid)
	for _, c := range out.Summary.Checks {
		if c.Checker == "queue" && (c.Verdict != checkers.Invalid || c.Stats["lost"] == 0) {
			t.Errorf("queue: %s with %d lost, want invalid with lost messages", c.Verdict, c.Stats["lost"])
		}
	}
}
