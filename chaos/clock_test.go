package chaos

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestClockFaultParameters(t *testing.T) {
	for _, spec := range []string{"clock-skew", "clock-skew:max=2s", "clock-bump", "clock-bump:delta=-5s,node=leader", "clock-strobe:delta=1s,period=20ms,node=follower"} {
		f, err := Lookup(spec, DefaultOptions())
		if err != nil {
			t.Errorf("%s: %v", spec, err)
			continue
		}
		if !f.Needs().Clock {
			t.Errorf("%s does not say it needs a clock hook", spec)
		}
	}
	for _, spec := range []string{"clock-skew:delta=1s", "clock-skew:node=leader", "clock-skew:max=0", "clock-bump:max=-1s", "clock-bump:node=all",
		"clock-strobe:max=1s", "clock-strobe:period=0", "clock-strobe:delta=0", "clock-bump:delta=soon"} {
		if _, err := Lookup(spec, DefaultOptions()); err == nil {
			t.Errorf("%s accepted", spec)
		}
	}
}

// A property: seeded offsets are within ±max, never smaller than a tenth of
// it, both signs come up, and a seed gives the same offsets.
func TestSeededOffsets(t *testing.T) {
	max := 2 * time.Second
	signs := map[bool]bool{}
	for seed := uint64(0); seed < 200; seed++ {
		a, b := rand.New(rand.NewPCG(seed, 3)), rand.New(rand.NewPCG(seed, 3))
		d := seeded(a, max)
		if d != seeded(b, max) {
			t.Fatalf("seed %d: two draws differ", seed)
		}
		if d.Abs() > max || d.Abs() < max/10 {
			t.Fatalf("seed %d: offset %v outside ±[%v, %v]", seed, d, max/10, max)
		}
		signs[d > 0] = true
	}
	if len(signs) != 2 {
		t.Error("offsets of only one sign")
	}
}
