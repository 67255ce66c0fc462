// Package faultline answers one question: does a cluster stay correct and
// fast while things break? RunContext launches a real cluster, drives load
// while faults are injected, checks the recorded history for linearizability
// and writes a report; Check does the checking and reporting again on a
// stored run.
//
// Data flows one way: scenario (bench) -> cluster (targets) -> load + faults
// (bench, chaos) -> history -> checks (checkers) -> report. This package is
// the only one that sees the whole chain.
package faultline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/bench/load"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

// Exit codes of the CLI (DESIGN.md).
const (
	ExitPass    = 0 // every check passed
	ExitFail    = 1 // a check failed
	ExitUnknown = 2 // the verdict is unknown
	ExitUsage   = 3 // bad usage or configuration; nothing was launched
	ExitInfra   = 4 // infrastructure error
)

// Outcome is a checked run.
type Outcome struct {
	Dir     string
	Summary report.Summary
	// Err is an infrastructure error that cut the run short, if any.
	Err error
}

// Option configures RunContext and Check.
type Option func(*config)

type config struct {
	log   func(format string, args ...any)
	check func(*scenario.CheckConfig)
	bench []bench.Option
}

// WithLog receives progress lines.
func WithLog(f func(format string, args ...any)) Option { return func(c *config) { c.log = f } }

// WithCheckConfig lets Check change the stored run's check settings
// (time budget, memory, thresholds) before checking it again.
func WithCheckConfig(f func(*scenario.CheckConfig)) Option {
	return func(c *config) { c.check = f }
}

// WithProgress receives a snapshot of the load every period while it runs
// (bench.WithProgress), for a progress display.
func WithProgress(every time.Duration, f func(load.Progress)) Option {
	return func(c *config) { c.bench = append(c.bench, bench.WithProgress(every, f)) }
}

// WithRunID names the run (bench.WithRunID), so that the caller knows its
// directory (<out>/<time>-...-<id>) before the run ends: the live view
// serves it while it is written.
func WithRunID(id string) Option {
	return func(c *config) { c.bench = append(c.bench, bench.WithRunID(id)) }
}

func newConfig(opts []Option) config {
	c := config{log: func(string, ...any) {}}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// RunContext runs the scenario, then checks and reports it. A *scenario.ConfigError
// means nothing was launched. Any other error comes with an Outcome when a
// history was recorded: what was recorded is still checked.
func RunContext(ctx context.Context, sc scenario.Scenario, opts ...Option) (*Outcome, error) {
	cfg := newConfig(opts)
	// The checks are built before anything is launched, so that a checker
	// option it refuses (an unknown consistency model) is exit 3, not a
	// finding after the run.
	if _, err := checksFor(scenario.RunInfo{Scenario: sc}); err != nil {
		return nil, err
	}
	run, err := bench.Execute(ctx, sc, append([]bench.Option{bench.WithLog(cfg.log)}, cfg.bench...)...)
	if run == nil {
		return nil, err
	}
	if _, serr := os.Stat(filepath.Join(run.Dir, scenario.HistoryFile)); serr != nil {
		return &Outcome{Dir: run.Dir, Err: err}, err
	}
	cfg.log("checking the history")
	out, cerr := check(context.WithoutCancel(ctx), run.Dir, run.Info, err, cfg)
	if out != nil {
		out.Err = err
	}
	return out, errors.Join(err, cerr)
}

// Check re-runs every checker on a stored run directory (also one left by a
// run that crashed) and rewrites its summary and plots.
func Check(ctx context.Context, dir string, opts ...Option) (*Outcome, error) {
	cfg := newConfig(opts)
	info, err := scenario.ReadInfo(dir)
	if err != nil {
		return nil, err
	}
	if cfg.check != nil {
		cfg.check(&info.Check)
	}
	return check(ctx, dir, info, nil, cfg)
}

func check(ctx context.Context, dir string, info scenario.RunInfo, runErr error, cfg config) (*Outcome, error) {
	events, torn, err := history.ReadFile(filepath.Join(dir, scenario.HistoryFile))
	if err != nil {
		return nil, err
	}
	in := checkers.NewInput(events, dir)
	checks, err := checksFor(info)
	if err != nil {
		return nil, err
	}
	var results []checkers.Result
	for _, c := range checks {
		r := c.Check(ctx, in)
		cfg.log("%s: %s: %s", r.Checker, r.Verdict, r.Summary)
		results = append(results, r)
	}
	meta := report.Meta{
		RunID: info.RunID, Name: info.Name, Target: info.Cluster.Target, TargetVersion: info.TargetVersion,
		Nodes: info.Cluster.Nodes, Nemesis: info.Chaos.Nemesis, ReadMode: info.Load.ReadMode, Rate: info.Load.Rate,
		// A torn last line means the run crashed: what was recorded can
		// show a violation, but it cannot pass.
		Interrupted: info.Interrupted || errors.Is(runErr, context.Canceled) || torn,
		Dropped:     info.LoadStats.Dropped,
	}
	if runErr != nil {
		meta.Error = runErr.Error()
	}
	sum := report.Summarize(meta, events, in.Ops, in.Faults, results)
	sum.HistoryTruncated = torn
	return &Outcome{Dir: dir, Summary: sum}, writeReport(dir, sum, in)
}

// ExitCode maps an outcome to the CLI's exit code. A violation found in what
// was recorded is a failure even when the run was cut short; otherwise a run
// cut short by the infrastructure is exit 4, and an interrupted run is
// unknown, never a pass.
func ExitCode(o *Outcome, err error) int {
	var ce *scenario.ConfigError
	if errors.As(err, &ce) {
		return ExitUsage
	}
	if o == nil {
		// Interrupted before anything was recorded (e.g. Ctrl-C during the
		// launch): no verdict, but no infrastructure failure either.
		if err != nil && !errors.Is(err, context.Canceled) {
			return ExitInfra
		}
		return ExitUnknown
	}
	switch {
	case o.Summary.Verdict == checkers.Invalid:
		return ExitFail
	case o.Err != nil && !errors.Is(o.Err, context.Canceled):
		return ExitInfra
	case o.Summary.Interrupted, o.Summary.Verdict != checkers.Valid:
		return ExitUnknown
	}
	return ExitPass
}
