package load

import (
	"math"
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	d := 30 * time.Second
	for _, s := range []string{"200", "0.5", "ramp:100..2000", "ramp:2000..100", "sine:500,300,20s", "sine:500,0,1m", "closed:16"} {
		if _, err := ParseRate(s, d); err != nil {
			t.Errorf("ParseRate(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "-5", "0", "fast", "ramp:100", "ramp:..5", "ramp:0..10", "sine:500,600,20s",
		"sine:500,300", "sine:500,300,0s", "sine:0,0,1s", "closed:0", "closed:x", "wave:1", "NaN", "Inf"} {
		if _, err := ParseRate(s, d); err == nil {
			t.Errorf("ParseRate(%q): no error", s)
		}
	}
	if p, _ := ParseRate("closed:16", d); p.(ClosedLoop).Processes != 16 {
		t.Errorf("closed:16 parsed as %v", p)
	}
}

// simulate runs vegeta's attack loop against a clock that never lags: each
// hit leaves after the wait its pacer asked for. It returns when each of the
// first n hits left.
func simulate(s Schedule, n int) []time.Duration {
	var now time.Duration
	sent := make([]time.Duration, n)
	for i := range n {
		wait, stop := s.Pace(now, uint64(i))
		if stop {
			return sent[:i]
		}
		now += max(wait, 0)
		sent[i] = now
	}
	return sent
}

// Due must be vegeta's own schedule, or intended times would be wrong; DueBy
// must count the hits Due places at or before t.
func TestScheduleMatchesVegetaPacers(t *testing.T) {
	d := 10 * time.Second
	for _, s := range []string{"200", "333.3", "7", "ramp:100..2000", "ramp:2000..100", "sine:500,300,2s", "sine:50,40,1s"} {
		p, err := ParseRate(s, d)
		if err != nil {
			t.Fatal(err)
		}
		sch := p.(Schedule)
		sent := simulate(sch, 3000)
		for i, at := range sent {
			if at > d || i == 0 {
				continue
			}
			due := sch.Due(uint64(i))
			diff := at - due
			if diff < 0 {
				diff = -diff
			}
			// vegeta steps its ramp by the current interval and gives up
			// solving its sine after 5 iterations: allow a tenth of the
			// local interval.
			if interval := due - sch.Due(uint64(i-1)); diff > time.Millisecond+interval/10 {
				t.Errorf("%s: vegeta sends hit %d at %v, Due says %v (interval %v)", s, i, at, due, interval)
				break
			}
		}
		for _, at := range []time.Duration{time.Second, 3 * time.Second, 7500 * time.Millisecond} {
			n := sch.DueBy(at)
			if n > 0 && sch.Due(n-1) > at+time.Microsecond {
				t.Errorf("%s: DueBy(%v) = %d but hit %d is due at %v", s, at, n, n-1, sch.Due(n-1))
			}
			if sch.Due(n) <= at-time.Microsecond {
				t.Errorf("%s: DueBy(%v) = %d but hit %d is due at %v", s, at, n, n, sch.Due(n))
			}
		}
	}
}

// The schedules plan the counts their rates promise.
func TestScheduleCounts(t *testing.T) {
	d := 10 * time.Second
	for _, c := range []struct {
		rate string
		want float64
	}{
		{"200", 2000},
		{"ramp:100..300", 2000},                           // mean 200
		{"ramp:300..100", 2000},                           // mean 200
		{"sine:200,100,2500ms", 2000},                     // whole periods: the mean
		{"sine:200,100,20s", 2000 + 100*20/(2*math.Pi)*2}, // half a period above the mean
	} {
		p, _ := ParseRate(c.rate, d)
		got := float64(p.(Schedule).DueBy(d))
		if math.Abs(got-c.want) > 2 {
			t.Errorf("%s: %v hits due in %v, want %v", c.rate, got, d, c.want)
		}
	}
}
