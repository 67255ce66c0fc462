package chaos

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestShapeSample checks, for each distribution, that the drawn delays
// have the asked median and standard deviation (pure arithmetic, seeded),
// and that the same seed draws the same delays.
func TestShapeSample(t *testing.T) {
	for _, dist := range []string{DistUniform, DistNormal, DistPareto} {
		s := Shape{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Dist: dist}
		draw := func(seed uint64) []float64 {
			rnd := rand.New(rand.NewPCG(seed, 1))
			out := make([]float64, 200000)
			for i := range out {
				out[i] = float64(s.Sample(rnd))
			}
			return out
		}
		d := draw(1)
		if !slices.Equal(d[:100], draw(1)[:100]) {
			t.Errorf("%s: the same seed drew different delays", dist)
		}
		sorted := slices.Clone(d)
		slices.Sort(sorted)
		med := sorted[len(sorted)/2]
		var sum, sq float64
		for _, x := range d {
			sum += x
		}
		mean := sum / float64(len(d))
		for _, x := range d {
			sq += (x - mean) * (x - mean)
		}
		sd := math.Sqrt(sq / float64(len(d)))
		t.Logf("%s: median %v sd %v", dist, time.Duration(med), time.Duration(sd))
		if math.Abs(med-float64(s.Delay)) > float64(200*time.Microsecond) {
			t.Errorf("%s: median %v, want %v", dist, time.Duration(med), s.Delay)
		}
		if math.Abs(sd-float64(s.Jitter)) > 0.05*float64(s.Jitter) {
			t.Errorf("%s: sd %v, want %v", dist, time.Duration(sd), s.Jitter)
		}
		if sorted[0] < 0 {
			t.Errorf("%s: negative delay", dist)
		}
	}
}

// TestPacketParams checks what the packet, slow and kill faults accept and
// refuse, each refusal one line naming the parameter.
func TestPacketParams(t *testing.T) {
	good := []string{
		"packet", "packet:delay=20ms,jitter=5ms,dist=pareto,links=n1->n3+n2->n1",
		"packet-loss:loss=7.5,around=leader", "packet-rate:rate=10mbit", "packet:corrupt=1,duplicate=2,reorder=49",
		"slow-cpu", "slow-cpu:quota=20%,node=n2", "slow-io:bps=512KB,node=follower",
		"kill:signal=TERM", "kill-leader:signal=SIGINT,grace=2s", "kill-follower:signal=15",
	}
	for _, spec := range good {
		if _, err := Lookup(spec, DefaultOptions()); err != nil {
			t.Errorf("%s: %v", spec, err)
		}
	}
	bad := map[string]string{
		"packet:links=n1-n3":                "links",
		"packet:links=n1->n1":               "links",
		"packet:reorder=50":                 "reorder",
		"packet:dist=cauchy":                "dist",
		"packet:loss=120":                   "loss",
		"packet:rate=fast":                  "rate",
		"packet:links=n1->n2,around=leader": "exclude",
		"packet:colour=red":                 "colour",
		"slow-cpu:quota=abc":                "quota",
		"slow-cpu:node=x":                   "node",
		"slow-io:bps=-1":                    "bps",
		"kill:signal=FOO":                   "signal",
		"kill:grace=0s":                     "grace",
	}
	for spec, word := range bad {
		_, err := Lookup(spec, DefaultOptions())
		if err == nil || !strings.Contains(err.Error(), word) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming %s", spec, err, word)
		}
	}
	// A link naming n7 needs 7 nodes: bench refuses it on a smaller cluster.
	f, _ := Lookup("packet:links=n7->n1", DefaultOptions())
	if n := f.Needs(); n.Nodes != 7 || !n.Queue || !n.Network {
		t.Errorf("needs %+v", n)
	}
}
