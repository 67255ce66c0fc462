package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/faultline/faultline/history"

	"github.com/faultline/faultline/internal/plotx"
)

// Colours of outcomes and fault windows, shared by every plot (plotx's).
var (
	ColorOK    = plotx.ColorOK
	ColorFail  = plotx.ColorFail
	ColorInfo  = plotx.ColorInfo
	ColorFault = plotx.ColorFault
)

// FaultShade shades fault windows over the whole height of a plot and labels
// each with its fault kind; it never stretches the axes.
type FaultShade = plotx.FaultShade

// LatencyPlot is every operation's latency against the time it was invoked,
// coloured by outcome, with the p50 and p99 of ok operations per second as
// lines and fault windows shaded. Operations that never completed are left
// out: they have no latency.
func LatencyPlot(title string, ops []history.Op, faults []history.Window, span float64) (*plot.Plot, error) {
	p := newTimePlot(title, "latency (ms, log scale)", faults, span)
	plotx.LogY(p)

	groups := map[history.Type]plotter.XYs{}
	lo, hi := math.Inf(1), 0.0
	for _, op := range ops {
		if op.Return < 0 {
			continue
		}
		ms := math.Max(float64(op.Return-op.Call)/1e6, 0.01)
		lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		groups[op.Type] = append(groups[op.Type], plotter.XY{X: float64(op.Call) / 1e9, Y: ms})
	}
	if hi == 0 {
		lo, hi = 0.1, 1
	}
	for _, g := range outcomes {
		if pts := groups[g.t]; len(pts) > 0 {
			if err := plotx.AddScatter(p, fmt.Sprintf("%s (%d)", g.name, len(pts)), pts, g.color); err != nil {
				return nil, fmt.Errorf("latency plot: %w", err)
			}
		}
	}
	p50, p99 := PercentileLines(ops, span)
	if err := plotx.AddPercentileLines(p, p50, p99, true); err != nil {
		return nil, fmt.Errorf("latency plot: %w", err)
	}
	// Headroom above the data keeps the legend off the points.
	p.Y.Min, p.Y.Max = lo/1.5, hi*8
	return p, nil
}

// SavePlot writes p as name.png and name.svg into dir and returns the file names.
func SavePlot(p *plot.Plot, dir, name string) ([]string, error) { return plotx.Save(p, dir, name) }
