package faultline

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
	"gonum.org/v1/plot"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/internal/safefile"
)

// writeReport writes summary.json, junit.xml, the plots (PNG and SVG) and
// report.html into the run directory.
func writeReport(dir string, sum report.Summary, in *checkers.Input) error {
	var errs []error
	span := historyEnd(in.Events)
	what := fmt.Sprintf("%s %s, %d nodes, nemesis %v", sum.Target, sum.TargetVersion, sum.Nodes, sum.Nemesis)
	inside, outside := report.SplitByFault(in.Ops, in.Faults)
	type plotFn func() (*plot.Plot, error)
	plots := []struct {
		name, title string
		make        plotFn
	}{
		{"latency", "latency by outcome", func() (*plot.Plot, error) {
			return report.LatencyPlot(what+": latency by outcome", in.Ops, in.Faults, span)
		}},
		{"throughput", "throughput by outcome", func() (*plot.Plot, error) {
			return report.ThroughputPlot(what+": throughput by outcome", in.Ops, in.Faults, span)
		}},
		{"percentiles", "latency percentiles, inside and outside faults", func() (*plot.Plot, error) {
			return report.PercentilePlot(what+": latency percentiles of ok operations", []report.LatencySeries{
				{Name: "outside faults", Latency: outside, Color: report.ColorOK},
				{Name: "inside faults", Latency: inside, Color: report.ColorInfo},
			})
		}},
		{"availability", "availability per fault window", func() (*plot.Plot, error) {
			return report.AvailabilityPlot(what+": availability per fault window", sum.Availability)
		}},
	}
	var refs []report.PlotRef
	for _, p := range plots {
		pl, err := p.make()
		if err == nil {
			_, err = report.SavePlot(pl, dir, p.name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s plot: %w", p.name, err))
			continue
		}
		refs = append(refs, report.PlotRef{Title: p.title, PNG: p.name + ".png", SVG: p.name + ".svg"})
	}
	errs = append(errs, report.WriteSummary(dir, sum), report.WriteJUnit(dir, sum))
	scenario, _ := safefile.ReadFile(filepath.Join(dir, scenario.ScenarioFile), 16<<20)
	title := sum.Name
	if title == "" {
		title = what
	}
	errs = append(errs, report.WriteHTML(dir, report.RunPage{
		Title: title, S: sum, Plots: refs, Availability: report.AvailabilityRows(sum.Availability),
		Latencies: []report.NamedLatency{
			{Name: "ok operations", L: sum.LatencyMS},
			{Name: "ok operations, from the intended send time", L: sum.LatencyCorrectedMS},
			{Name: "all completed operations", L: sum.LatencyAllMS},
			{Name: "all completed operations, from the intended send time", L: sum.Load.LatencyAllCorrectedMS},
		},
		Files: report.RunFiles(dir, sum), ScenarioJSON: string(scenario),
	}))
	return errors.Join(errs...)
}

// historyEnd is the time of the last event in seconds: plots span 0 to it.
func historyEnd(events []history.Event) float64 {
	var last int64
	for i := range events {
		last = max(last, events[i].Time)
	}
	return float64(last) / 1e9
}
