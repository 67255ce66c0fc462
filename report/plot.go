package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/faultline/faultline/history"

	"github.com/faultline/faultline/internal/safefile"
)

// Colours of outcomes and fault windows, shared by every plot.
var (
	ColorOK    = color.RGBA{R: 0x2e, G: 0x8b, B: 0x57, A: 0xff}
	ColorFail  = color.RGBA{R: 0xe6, G: 0x9f, B: 0x00, A: 0xff}
	ColorInfo  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	ColorFault = color.NRGBA{R: 0x90, G: 0x90, B: 0xd0, A: 0x50}
)

// FaultShade shades fault windows over the whole height of a plot and labels
// each with its fault kind. It has no data range of its own, so it never
// stretches the axes.
type FaultShade struct {
	Windows []history.Window
	Color   color.Color
}

// Plot implements plot.Plotter.
func (f *FaultShade) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	sty := draw.TextStyle{Color: color.RGBA{R: 0x40, G: 0x40, B: 0x70, A: 0xff}, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler}
	sty.Font.Size = vg.Points(8)
	for _, w := range f.Windows {
		x0 := trX(float64(w.Start) / 1e9)
		x1 := trX(float64(w.End) / 1e9)
		x0, x1 = max(x0, c.Min.X), min(x1, c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(f.Color, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: c.Max.Y - vg.Points(10)}, w.Kind)
	}
}

// Thumbnail implements plot.Thumbnailer for the legend.
func (f *FaultShade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(f.Color, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

// LatencyPlot is every operation's latency against the time it was invoked,
// coloured by outcome, with the p50 and p99 of ok operations per second as
// lines and fault windows shaded. Operations that never completed are left
// out: they have no latency.
func LatencyPlot(title string, ops []history.Op, faults []history.Window, span float64) (*plot.Plot, error) {
	p := newTimePlot(title, "latency (ms, log scale)", faults, span)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}

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
		pts := groups[g.t]
		if len(pts) == 0 {
			continue
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("latency plot: %w", err)
		}
		s.GlyphStyle.Color = g.color
		s.GlyphStyle.Radius = vg.Points(1.2)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", g.name, len(pts)), s)
	}
	p50, p99 := PercentileLines(ops, span)
	for _, l := range []struct {
		name   string
		xys    plotter.XYs
		dashes []vg.Length
	}{{"p50 per second", p50, nil}, {"p99 per second", p99, []vg.Length{vg.Points(4), vg.Points(2)}}} {
		if len(l.xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(l.xys)
		if err != nil {
			return nil, fmt.Errorf("latency plot: %w", err)
		}
		line.Color, line.Width, line.Dashes = color.Black, vg.Points(1.2), l.dashes
		p.Add(line)
		p.Legend.Add(l.name, line)
	}
	// Headroom above the data keeps the legend off the points.
	p.Y.Min, p.Y.Max = lo/1.5, hi*8
	return p, nil
}

// SavePlot writes p as name.png and name.svg into dir and returns the file names.
func SavePlot(p *plot.Plot, dir, name string) ([]string, error) {
	var files []string
	for _, ext := range []string{".png", ".svg"} {
		f := name + ext
		w, err := p.WriterTo(10*vg.Inch, 5*vg.Inch, ext[1:])
		var buf bytes.Buffer
		if err == nil {
			_, err = w.WriteTo(&buf)
		}
		if err == nil {
			err = safefile.WriteFile(dir, f, buf.Bytes(), 0o644)
		}
		if err != nil {
			return files, fmt.Errorf("save %s: %w", f, err)
		}
		files = append(files, f)
	}
	return files, nil
}
