package delivery

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/faultline/faultline/history"

	"github.com/faultline/faultline/internal/plotx"
)

// maxPoints caps the scatter: beyond it every k-th sample is drawn (the
// per-second percentile lines still use every sample).
const maxPoints = 200_000

// Plot is each delivered message's delivery latency against the time its
// send was acknowledged, coloured by whether it waited through a fault, with
// the p50 and p99 per second of acknowledgement as lines and fault windows
// shaded: the report's latency plot, for deliveries. span is the run's
// length in seconds (0: up to the last sample).
func Plot(title string, samples []Sample, faults []history.Window, span float64) (*plot.Plot, error) {
	for _, s := range samples {
		span = math.Max(span, float64(s.Delivered)/1e9)
	}
	p := plotx.TimePlot(title, "send acknowledged at (s since start)", "delivery latency (ms, log scale)", faults, span)
	plotx.LogY(p)

	stride := max(1, (len(samples)+maxPoints-1)/maxPoints)
	var out, in plotter.XYs
	lo, hi := math.Inf(1), 0.0
	for i, s := range samples {
		ms := math.Max(float64(s.Delivered-s.Ack)/1e6, 0.01)
		lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		if i%stride != 0 {
			continue
		}
		xy := plotter.XY{X: float64(s.Ack) / 1e9, Y: ms}
		if Overlaps(s.Ack, s.Delivered, faults) {
			in = append(in, xy)
		} else {
			out = append(out, xy)
		}
	}
	if hi == 0 {
		lo, hi = 0.1, 1
	}
	for _, g := range []struct {
		name string
		xys  plotter.XYs
		late bool
	}{{"delivered outside faults", out, false}, {"waited through a fault", in, true}} {
		if len(g.xys) == 0 {
			continue
		}
		label := fmt.Sprintf("%s (%d)", g.name, len(g.xys))
		if stride > 1 {
			label = fmt.Sprintf("%s (1 in %d drawn)", g.name, stride)
		}
		c := plotx.ColorOK
		if g.late {
			c = plotx.ColorInfo
		}
		if err := plotx.AddScatter(p, label, g.xys, c); err != nil {
			return nil, fmt.Errorf("delivery plot: %w", err)
		}
	}
	p50, p99 := Lines(PerSecond(samples, 1), 1)
	if err := plotx.AddPercentileLines(p, p50, p99, true); err != nil {
		return nil, fmt.Errorf("delivery plot: %w", err)
	}
	// Headroom above the data keeps the legend off the points.
	p.Y.Min, p.Y.Max = lo/1.5, hi*8
	return p, nil
}

// Lines are a series' p50 and p99 (buckets of width seconds) as plot
// lines, at the middle of each bucket (ms, at least 0.01 for a log scale).
func Lines(series []Second, width float64) (p50, p99 plotter.XYs) {
	for _, s := range series {
		x := s.StartS + width/2
		p50 = append(p50, plotter.XY{X: x, Y: math.Max(s.P50, 0.01)})
		p99 = append(p99, plotter.XY{X: x, Y: math.Max(s.P99, 0.01)})
	}
	return p50, p99
}

// WritePlot draws Plot into dir as name.png and name.svg and returns the
// file names (relative to dir), for a checker's Artifacts.
func WritePlot(dir, name, title string, samples []Sample, faults []history.Window) ([]string, error) {
	p, err := Plot(title, samples, faults, 0)
	if err != nil {
		return nil, err
	}
	return plotx.Save(p, dir, name)
}
