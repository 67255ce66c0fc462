package nats_test

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

// scenario is a short run of workload on a 3-node JetStream cluster in
// Docker: 8 s of load, a fault every 2 s.
func scenario(t *testing.T, workload, nemesis string, opts map[string]string, seed uint64) scen.Scenario {
	sc := scen.Default()
	sc.Cluster.Target, sc.Cluster.Runtime = "nats", pick.Docker
	sc.Cluster.Options = opts
	sc.Load.Workload = workload
	sc.Load.Duration = scen.Duration(8 * time.Second)
	sc.Load.Rate = "150"
	sc.Load.Timeout = scen.Duration(5 * time.Second)
	sc.Chaos.Nemesis = []string{nemesis}
	sc.Chaos.Interval = scen.Duration(2 * time.Second)
	sc.Chaos.Quiet = scen.Duration(3 * time.Second)
	sc.Check.Options = map[string]string{"redelivers": "true"}
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

// R3 streams lose nothing when a partition isolates nodes: the queue
// checker is valid (the workload R1 loses messages in). The log workload
// and the R3 key-value bucket read from its leader (linearizable) run under
// the long tag: long_test.go.
func TestR3UnderPartitionValid(t *testing.T) {
	r3UnderPartitionValid(t, "queue")
}

func r3UnderPartitionValid(t *testing.T, workloads ...string) {
	need(t)
	for _, wl := range workloads {
		t.Run(wl, func(t *testing.T) {
			out := faultline.RunExpect(t, scenario(t, wl, "partition", nil, 1), checkers.Valid)
			for _, c := range out.Summary.Checks {
				t.Logf("%s: %s %s", c.Checker, c.Verdict, c.Summary)
			}
		})
	}
}

// R1 streams in memory lose what the killed node held: the queue checker is
// invalid and names the lost messages.
func TestR1KillLosesMessages(t *testing.T) {
	need(t)
	sc := scenario(t, "queue", "kill-all", map[string]string{"replicas": "1", "storage": "memory"}, 1)
	out := faultline.RunExpect(t, sc, checkers.Invalid)
	for _, c := range out.Summary.Checks {
		t.Logf("%s: %s %s", c.Checker, c.Verdict, c.Summary)
		if c.Checker == "queue" {
			if c.Verdict != checkers.Invalid || c.Stats["lost"] == 0 {
				t.Errorf("queue: %s with %d lost, want invalid with lost messages", c.Verdict, c.Stats["lost"])
			}
		}
	}
}

// TestMeasure runs one case named by FAULTLINE_NATS_CASE
// (workload,nemesis,replicas,storage[,kv-read]), for the README's measurements over
// seeds (FAULTLINE_SEED): it reports the verdicts and expects nothing.
func TestMeasure(t *testing.T) {
	c := os.Getenv("FAULTLINE_NATS_CASE")
	if c == "" {
		t.Skip("FAULTLINE_NATS_CASE not set")
	}
	need(t)
	f := strings.Split(c, ",")
	if len(f) != 4 && len(f) != 5 {
		t.Fatalf("FAULTLINE_NATS_CASE %q: want workload,nemesis,replicas,storage[,kv-read]", c)
	}
	opts := map[string]string{"replicas": f[2], "storage": f[3]}
	if len(f) == 5 {
		opts["kv-read"] = f[4]
	}
	sc := scenario(t, f[0], f[1], opts, 1)
	out, err := faultline.RunContext(t.Context(), sc)
	if out == nil {
		t.Fatal(err)
	}
	t.Logf("MEASURE %s seed %d: %s (%v)", c, sc.Seed, out.Summary.Verdict, err)
	for _, c := range out.Summary.Checks {
		t.Logf("MEASURE   %s: %s %s", c.Checker, c.Verdict, c.Summary)
	}
}
