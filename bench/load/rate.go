package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Schedule is a vegeta pacer whose plan is known hit by hit, so that every
// request's intended send time can be recorded and latency measured from it
// (as wrk2 does) rather than from when a busy generator got round to sending.
type Schedule interface {
	vegeta.Pacer
	// Due is the elapsed time at which hit n (0-based) is meant to be sent.
	Due(n uint64) time.Duration
	// DueBy is how many hits are meant to have been sent by elapsed t.
	DueBy(t time.Duration) uint64
}

// ClosedLoop is the closed-loop mode: a fixed number of processes, each
// sending its next operation as soon as the previous one completed. It has no
// schedule, so no intended send time: latency is the client's own.
type ClosedLoop struct{ Processes int }

// Pace sends as fast as the processes allow: vegeta's workers are capped at
// Processes, so its attack loop waits for a free one.
func (ClosedLoop) Pace(time.Duration, uint64) (time.Duration, bool) { return 0, false }

// Rate is unknown in advance in a closed loop.
func (ClosedLoop) Rate(time.Duration) float64 { return 0 }

func (c ClosedLoop) String() string { return fmt.Sprintf("closed loop, %d processes", c.Processes) }

// ParseRate parses --rate for a load of duration d:
//
//	500                constant, operations per second
//	ramp:100..2000     linear from 100/s to 2000/s over d
//	sine:500,300,20s   mean 500/s, amplitude 300/s, period 20 s
//	closed:16          closed loop with 16 processes
//
// The open-loop forms are vegeta's own pacers (ConstantPacer, LinearPacer,
// SinePacer) with their schedules made explicit.
func ParseRate(s string, d time.Duration) (vegeta.Pacer, error) {
	s = strings.TrimSpace(s)
	kind, arg, hasKind := strings.Cut(s, ":")
	if !hasKind {
		f, err := parsePerSecond(s)
		if err != nil {
			return nil, fmt.Errorf("--rate %q: want operations per second (200), ramp:FROM..TO, sine:MEAN,AMP,PERIOD or closed:PROCESSES", s)
		}
		return newConstant(f), nil
	}
	switch kind {
	case "ramp":
		from, to, ok := strings.Cut(arg, "..")
		a, err1 := parsePerSecond(from)
		b, err2 := parsePerSecond(to)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--rate %q: want ramp:FROM..TO in operations per second, e.g. ramp:100..2000", s)
		}
		if d <= 0 {
			return nil, fmt.Errorf("--rate %q: a ramp needs a positive --duration", s)
		}
		return newRamp(a, b, d), nil
	case "sine":
		parts := strings.Split(arg, ",")
		if len(parts) != 3 {
			return nil, fmt.Errorf("--rate %q: want sine:MEAN,AMPLITUDE,PERIOD, e.g. sine:500,300,20s", s)
		}
		mean, err1 := parsePerSecond(parts[0])
		amp, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		period, err3 := time.ParseDuration(strings.TrimSpace(parts[2]))
		if err1 != nil || err2 != nil || err3 != nil || period <= 0 || amp < 0 || math.IsNaN(amp) {
			return nil, fmt.Errorf("--rate %q: want sine:MEAN,AMPLITUDE,PERIOD with a positive mean and period, e.g. sine:500,300,20s", s)
		}
		if amp >= mean {
			return nil, fmt.Errorf("--rate %q: the amplitude must be below the mean (the rate must stay positive)", s)
		}
		return newSine(mean, amp, period), nil
	case "closed":
		n, err := strconv.Atoi(strings.TrimSpace(arg))
		if err != nil || n < 1 || n > 100000 {
			return nil, fmt.Errorf("--rate %q: want closed:PROCESSES with 1 to 100000 processes, e.g. closed:16", s)
		}
		return ClosedLoop{Processes: n}, nil
	}
	return nil, fmt.Errorf("--rate %q: unknown kind %q (want a number, ramp:, sine: or closed:)", s, kind)
}

func parsePerSecond(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	if f <= 0 || f > 1e7 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%v: must be a positive number of operations per second", s)
	}
	return f, nil
}

// perSecond expresses f per second as vegeta's whole hits per period,
// stretching the period for fractional rates.
func perSecond(f float64) vegeta.Rate {
	per := time.Second
	for f != math.Trunc(f) && per < time.Hour {
		f *= 10
		per *= 10
	}
	return vegeta.Rate{Freq: int(math.Round(f)), Per: per}
}

// constant is vegeta's ConstantPacer: hit n leaves at (n+1) intervals, the
// interval truncated to whole nanoseconds exactly as vegeta does.
type constant struct {
	vegeta.ConstantPacer
	interval time.Duration
}

func newConstant(f float64) constant {
	p := perSecond(f)
	return constant{ConstantPacer: p, interval: p.Per / time.Duration(p.Freq)}
}

func (c constant) Due(n uint64) time.Duration { return time.Duration(n+1) * c.interval }

func (c constant) DueBy(t time.Duration) uint64 {
	if t < c.interval {
		return 0
	}
	return uint64(t / c.interval)
}

func (c constant) String() string {
	return fmt.Sprintf("%g/s", float64(c.Freq)*float64(time.Second)/float64(c.Per))
}

// ramp is vegeta's LinearPacer from one rate to another over the run. Its
// hits by t are H(t) = a t²/2 + b t; vegeta sends hit 0 at once and hit n
// when H reaches n+1.
type ramp struct {
	vegeta.LinearPacer
	from, to float64
	d        time.Duration
}

func newRamp(from, to float64, d time.Duration) ramp {
	start := perSecond(from)
	b := float64(start.Freq) * float64(time.Second) / float64(start.Per)
	return ramp{
		LinearPacer: vegeta.LinearPacer{StartAt: start, Slope: (to - b) / d.Seconds()},
		from:        from, to: to, d: d,
	}
}

func (r ramp) hits(t time.Duration) float64 {
	x := t.Seconds()
	b := float64(r.StartAt.Freq) * float64(time.Second) / float64(r.StartAt.Per)
	return r.Slope*x*x/2 + b*x
}

func (r ramp) Due(n uint64) time.Duration {
	if n == 0 {
		return 0
	}
	h := float64(n + 1)
	a := r.Slope
	b := float64(r.StartAt.Freq) * float64(time.Second) / float64(r.StartAt.Per)
	disc := b*b + 2*a*h
	if disc < 0 {
		// A falling ramp that reached zero never sends hit n.
		return time.Duration(math.MaxInt64)
	}
	// The root of a/2 x² + b x = h, in the form that stays exact when a = 0.
	x := 2 * h / (b + math.Sqrt(disc))
	return time.Duration(x * float64(time.Second))
}

func (r ramp) DueBy(t time.Duration) uint64 {
	if t < 0 {
		return 0
	}
	return uint64(math.Max(1, math.Floor(r.hits(t)+1e-9)))
}

func (r ramp) String() string { return fmt.Sprintf("ramp %g/s to %g/s over %v", r.from, r.to, r.d) }

// sine is vegeta's SinePacer starting at the mean and rising; vegeta sends
// hit n when its H(t) reaches n+1.
type sine struct {
	vegeta.SinePacer
	mean, amp float64 // hits per second
}

func newSine(mean, amp float64, period time.Duration) sine {
	m, a := perSecond(mean), perSecond(amp)
	return sine{
		SinePacer: vegeta.SinePacer{Period: period, Mean: m, Amp: a, StartAt: vegeta.MeanUp},
		mean:      float64(m.Freq) * float64(time.Second) / float64(m.Per),
		amp:       float64(a.Freq) * float64(time.Second) / float64(a.Per),
	}
}

// hits is the integral of the rate, as vegeta computes it, with t in seconds.
func (s sine) hits(x float64) float64 {
	p := s.Period.Seconds()
	w := 2 * math.Pi / p
	return s.mean*x + s.amp/w*(math.Cos(s.StartAt)-math.Cos(s.StartAt+w*x))
}

func (s sine) Due(n uint64) time.Duration {
	h := float64(n + 1)
	p := s.Period.Seconds()
	w := 2 * math.Pi / p
	// H is strictly increasing (the rate stays above mean-amp > 0): Newton
	// from the mean-rate guess, kept inside a shrinking bracket.
	lo, hi := h/(s.mean+s.amp), h/(s.mean-s.amp)
	x := h / s.mean
	for range 50 {
		f := s.hits(x) - h
		if math.Abs(f) < 1e-6 {
			break
		}
		if f > 0 {
			hi = x
		} else {
			lo = x
		}
		nx := x - f/(s.mean+s.amp*math.Sin(s.StartAt+w*x))
		if nx <= lo || nx >= hi {
			nx = (lo + hi) / 2
		}
		x = nx
	}
	return time.Duration(x * float64(time.Second))
}

func (s sine) DueBy(t time.Duration) uint64 {
	if t <= 0 {
		return 0
	}
	return uint64(math.Floor(s.hits(t.Seconds()) + 1e-9))
}

func (s sine) String() string {
	return fmt.Sprintf("sine %g/s ± %g/s, period %v", s.mean, s.amp, s.Period)
}
