package faultline

import (
	"errors"
	"fmt"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

// writeReport writes summary.json and the plots into the run directory.
func writeReport(dir string, sum report.Summary, in *checkers.Input) error {
	var errs []error
	title := fmt.Sprintf("%s %s, %d nodes, nemesis %v: latency by outcome", sum.Target, sum.TargetVersion, sum.Nodes, sum.Nemesis)
	if p, err := report.LatencyPlot(title, in.Ops, in.Faults, historyEnd(in.Events)); err != nil {
		errs = append(errs, err)
	} else if _, err := report.SavePlot(p, dir, "latency"); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, report.WriteSummary(dir, sum))
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
