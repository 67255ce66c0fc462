// Package plotx holds the plotting pieces shared by the report and the
// checkers that draw their own plots (checkers/delivery): the colours, the
// fault-window shading, a time plot's frame, the per-second percentile lines
// and saving as PNG and SVG. It sits below both, so a checker never imports
// report (which reads the checkers' results).
package plotx

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
		x0 := max(trX(float64(w.Start)/1e9), c.Min.X)
		x1 := min(trX(float64(w.End)/1e9), c.Max.X)
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

var (
	_ plot.Plotter     = (*FaultShade)(nil)
	_ plot.Thumbnailer = (*FaultShade)(nil)
)

// TimePlot is a plot over [0, span] seconds (at least 1) with a grid and the
// fault windows shaded (in the legend when there are any), legend on top.
func TimePlot(title, xlabel, ylabel string, faults []history.Window, span float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	shade := &FaultShade{Windows: faults, Color: ColorFault}
	p.Add(shade)
	if len(faults) > 0 {
		p.Legend.Add("fault", shade)
	}
	p.X.Min, p.X.Max = 0, math.Max(span, 1)
	return p
}

// LogY puts the y axis on a log scale with plain-number ticks.
func LogY(p *plot.Plot) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
}

// AddScatter adds points of one colour, in the legend as label.
func AddScatter(p *plot.Plot, label string, xys plotter.XYs, c color.Color) error {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return fmt.Errorf("scatter %s: %w", label, err)
	}
	s.GlyphStyle.Color, s.GlyphStyle.Radius, s.GlyphStyle.Shape = c, vg.Points(1.2), draw.CircleGlyph{}
	p.Add(s)
	p.Legend.Add(label, s)
	return nil
}

// PercentileStyle draws a p50 line solid and a p99 line dashed, in black.
func PercentileStyle(l *plotter.Line, p99 bool) {
	l.Color, l.Width = color.Black, vg.Points(1.2)
	if p99 {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
	}
}

// AddPercentileLines adds per-second p50 (solid) and p99 (dashed) lines,
// each in the legend when it has points; legend false leaves them out of it
// (small multiples, whose caption says what the lines are).
func AddPercentileLines(p *plot.Plot, p50, p99 plotter.XYs, legend bool) error {
	for _, l := range []struct {
		name string
		xys  plotter.XYs
		p99  bool
	}{{"p50 per second", p50, false}, {"p99 per second", p99, true}} {
		if len(l.xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(l.xys)
		if err != nil {
			return fmt.Errorf("%s: %w", l.name, err)
		}
		PercentileStyle(line, l.p99)
		p.Add(line)
		if legend {
			p.Legend.Add(l.name, line)
		}
	}
	return nil
}

// Save writes p (10 x 5 in) as name.png and name.svg into dir and returns
// the file names, relative to dir.
func Save(p *plot.Plot, dir, name string) ([]string, error) {
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
