package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/faultline/faultline/checkers/delivery"
	"github.com/faultline/faultline/history"

	"github.com/faultline/faultline/internal/plotx"
	"github.com/faultline/faultline/internal/safefile"
)

// MatrixEntry is one run of a systems comparison: a run (as in Compare)
// placed in the matrix by the system it ran and the fault it ran under.
type MatrixEntry struct {
	CompareEntry
	System, Fault string
}

// MatrixCell is one cell of the matrix: the runs of one system under one
// fault (usually one).
type MatrixCell struct {
	Runs []CompareRow
}

// Match says every run of the cell gave an expected verdict.
func (c MatrixCell) Match() bool {
	for _, r := range c.Runs {
		if !r.Match {
			return false
		}
	}
	return true
}

// MatrixRow is one system's line of the matrix, a cell per fault.
type MatrixRow struct {
	System string
	Cells  []MatrixCell
}

// FaultFigure is the small multiples of one fault: a column per system,
// rows of ok/s over time, p99 over time and availability per fault window,
// every panel of a row on the same axes.
type FaultFigure struct {
	Fault string
	Plot  PlotRef
	// Systems are the columns, in matrix order.
	Systems []string
	// The shared axes: time span (s), ok/s maximum, p99 range (ms).
	SpanS, OKMax, P99Lo, P99Hi float64
	// Delivery says the figure has a fourth row, the delivery latency (p50
	// and p99 per second of acknowledgement) of the queue and log systems,
	// on one log axis from DeliveryLo to DeliveryHi (ms).
	Delivery               bool
	DeliveryLo, DeliveryHi float64
}

// MatrixPage is what a systems comparison's index.html shows.
type MatrixPage struct {
	ComparePage
	Faults  []string
	Matrix  []MatrixRow
	Figures []FaultFigure
	// Bars is the bar chart of throughput and p99 per system and fault.
	Bars *PlotRef
	// DeliveryBars is the bar chart of delivery latency (p50 and p99,
	// outside and during faults) of the systems that deliver messages.
	DeliveryBars *PlotRef
}

// Matrix writes outDir/index.html: a matrix of systems x faults with the
// verdict each run gave beside the one expected, each cell linking to its
// run's report; per fault, small-multiple plots of every system on shared
// axes; a bar chart of throughput and p99 per system; and the comparison
// table of Compare. Systems and faults keep the order they first appear in.
// Every plot is written as PNG and SVG; the page fetches nothing.
func Matrix(outDir, title string, entries []MatrixEntry, opts ...CompareOption) (MatrixPage, error) {
	page := MatrixPage{ComparePage: ComparePage{Title: title}}
	for _, o := range opts {
		o(&page.ComparePage)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return page, err
	}
	var systems []string
	for _, e := range entries {
		if !slices.Contains(systems, e.System) {
			systems = append(systems, e.System)
		}
		if !slices.Contains(page.Faults, e.Fault) {
			page.Faults = append(page.Faults, e.Fault)
		}
	}
	for _, s := range systems {
		page.Matrix = append(page.Matrix, MatrixRow{System: s, Cells: make([]MatrixCell, len(page.Faults))})
	}
	var errs []error
	runs := map[string]map[string]*loadedRun{} // fault -> system -> first run
	for _, e := range entries {
		row, r, err := compareRow(outDir, e.CompareEntry)
		if err != nil {
			errs = append(errs, err)
		}
		if !row.Match {
			page.Mismatch++
		}
		page.Rows = append(page.Rows, row)
		mr := &page.Matrix[slices.Index(systems, e.System)]
		cell := &mr.Cells[slices.Index(page.Faults, e.Fault)]
		cell.Runs = append(cell.Runs, row)
		if r != nil {
			if runs[e.Fault] == nil {
				runs[e.Fault] = map[string]*loadedRun{}
			}
			if runs[e.Fault][e.System] == nil {
				runs[e.Fault][e.System] = r
			}
		}
	}
	for i, f := range page.Faults {
		var cols []string
		var rs []*loadedRun
		for _, s := range systems {
			if r := runs[f][s]; r != nil {
				cols, rs = append(cols, s), append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		fig, err := faultFigure(outDir, fmt.Sprintf("fault-%d", i+1), f, cols, rs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		page.Figures = append(page.Figures, fig)
	}
	if len(runs) > 0 {
		ref, err := systemBars(outDir, systems, page.Faults, page.Matrix)
		if err != nil {
			errs = append(errs, err)
		} else {
			page.Bars = &ref
		}
		if ref, ok, err := deliveryBars(outDir, systems, page.Faults, page.Matrix); err != nil {
			errs = append(errs, err)
		} else if ok {
			page.DeliveryBars = &ref
		}
	}
	var buf bytes.Buffer
	if err := parse("matrix.html").ExecuteTemplate(&buf, "matrix.html", page); err != nil {
		return page, errors.Join(append(errs, fmt.Errorf("render matrix: %w", err))...)
	}
	if err := safefile.WriteFile(outDir, "index.html", buf.Bytes(), 0o644); err != nil {
		errs = append(errs, err)
	}
	return page, errors.Join(errs...)
}

// compareRow loads a run and makes its line of the comparison table; a run
// that cannot be loaded gets a line saying so (and counts as a mismatch when
// a verdict was expected).
func compareRow(outDir string, e CompareEntry) (CompareRow, *loadedRun, error) {
	r, err := loadRun(e)
	if err != nil {
		return CompareRow{Label: e.Label, Expected: e.Expected, ExpectedAny: expectedVerdicts(e.Expected),
			Note: e.Note, Verdict: "missing", Error: err.Error(), AvailIn: math.NaN(), AvailOut: math.NaN(), Match: e.Expected == ""}, nil, err
	}
	in, out := availability(r.sum.Availability)
	link, _ := filepath.Rel(outDir, filepath.Join(r.entry.Dir, HTMLFile))
	row := CompareRow{Label: r.entry.Label, Link: filepath.ToSlash(link), Target: r.sum.Target, Version: r.sum.TargetVersion,
		ReadMode: r.sum.ReadMode, Nemesis: strings.Join(r.sum.Nemesis, ","), Verdict: string(r.sum.Verdict),
		Expected: e.Expected, ExpectedAny: expectedVerdicts(e.Expected), Note: e.Note, OKPerS: r.sum.Throughput.OKPerS,
		P99: r.sum.LatencyMS.P99, AvailIn: in, AvailOut: out, Error: r.sum.Error}
	checker, m := DeliveryOf(r.sum.Checks)
	row.Delivery = deliveryFigures(checker, m, r.sum.DurationS)
	row.Match = e.Expected == "" || slices.Contains(row.ExpectedAny, row.Verdict)
	return row, r, nil
}

// okPerSecond is ok operations completed in each second of [0, span).
func okPerSecond(ops []history.Op, span float64) plotter.XYs {
	n := buckets(span)
	c := make([]float64, n)
	for _, op := range ops {
		if op.Type == history.OK && op.Return >= 0 && int(op.Return/1e9) < n {
			c[int(op.Return/1e9)]++
		}
	}
	xys := make(plotter.XYs, n)
	for j, v := range c {
		xys[j] = plotter.XY{X: float64(j) + 0.5, Y: v}
	}
	return xys
}

// faultFigure draws one fault's small multiples: three rows (ok/s, p99,
// availability) by one column per system, each row on one set of axes.
func faultFigure(dir, name, fault string, systems []string, runs []*loadedRun) (FaultFigure, error) {
	fig := FaultFigure{Fault: fault, Systems: systems, SpanS: 1, P99Lo: math.Inf(1)}
	ok := make([]plotter.XYs, len(runs))
	p99 := make([]plotter.XYs, len(runs))
	for _, r := range runs {
		fig.SpanS = math.Max(fig.SpanS, r.span)
	}
	for i, r := range runs {
		ok[i] = okPerSecond(r.ops, fig.SpanS)
		for _, xy := range ok[i] {
			fig.OKMax = math.Max(fig.OKMax, xy.Y)
		}
		_, p99[i] = PercentileLines(r.ops, fig.SpanS)
		for _, xy := range p99[i] {
			fig.P99Lo, fig.P99Hi = math.Min(fig.P99Lo, xy.Y), math.Max(fig.P99Hi, xy.Y)
		}
	}
	fig.OKMax = math.Max(fig.OKMax, 1) * 1.15
	if fig.P99Hi == 0 {
		fig.P99Lo, fig.P99Hi = 0.1, 1
	}
	fig.P99Lo, fig.P99Hi = fig.P99Lo/1.5, fig.P99Hi*1.5
	// Delivery latency, for the columns that deliver messages: the same
	// lines as p99's row, per second of acknowledgement.
	del := make([][2]plotter.XYs, len(runs))
	fig.DeliveryLo = math.Inf(1)
	for i, r := range runs {
		if r.del == nil {
			continue
		}
		fig.Delivery = true
		del[i][0], del[i][1] = delivery.Lines(r.del.Series, math.Max(r.del.BucketS, 1))
		for _, l := range del[i] {
			for _, xy := range l {
				fig.DeliveryLo, fig.DeliveryHi = math.Min(fig.DeliveryLo, xy.Y), math.Max(fig.DeliveryHi, xy.Y)
			}
		}
	}
	if fig.DeliveryHi == 0 {
		fig.DeliveryLo, fig.DeliveryHi = 0.1, 1
	}
	fig.DeliveryLo, fig.DeliveryHi = fig.DeliveryLo/1.5, fig.DeliveryHi*1.5
	grid := make([][]*plot.Plot, 3, 4)
	if fig.Delivery {
		grid = append(grid, make([]*plot.Plot, len(runs)))
	}
	for i, r := range runs {
		title := fmt.Sprintf("%s: %s", systems[i], r.sum.Verdict)
		tp := smallTimePlot(title, "ok/s", r.ws, fig.SpanS)
		tp.Y.Min, tp.Y.Max = 0, fig.OKMax
		tp.Y.Tick.Marker = countTicks{}
		if err := addLine(tp, ok[i], ColorOK); err != nil {
			return fig, err
		}
		lp := smallTimePlot("", "p99 (ms, log)", r.ws, fig.SpanS)
		lp.Y.Scale = plot.LogScale{}
		lp.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		lp.Y.Min, lp.Y.Max = fig.P99Lo, fig.P99Hi
		if len(p99[i]) > 0 {
			if err := addLine(lp, p99[i], color.Black); err != nil {
				return fig, err
			}
		}
		ap, err := smallAvailability(r)
		if err != nil {
			return fig, err
		}
		grid[0], grid[1], grid[2] = append(grid[0], tp), append(grid[1], lp), append(grid[2], ap)
		if r.del != nil {
			dp := smallTimePlot("", "delivery p50, p99 (ms, log)", r.ws, fig.SpanS)
			plotx.LogY(dp)
			dp.Y.Min, dp.Y.Max = fig.DeliveryLo, fig.DeliveryHi
			if err := plotx.AddPercentileLines(dp, del[i][0], del[i][1], false); err != nil {
				return fig, err
			}
			grid[3][i] = dp
		}
	}
	w := vg.Length(math.Max(10, 3.2*float64(len(runs)))) * vg.Inch
	h := 8 * vg.Inch
	if fig.Delivery {
		h = 10.5 * vg.Inch
	}
	ref, err := saveGrid(grid, dir, name, w, h)
	ref.Title = fault
	fig.Plot = ref
	return fig, err
}

// countTicks are gonum's default ticks labelled without trailing zeros
// ("250", not "250.00").
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}

func smallTimePlot(title, ylabel string, ws []history.Window, span float64) *plot.Plot {
	// No legend: the figure's caption says what each row draws.
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = ylabel
	p.Add(plotter.NewGrid())
	p.Add(&FaultShade{Windows: ws, Color: ColorFault})
	p.X.Min, p.X.Max = 0, math.Max(span, 1)
	return p
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.Color) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("plot line: %w", err)
	}
	l.Color, l.Width = c, vg.Points(1.3)
	p.Add(l)
	return nil
}

// smallAvailability is a run's availability per fault window (and outside
// them), on 0..1 like every other panel of its row.
func smallAvailability(r *loadedRun) (*plot.Plot, error) {
	av := availabilityBars(r.sum.Availability)
	p := plot.New()
	p.Y.Label.Text = "availability"
	p.Add(plotter.NewGrid())
	vals := make(plotter.Values, len(av))
	names := make([]string, len(av))
	for i, a := range av {
		vals[i] = a.ratio
		names[i] = strings.Replace(a.label, "outside faults", "outside", 1)
	}
	bars, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return nil, fmt.Errorf("availability bars: %w", err)
	}
	bars.Color = ColorOK
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(names...)
	if len(names) > 3 {
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
	}
	p.Y.Min, p.Y.Max = 0, 1.05
	return p, nil
}

// systemBars is the bar chart of ok/s and p99 per system: a group of bars
// per system, one bar per fault (its first run).
func systemBars(dir string, systems, faults []string, matrix []MatrixRow) (PlotRef, error) {
	tp, lp := plot.New(), plot.New()
	tp.Title.Text, lp.Title.Text = "ok operations per second", "p99 latency of ok operations"
	// Bars start at zero, so p99 is on a linear scale here.
	tp.Y.Label.Text, lp.Y.Label.Text = "ok/s", "p99 (ms)"
	tp.Legend.Top, lp.Legend.Top = true, true
	tp.Add(plotter.NewGrid())
	lp.Add(plotter.NewGrid())
	width := vg.Points(math.Max(4, math.Min(24, 480/float64(len(systems)*len(faults)))))
	top, hi := 1.0, 0.0
	for _, r := range matrix {
		for _, c := range r.Cells {
			if len(c.Runs) > 0 && c.Runs[0].Verdict != "missing" {
				top = math.Max(top, c.Runs[0].OKPerS)
				hi = math.Max(hi, c.Runs[0].P99)
			}
		}
	}
	for j, f := range faults {
		okv := make(plotter.Values, len(systems))
		p99v := make(plotter.Values, len(systems))
		for i := range systems {
			c := matrix[i].Cells[j]
			if len(c.Runs) > 0 && c.Runs[0].Verdict != "missing" {
				okv[i] = c.Runs[0].OKPerS
				p99v[i] = c.Runs[0].P99
			}
		}
		off := vg.Length(float64(j)-float64(len(faults)-1)/2) * width
		for _, b := range []struct {
			p    *plot.Plot
			vals plotter.Values
		}{{tp, okv}, {lp, p99v}} {
			bc, err := plotter.NewBarChart(b.vals, width)
			if err != nil {
				return PlotRef{}, fmt.Errorf("system bars: %w", err)
			}
			bc.Color = plotutil.Color(j)
			bc.LineStyle.Width = 0
			bc.Offset = off
			b.p.Add(bc)
			b.p.Legend.Add(f, bc)
		}
	}
	tp.NominalX(systems...)
	lp.NominalX(systems...)
	// Room for the outer groups' bars.
	tp.X.Min, tp.X.Max = -0.5, float64(len(systems))-0.5
	lp.X.Min, lp.X.Max = tp.X.Min, tp.X.Max
	tp.Y.Min, tp.Y.Max = 0, top*1.3
	tp.Y.Tick.Marker, lp.Y.Tick.Marker = countTicks{}, countTicks{}
	lp.Y.Min, lp.Y.Max = 0, math.Max(hi, 1)*1.3
	w := vg.Length(math.Max(10, 1.6*float64(len(systems)))) * vg.Inch
	ref, err := saveGrid([][]*plot.Plot{{tp}, {lp}}, dir, "systems-bars", w, 8*vg.Inch)
	ref.Title = "throughput and p99 per system"
	return ref, err
}

// deliveryBars is the bar chart of delivery latency of the systems that
// deliver messages (a queue or log checker measured it): p50 and p99 (rows)
// of the messages delivered outside faults and of those that waited through
// one (columns), a group of bars per system and a bar per fault (the cell's
// first run). ok is false when no system delivers.
func deliveryBars(dir string, systems, faults []string, matrix []MatrixRow) (ref PlotRef, ok bool, err error) {
	var rows []int
	for i, r := range matrix {
		for _, c := range r.Cells {
			if len(c.Runs) > 0 && c.Runs[0].Delivery != nil {
				rows = append(rows, i)
				break
			}
		}
	}
	if len(rows) == 0 {
		return ref, false, nil
	}
	names := make([]string, len(rows))
	for k, i := range rows {
		names[k] = systems[i]
	}
	value := func(f *DeliveryFigures, p99, during bool) float64 {
		v := map[[2]bool]float64{{false, false}: f.P50Out, {true, false}: f.P99Out, {false, true}: f.P50In, {true, true}: f.P99In}[[2]bool{p99, during}]
		if math.IsNaN(v) {
			return 0
		}
		return v
	}
	// Only the faults some delivering system ran under, each in its colour
	// of systems-bars.
	var cols []int
	for j := range faults {
		for _, i := range rows {
			if c := matrix[i].Cells[j]; len(c.Runs) > 0 && c.Runs[0].Delivery != nil {
				cols = append(cols, j)
				break
			}
		}
	}
	width := vg.Points(math.Max(4, math.Min(20, 300/float64(len(rows)*len(cols)))))
	grid := [][]*plot.Plot{{plot.New(), plot.New()}, {plot.New(), plot.New()}}
	for pi, p99 := range []bool{false, true} {
		for ci, during := range []bool{false, true} {
			// Each panel its own axis: latencies through a fault are seconds
			// where those outside are milliseconds; systems compare within a
			// panel.
			p, hi := grid[pi][ci], 0.0
			pct, where := "p50", "delivered outside faults"
			if p99 {
				pct = "p99"
			}
			if during {
				where = "waited through a fault"
			}
			p.Title.Text = fmt.Sprintf("delivery latency %s, %s", pct, where)
			p.Y.Label.Text = pct + " (ms)"
			p.Legend.Top = true
			p.Add(plotter.NewGrid())
			for n, j := range cols {
				vals := make(plotter.Values, len(rows))
				for k, i := range rows {
					if c := matrix[i].Cells[j]; len(c.Runs) > 0 && c.Runs[0].Delivery != nil {
						vals[k] = value(c.Runs[0].Delivery, p99, during)
						hi = math.Max(hi, vals[k])
					}
				}
				bc, err := plotter.NewBarChart(vals, width)
				if err != nil {
					return ref, false, fmt.Errorf("delivery bars: %w", err)
				}
				bc.Color = plotutil.Color(j)
				bc.LineStyle.Width = 0
				bc.Offset = vg.Length(float64(n)-float64(len(cols)-1)/2) * width
				p.Add(bc)
				p.Legend.Add(faults[j], bc)
			}
			p.NominalX(names...)
			p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
			p.Y.Tick.Marker = countTicks{}
			// Headroom for the legend (a line per fault).
			p.Y.Min, p.Y.Max = 0, math.Max(hi, 1)*(1.2+0.08*float64(len(cols)))
		}
	}
	w := vg.Length(math.Max(10, 2.4*float64(len(rows)))) * vg.Inch
	ref, err = saveGrid(grid, dir, "delivery-bars", w, 8*vg.Inch)
	ref.Title = "delivery latency per system"
	return ref, err == nil, err
}

// saveGrid draws plots (rows of columns) on one canvas of w x h, aligned
// so that the panels of a row line up, and writes name.png and name.svg.
func saveGrid(grid [][]*plot.Plot, dir, name string, w, h vg.Length) (PlotRef, error) {
	ref := PlotRef{PNG: name + ".png", SVG: name + ".svg"}
	cols := 0
	for _, r := range grid {
		cols = max(cols, len(r))
	}
	tiles := draw.Tiles{Rows: len(grid), Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	for _, ext := range []string{"png", "svg"} {
		var c vg.CanvasWriterTo
		if ext == "png" {
			c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96), vgimg.UseBackgroundColor(color.White))}
		} else {
			c = vgsvg.New(w, h)
		}
		dc := draw.New(c)
		canvases := plot.Align(grid, tiles, dc)
		for i, r := range grid {
			for j, p := range r {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
		var buf bytes.Buffer
		if _, err := c.WriteTo(&buf); err != nil {
			return ref, fmt.Errorf("draw %s.%s: %w", name, ext, err)
		}
		if err := safefile.WriteFile(dir, name+"."+ext, buf.Bytes(), 0o644); err != nil {
			return ref, fmt.Errorf("save %s.%s: %w", name, ext, err)
		}
	}
	return ref, nil
}
