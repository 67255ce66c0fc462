package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"

	"github.com/faultline/faultline/internal/plotx"
)

// outcomes in the order every plot draws and lists them.
var outcomes = []struct {
	t     history.Type
	name  string
	color color.Color
}{{history.OK, "ok", ColorOK}, {history.Fail, "fail", ColorFail}, {history.Info, "info", ColorInfo}}

// InFault reports whether time t (ns) falls in one of the windows.
func InFault(t int64, ws []history.Window) bool {
	for _, w := range ws {
		if t >= w.Start && t <= w.End {
			return true
		}
	}
	return false
}

// perSecond buckets values by the second of ts (ns); bucket i covers [i, i+1) s.
func buckets(span float64) int { return int(math.Ceil(math.Max(span, 1))) }

// ThroughputPlot is completed operations per second, one line per outcome,
// against the second they completed in, with fault windows shaded.
func ThroughputPlot(title string, ops []history.Op, faults []history.Window, span float64) (*plot.Plot, error) {
	n := buckets(span)
	counts := map[history.Type][]float64{}
	for _, o := range outcomes {
		counts[o.t] = make([]float64, n)
	}
	for _, op := range ops {
		if op.Return < 0 {
			continue
		}
		i := int(op.Return / 1e9)
		if i >= 0 && i < n {
			counts[op.Type][i]++
		}
	}
	p := newTimePlot(title, "operations completed per second", faults, span)
	top := 1.0
	for _, o := range outcomes {
		xys := make(plotter.XYs, n)
		any := false
		for i, c := range counts[o.t] {
			xys[i] = plotter.XY{X: float64(i) + 0.5, Y: c}
			any = any || c > 0
			top = math.Max(top, c)
		}
		if !any {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("throughput plot: %w", err)
		}
		l.Color, l.Width = o.color, vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(o.name, l)
	}
	p.Y.Min, p.Y.Max = 0, top*1.35
	return p, nil
}

// newTimePlot is a plot over [0, span] seconds with fault windows shaded
// (drawn first, so data stays on top) and in the legend.
func newTimePlot(title, ylabel string, faults []history.Window, span float64) *plot.Plot {
	return plotx.TimePlot(title, "time since start (s)", ylabel, faults, span)
}

// PercentileLines are the p50 and p99 latency (ms) of the operations that
// completed ok, per second of invocation.
func PercentileLines(ops []history.Op, span float64) (p50, p99 plotter.XYs) {
	n := buckets(span)
	per := make([][]float64, n)
	for _, op := range ops {
		if op.Return < 0 || op.Type != history.OK {
			continue
		}
		i := int(op.Call / 1e9)
		if i >= 0 && i < n {
			per[i] = append(per[i], float64(op.Return-op.Call)/1e6)
		}
	}
	for i, ls := range per {
		if len(ls) == 0 {
			continue
		}
		l := Percentiles(ls)
		p50 = append(p50, plotter.XY{X: float64(i) + 0.5, Y: math.Max(l.P50, 0.01)})
		p99 = append(p99, plotter.XY{X: float64(i) + 0.5, Y: math.Max(l.P99, 0.01)})
	}
	return p50, p99
}

// percentileTicks are the percentiles marked on the percentile plot's axis.
var percentileTicks = []float64{0, 50, 90, 99, 99.9, 99.99, 99.999}

// percentileX maps a percentile to the axis of an HDR-style percentile plot:
// log10(1/(1-p)), so 90, 99, 99.9 ... are evenly spaced.
func percentileX(p float64) float64 { return math.Log10(1 / (1 - math.Min(p, 99.9999)/100)) }

type percentileTicker struct{ max float64 }

func (t percentileTicker) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for _, p := range percentileTicks {
		x := percentileX(p)
		if x <= max+1e-9 {
			ts = append(ts, plot.Tick{Value: x, Label: fmt.Sprintf("%g%%", p)})
		}
	}
	return ts
}

// LatencySeries is a named set of latencies for the percentile plot.
type LatencySeries struct {
	Name    string
	Latency []float64 // ms
	Color   color.Color
	Dashes  []vg.Length
}

// SplitByFault splits the latencies (ms) of ok operations by whether they
// were invoked inside a fault window.
func SplitByFault(ops []history.Op, faults []history.Window) (inside, outside []float64) {
	for _, op := range ops {
		if op.Return < 0 || op.Type != history.OK {
			continue
		}
		ms := float64(op.Return-op.Call) / 1e6
		if InFault(op.Call, faults) {
			inside = append(inside, ms)
		} else {
			outside = append(outside, ms)
		}
	}
	return inside, outside
}

// PercentilePlot is an HDR-style latency-by-percentile plot of each series.
func PercentilePlot(title string, series []LatencySeries) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "percentile"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	xmax, lo, hi := percentileX(99), math.Inf(1), 0.0
	for _, s := range series {
		if len(s.Latency) == 0 {
			continue
		}
		sorted := append([]float64(nil), s.Latency...)
		sort.Float64s(sorted)
		n := len(sorted)
		// One point per rank would be millions; sample the percentile axis.
		var xys plotter.XYs
		for k := 0; k <= 400; k++ {
			x := percentileX(99.9999) * float64(k) / 400
			pct := 100 * (1 - math.Pow(10, -x))
			i := int(math.Ceil(pct/100*float64(n))) - 1
			i = max(0, min(i, n-1))
			y := math.Max(sorted[i], 0.01)
			xys = append(xys, plotter.XY{X: x, Y: y})
			lo, hi = math.Min(lo, y), math.Max(hi, y)
			if i == n-1 {
				xmax = math.Max(xmax, x)
				break
			}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("percentile plot: %w", err)
		}
		l.Color, l.Width, l.Dashes = s.Color, vg.Points(1.5), s.Dashes
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%d)", s.Name, n), l)
	}
	if hi == 0 {
		lo, hi = 0.1, 1
	}
	p.X.Min, p.X.Max = 0, xmax
	p.X.Tick.Marker = percentileTicker{max: xmax}
	p.Y.Min, p.Y.Max = lo/1.5, hi*1.5
	return p, nil
}

// availabilityBar is one bar of the availability plot.
type availabilityBar struct {
	label string
	ops   int
	ratio float64
}

func availabilityBars(d checkers.AvailabilityDetails) []availabilityBar {
	var bars []availabilityBar
	add := func(label string, w checkers.WindowStats) {
		b := availabilityBar{label: label, ops: w.Ops}
		if w.Availability != nil {
			b.ratio = *w.Availability
		}
		bars = append(bars, b)
	}
	for i, w := range d.Windows {
		add(fmt.Sprintf("%s #%d", w.Kind, i+1), w)
	}
	add("outside faults", d.Outside)
	return bars
}

// AvailabilityPlot draws one bar per fault window, and one for outside faults.
func AvailabilityPlot(title string, d checkers.AvailabilityDetails) (*plot.Plot, error) {
	av := availabilityBars(d)
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "operations that succeeded (fraction)"
	p.Add(plotter.NewGrid())
	vals := make(plotter.Values, len(av))
	names := make([]string, len(av))
	for i, a := range av {
		vals[i] = a.ratio
		names[i] = fmt.Sprintf("%s\n%d ops", a.label, a.ops)
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return nil, fmt.Errorf("availability plot: %w", err)
	}
	bars.Color = ColorOK
	bars.LineStyle.Width = 0
	p.Add(bars)
	labels := make([]string, len(av))
	xys := make(plotter.XYs, len(av))
	for i, a := range av {
		labels[i] = fmt.Sprintf("%.1f%%", 100*a.ratio)
		if a.ops == 0 {
			labels[i] = "no operations"
		}
		xys[i] = plotter.XY{X: float64(i), Y: a.ratio}
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XCenter
		l.TextStyle[i].YAlign = draw.YBottom
	}
	p.Add(l)
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = 0, 1.1
	return p, nil
}
