package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/delivery"
	"github.com/faultline/faultline/history"

	"github.com/faultline/faultline/internal/safefile"
)

// CompareEntry is one run in a comparison.
type CompareEntry struct {
	Dir string
	// Label names the run in legends and tables (default: from its summary).
	Label string
	// Expected is the verdict a suite expected of the run, if any; several
	// verdicts that would all do are joined by "|" ("valid|invalid").
	Expected string
	// Note is shown under the run's label (e.g. why a suite expects what
	// it expects).
	Note string
}

// CompareOption configures Compare.
type CompareOption func(*ComparePage)

// WithNote puts a paragraph under the comparison's title (e.g. a suite's
// wall time and tally).
func WithNote(note string) CompareOption { return func(p *ComparePage) { p.Note = note } }

// expectedVerdicts splits CompareEntry.Expected.
func expectedVerdicts(e string) []string {
	if e == "" {
		return nil
	}
	return strings.Split(e, "|")
}

// CompareRow is a line of the comparison table.
type CompareRow struct {
	Label, Link, Target, Version, ReadMode, Nemesis string
	Verdict, Expected                               string
	// ExpectedAny is Expected split into the verdicts that would do.
	ExpectedAny []string
	Note        string
	Match       bool
	OKPerS, P99 float64
	// AvailIn and AvailOut are the fraction of operations that succeeded
	// inside fault windows (NaN when there were none) and outside them.
	AvailIn, AvailOut float64
	Error             string
	// Delivery is a queue or log run's delivery latency (nil for others).
	Delivery *DeliveryFigures
}

// ComparePage is what a comparison's index.html shows.
type ComparePage struct {
	Title    string
	Rows     []CompareRow
	Plots    []PlotRef
	Note     string
	Mismatch int
}

type loadedRun struct {
	entry CompareEntry
	sum   Summary
	ops   []history.Op
	ws    []history.Window
	span  float64
	// del is the run's delivery-latency measurement (queue and log runs).
	del *delivery.Measurement
}

func loadRun(e CompareEntry) (*loadedRun, error) {
	b, err := safefile.ReadFile(filepath.Join(e.Dir, SummaryFile), 64<<20)
	if err != nil {
		return nil, fmt.Errorf("%s has no summary (run `faultline check %s` first): %w", e.Dir, e.Dir, err)
	}
	r := &loadedRun{entry: e}
	if err := json.Unmarshal(b, &r.sum); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(e.Dir, SummaryFile), err)
	}
	evs, _, err := history.ReadFile(filepath.Join(e.Dir, "history.jsonl"))
	if err != nil {
		return nil, err
	}
	r.ops, r.ws = history.Operations(evs), history.Faults(evs)
	_, r.del = DeliveryOf(r.sum.Checks)
	for i := range evs {
		r.span = math.Max(r.span, float64(evs[i].Time)/1e9)
	}
	if r.entry.Label == "" {
		r.entry.Label = r.sum.Name
	}
	if r.entry.Label == "" {
		r.entry.Label = fmt.Sprintf("%s %s %v", r.sum.Target, r.sum.ReadMode, r.sum.Nemesis)
	}
	return r, nil
}

// availability is the fraction of operations that succeeded inside fault
// windows (NaN when there were none) and outside them.
func availability(d checkers.AvailabilityDetails) (in, out float64) {
	in, out = math.NaN(), math.NaN()
	if d.During.Availability != nil {
		in = *d.During.Availability
	}
	if d.Outside.Availability != nil {
		out = *d.Outside.Availability
	}
	return in, out
}

// Compare writes a report into outDir that overlays the runs: throughput and
// p99 over time on shared axes, latency percentiles, and a table of verdict,
// throughput, p99 and availability. Links point to each run's own report.
func Compare(outDir, title string, entries []CompareEntry, opts ...CompareOption) (ComparePage, error) {
	page := ComparePage{Title: title}
	for _, o := range opts {
		o(&page)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return page, err
	}
	var runs []*loadedRun
	var errs []error
	for _, e := range entries {
		r, err := loadRun(e)
		if err != nil {
			errs = append(errs, err)
			page.Rows = append(page.Rows, CompareRow{Label: e.Label, Expected: e.Expected, ExpectedAny: expectedVerdicts(e.Expected),
				Note: e.Note, Verdict: "missing", Error: err.Error(), AvailIn: math.NaN(), AvailOut: math.NaN()})
			if e.Expected != "" {
				page.Mismatch++
			}
			continue
		}
		runs = append(runs, r)
		in, out := availability(r.sum.Availability)
		link, _ := filepath.Rel(outDir, filepath.Join(r.entry.Dir, HTMLFile))
		row := CompareRow{Label: r.entry.Label, Link: link, Target: r.sum.Target, Version: r.sum.TargetVersion,
			ReadMode: r.sum.ReadMode, Nemesis: fmt.Sprint(r.sum.Nemesis), Verdict: string(r.sum.Verdict),
			Expected: e.Expected, ExpectedAny: expectedVerdicts(e.Expected), Note: e.Note, OKPerS: r.sum.Throughput.OKPerS, P99: r.sum.LatencyMS.P99, AvailIn: in, AvailOut: out,
			Error: r.sum.Error}
		row.Match = e.Expected == "" || slices.Contains(row.ExpectedAny, row.Verdict)
		if !row.Match {
			page.Mismatch++
		}
		page.Rows = append(page.Rows, row)
	}
	if len(runs) > 0 {
		refs, err := comparePlots(outDir, runs)
		page.Plots = refs
		errs = append(errs, err)
	}
	var buf bytes.Buffer
	if err := parse("compare.html").ExecuteTemplate(&buf, "compare.html", page); err != nil {
		return page, errors.Join(append(errs, fmt.Errorf("render comparison: %w", err))...)
	}
	if err := safefile.WriteFile(outDir, "index.html", buf.Bytes(), 0o644); err != nil {
		errs = append(errs, err)
	}
	return page, errors.Join(errs...)
}

func runStyle(i int) (color.Color, []vg.Length) {
	return plotutil.Color(i), plotutil.Dashes(i / len(plotutil.DefaultColors))
}

func comparePlots(dir string, runs []*loadedRun) ([]PlotRef, error) {
	span := 1.0
	for _, r := range runs {
		span = math.Max(span, r.span)
	}
	var errs []error
	var refs []PlotRef
	save := func(p *plot.Plot, name, title string) {
		if _, err := SavePlot(p, dir, name); err != nil {
			errs = append(errs, err)
			return
		}
		refs = append(refs, PlotRef{Title: title, PNG: name + ".png", SVG: name + ".svg"})
	}

	// Throughput of ok operations per second, one line per run.
	tp := newTimePlot("ok operations per second", "ok operations per second", nil, span)
	top := 1.0
	for i, r := range runs {
		n := buckets(span)
		c := make([]float64, n)
		for _, op := range r.ops {
			if op.Type == history.OK && op.Return >= 0 && int(op.Return/1e9) < n {
				c[int(op.Return/1e9)]++
			}
		}
		xys := make(plotter.XYs, n)
		for j, v := range c {
			xys[j] = plotter.XY{X: float64(j) + 0.5, Y: v}
			top = math.Max(top, v)
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.Color, l.Dashes = runStyle(i)
		l.Width = vg.Points(1.5)
		tp.Add(l)
		tp.Legend.Add(r.entry.Label, l)
	}
	tp.Y.Min, tp.Y.Max = 0, top*1.35
	save(tp, "compare-throughput", "throughput over time")

	// p99 of ok operations per second, one line per run.
	lp := newTimePlot("p99 latency of ok operations, per second", "p99 latency (ms, log scale)", nil, span)
	lp.Y.Scale = plot.LogScale{}
	lp.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	lo, hi := math.Inf(1), 0.0
	for i, r := range runs {
		_, p99 := PercentileLines(r.ops, span)
		if len(p99) == 0 {
			continue
		}
		for _, xy := range p99 {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
		l, err := plotter.NewLine(p99)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.Color, l.Dashes = runStyle(i)
		l.Width = vg.Points(1.5)
		lp.Add(l)
		lp.Legend.Add(r.entry.Label, l)
	}
	if hi > 0 {
		lp.Y.Min, lp.Y.Max = lo/1.5, hi*8
	}
	save(lp, "compare-p99", "p99 latency over time")

	// Percentiles of every ok operation, one line per run.
	var series []LatencySeries
	for i, r := range runs {
		var ls []float64
		for _, op := range r.ops {
			if op.Type == history.OK && op.Return >= 0 {
				ls = append(ls, float64(op.Return-op.Call)/1e6)
			}
		}
		c, d := runStyle(i)
		series = append(series, LatencySeries{Name: r.entry.Label, Latency: ls, Color: c, Dashes: d})
	}
	pp, err := PercentilePlot("latency percentiles of ok operations", series)
	if err != nil {
		errs = append(errs, err)
	} else {
		save(pp, "compare-percentiles", "latency percentiles")
	}
	return refs, errors.Join(errs...)
}
