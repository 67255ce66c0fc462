package netfault

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Shape is what a packet fault does to every packet of the links it names:
// the netem set of faults, done in user space by a Shaper. Rates are fractions (0.1 is
// 10%).
type Shape struct {
	// Delay is the median delay; Jitter the standard deviation around it,
	// whatever Dist (uniform: delay ± √3·jitter; pareto: shape 5, shifted
	// so that the median is Delay).
	Delay, Jitter time.Duration
	Dist          string
	Loss          float64
	Duplicate     float64
	// Reorder is the share of packets that arrive after the packet sent
	// just after them (below 0.5).
	Reorder float64
	// Corrupt is the share of packets with one bit flipped after the IP
	// header; checksums are not fixed, so receivers drop them as a damaged
	// link's would be.
	Corrupt float64
	// Rate caps each link, in bytes per second (0: no cap).
	Rate int64
}

// Distributions of the delay.
const (
	DistUniform = "uniform"
	DistNormal  = "normal"
	DistPareto  = "pareto"
)

func (s Shape) String() string {
	var parts []string
	if s.Delay > 0 || s.Jitter > 0 {
		parts = append(parts, fmt.Sprintf("delay %v ± %v (%s, jitter = standard deviation)", s.Delay, s.Jitter, s.Dist))
	}
	for _, r := range []struct {
		what string
		p    float64
	}{{"loss", s.Loss}, {"duplicate", s.Duplicate}, {"reorder", s.Reorder}, {"corrupt", s.Corrupt}} {
		if r.p > 0 {
			parts = append(parts, fmt.Sprintf("%s %g%%", r.what, r.p*100))
		}
	}
	if s.Rate > 0 {
		parts = append(parts, "rate "+HumanRate(s.Rate))
	}
	if len(parts) == 0 {
		return "pass every packet through the queue (no change: the queue's own cost)"
	}
	return strings.Join(parts, ", ")
}

// Sample draws one packet's delay.
func (s Shape) Sample(rnd *rand.Rand) time.Duration {
	if s.Jitter == 0 {
		return s.Delay
	}
	j := float64(s.Jitter)
	var x float64
	switch s.Dist {
	case DistUniform:
		x = math.Sqrt(3) * (2*rnd.Float64() - 1)
	case DistPareto:
		// Pareto of shape a: U^(-1/a), median 2^(1/a), standard deviation
		// sqrt(a/((a-1)²(a-2))); shape 5 keeps the spread's estimate stable.
		const a = 5.0
		med := math.Pow(2, 1/a)
		sd := math.Sqrt(a / ((a - 1) * (a - 1) * (a - 2)))
		x = (math.Pow(1-rnd.Float64(), -1/a) - med) / sd
	default:
		x = rnd.NormFloat64()
	}
	return max(0, s.Delay+time.Duration(x*j))
}

// HumanRate writes bytes per second as 1MB/s, 512KB/s or 100B/s.
func HumanRate(r int64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%gMB/s", float64(r)/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%gKB/s", float64(r)/1e3)
	}
	return fmt.Sprintf("%dB/s", r)
}
