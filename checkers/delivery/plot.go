package delivery

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/faultline/faultline/history"
)

// The report's colours (report/plot.go), repeated here: report imports the
// checkers, so the checkers cannot import it.
var (
	colorOK    = color.RGBA{R: 0x2e, G: 0x8b, B: 0x57, A: 0xff}
	colorLate  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colorFault = color.NRGBA{R: 0x90, G: 0x90, B: 0xd0, A: 0x50}
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
	span = math.Max(span, 1)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "send acknowledged at (s since start)"
	p.Y.Label.Text = "delivery latency (ms, log scale)"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	shade := &faultShade{windows: faults}
	p.Add(shade)
	if len(faults) > 0 {
		p.Legend.Add("fault", shade)
	}
	p.X.Min, p.X.Max = 0, span
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}

	stride := max(1, (len(samples)+maxPoints-1)/maxPoints)
	var out, in plotter.XYs
	lo, hi := math.Inf(1), 0.0
	n := int(math.Ceil(span))
	per := make([][]float64, n+1)
	for i, s := range samples {
		ms := math.Max(float64(s.Delivered-s.Ack)/1e6, 0.01)
		lo, hi = math.Min(lo, ms), math.Max(hi, ms)
		if b := int(s.Ack / 1e9); b >= 0 && b <= n {
			per[b] = append(per[b], ms)
		}
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
		c    color.Color
	}{{"delivered outside faults", out, colorOK}, {"waited through a fault", in, colorLate}} {
		if len(g.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(g.xys)
		if err != nil {
			return nil, fmt.Errorf("delivery plot: %w", err)
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = g.c, vg.Points(1.2), draw.CircleGlyph{}
		p.Add(sc)
		label := fmt.Sprintf("%s (%d)", g.name, len(g.xys))
		if stride > 1 {
			label = fmt.Sprintf("%s (1 in %d drawn)", g.name, stride)
		}
		p.Legend.Add(label, sc)
	}
	var p50, p99 plotter.XYs
	for i, ls := range per {
		if len(ls) == 0 {
			continue
		}
		l := Percentiles(ls)
		p50 = append(p50, plotter.XY{X: float64(i) + 0.5, Y: math.Max(l.P50, 0.01)})
		p99 = append(p99, plotter.XY{X: float64(i) + 0.5, Y: math.Max(l.P99, 0.01)})
	}
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
			return nil, fmt.Errorf("delivery plot: %w", err)
		}
		line.Color, line.Width, line.Dashes = color.Black, vg.Points(1.2), l.dashes
		p.Add(line)
		p.Legend.Add(l.name, line)
	}
	p.Y.Min, p.Y.Max = lo/1.5, hi*8
	return p, nil
}

// WritePlot draws Plot into dir as name.png and name.svg and returns the
// file names (relative to dir), for a checker's Artifacts.
func WritePlot(dir, name, title string, samples []Sample, faults []history.Window) ([]string, error) {
	p, err := Plot(title, samples, faults, 0)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, ext := range []string{".png", ".svg"} {
		f := name + ext
		if err := p.Save(10*vg.Inch, 5*vg.Inch, filepath.Join(dir, f)); err != nil {
			return files, fmt.Errorf("save %s: %w", f, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// faultShade shades fault windows over the plot's height, labelled with
// their kind, as report.FaultShade does.
type faultShade struct{ windows []history.Window }

func (f *faultShade) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	sty := draw.TextStyle{Color: color.RGBA{R: 0x40, G: 0x40, B: 0x70, A: 0xff}, Font: plot.DefaultFont, Handler: plot.DefaultTextHandler}
	sty.Font.Size = vg.Points(8)
	for _, w := range f.windows {
		x0, x1 := max(trX(float64(w.Start)/1e9), c.Min.X), min(trX(float64(w.End)/1e9), c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(colorFault, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		c.FillText(sty, vg.Point{X: x0 + vg.Points(2), Y: c.Max.Y - vg.Points(10)}, w.Kind)
	}
}

func (f *faultShade) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(colorFault, []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}})
}

var (
	_ plot.Plotter     = (*faultShade)(nil)
	_ plot.Thumbnailer = (*faultShade)(nil)
)
