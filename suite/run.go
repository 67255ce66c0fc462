package suite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/report"

	"github.com/faultline/faultline/internal/safefile"
)

// Files a suite writes into its output directory, beside the run directories.
const (
	IndexFile = "index.html" // report.Compare: every run, expected beside actual
	JSONFile  = "suite.json" // the same, for machines
)

// Status is how a run ended, against its expectation.
type Status string

const (
	Match    Status = "match"    // the verdict was one of those expected
	Mismatch Status = "mismatch" // a verdict, not one of those expected
	// Error: the infrastructure cut the run short (no verdict to compare,
	// or a verdict that cannot count, e.g. valid on half a run).
	Error Status = "error"
	// Interrupted: the suite was stopped (Ctrl-C) during the run.
	Interrupted Status = "interrupted"
)

// Result is one run of a suite.
type Result struct {
	Entry   Entry
	Dir     string
	Verdict checkers.Verdict
	Status  Status
	// Failed names the checks that were not valid (invalid or unknown).
	Failed []string
	Err    error
	Wall   time.Duration
}

// Report is a suite that ran.
type Report struct {
	Suite   string
	Source  string
	Started time.Time
	// Wall is the suite's wall time: from the first run's start (builds
	// included) to the index written.
	Wall    time.Duration
	Results []Result
	// Planned is how many runs the suite had; fewer ran when interrupted.
	Planned int
	Index   string
	// Warnings are problems of the index that did not stop it from being
	// written, e.g. a run that left no summary (its row says so).
	Warnings error
}

// Count returns how many results have status s.
func (r *Report) Count(s Status) int {
	n := 0
	for _, x := range r.Results {
		if x.Status == s {
			n++
		}
	}
	return n
}

// ExitCode is 0 when every planned run ran and matched its expectation, 1
// when one did not, else 4 when the infrastructure failed a run, else 2
// (interrupted).
func (r *Report) ExitCode() int {
	switch {
	case r.Count(Mismatch) > 0:
		return faultline.ExitFail
	case r.Count(Error) > 0:
		return faultline.ExitInfra
	case r.Count(Interrupted) > 0 || len(r.Results) < r.Planned:
		return faultline.ExitUnknown
	}
	return faultline.ExitPass
}

// Option configures Run.
type Option func(*runOpts)

type runOpts struct {
	before func(i, n int, e Entry) []faultline.Option
	after  func(i, n int, r Result)
}

// BeforeEach is called before run i (from 1) of n starts; the options it
// returns are given to that run (a log, a progress display).
func BeforeEach(f func(i, n int, e Entry) []faultline.Option) Option {
	return func(o *runOpts) { o.before = f }
}

// AfterEach is called when run i of n has been checked.
func AfterEach(f func(i, n int, r Result)) Option { return func(o *runOpts) { o.after = f } }

// Run runs the suite's entries one after another into out (each run gets
// its own directory there), then writes out/index.html, which compares
// every run with its expected verdict beside the actual one, and
// out/suite.json. Ctrl-C (ctx) stops after the current run, which is
// healed, torn down and checked as usual. The error says index.html or
// suite.json could not be written; how the runs went is in the Report.
func Run(ctx context.Context, s *Suite, out string, opts ...Option) (*Report, error) {
	var o runOpts
	for _, f := range opts {
		f(&o)
	}
	rep := &Report{Suite: s.Name, Source: s.Source, Started: time.Now(), Planned: len(s.Entries)}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return rep, fmt.Errorf("suite output: %w", err)
	}
	for i, e := range s.Entries {
		if ctx.Err() != nil {
			break
		}
		var ropts []faultline.Option
		if o.before != nil {
			ropts = o.before(i+1, len(s.Entries), e)
		}
		sc := e.Scenario
		sc.Out = out
		t0 := time.Now()
		outcome, err := faultline.RunContext(ctx, sc, ropts...)
		r := judge(e, outcome, err, ctx.Err() != nil)
		r.Wall = time.Since(t0)
		rep.Results = append(rep.Results, r)
		if o.after != nil {
			o.after(i+1, len(s.Entries), r)
		}
	}
	rep.Wall = time.Since(rep.Started)
	rep.Index = filepath.Join(out, IndexFile)
	var err error
	if rep.Warnings = writeIndex(rep, out); rep.Warnings != nil {
		if st, serr := os.Stat(rep.Index); serr != nil || st.ModTime().Before(rep.Started) {
			err, rep.Warnings = fmt.Errorf("write %s: %w", rep.Index, rep.Warnings), nil
		}
	}
	rep.Wall = time.Since(rep.Started)
	return rep, errors.Join(err, writeJSON(rep, out))
}

// judge compares a run's outcome with its expectation. A violation found
// is found even in a run cut short; any other verdict of a run cut short
// cannot count.
func judge(e Entry, o *faultline.Outcome, err error, interrupted bool) Result {
	r := Result{Entry: e, Err: err}
	if o == nil {
		r.Status = Error
		if interrupted {
			r.Status = Interrupted
		}
		return r
	}
	r.Dir, r.Verdict = o.Dir, o.Summary.Verdict
	for _, c := range o.Summary.Checks {
		if c.Verdict != checkers.Valid && c.Verdict != checkers.Skipped {
			r.Failed = append(r.Failed, c.Checker)
		}
	}
	cut := o.Err != nil || o.Summary.Interrupted || o.Summary.HistoryTruncated || err != nil
	switch {
	case r.Verdict == checkers.Invalid && e.Expect.Match(checkers.Invalid):
		r.Status = Match
	case cut && interrupted:
		r.Status = Interrupted
	case cut:
		r.Status = Error
		if r.Err == nil {
			r.Err = errors.New("the run was cut short")
		}
	case e.Expect.Match(r.Verdict):
		r.Status = Match
	default:
		r.Status = Mismatch
	}
	return r
}

func writeIndex(rep *Report, out string) error {
	var entries []report.MatrixEntry
	for _, r := range rep.Results {
		note := r.Entry.Note
		if r.Status == Error || r.Status == Interrupted {
			msg := fmt.Sprintf("%s: %v", r.Status, r.Err)
			if note != "" {
				msg = note + " " + msg
			}
			note = msg
		}
		entries = append(entries, report.MatrixEntry{CompareEntry: report.CompareEntry{Dir: r.Dir, Label: r.Entry.Name,
			Expected: r.Entry.Expect.Report(), Note: note}, System: r.Entry.System, Fault: r.Entry.Fault})
	}
	summary := fmt.Sprintf("Suite %s (%s): %d of %d runs gave their expected verdict; %d did not, %d hit an infrastructure error. "+
		"The runs went one after another, in %s of wall time (builds, launches, loads, checks and reports included).",
		rep.Suite, rep.Source, rep.Count(Match), rep.Planned, rep.Count(Mismatch), rep.Count(Error), rep.Wall.Round(time.Second))
	if n := rep.Planned - len(rep.Results) + rep.Count(Interrupted); n > 0 {
		summary += fmt.Sprintf(" Interrupted: %d run(s) did not complete.", n)
	}
	_, err := report.Matrix(out, "Faultline suite "+rep.Suite, entries, report.WithNote(summary))
	return err
}

type jsonRun struct {
	Name    string   `json:"name"`
	System  string   `json:"system,omitempty"`
	Fault   string   `json:"fault,omitempty"`
	Expect  []string `json:"expect"`
	Verdict string   `json:"verdict,omitempty"`
	Status  Status   `json:"status"`
	Failed  []string `json:"failed_checks,omitempty"`
	Seed    uint64   `json:"seed"`
	Dir     string   `json:"dir,omitempty"`
	WallS   float64  `json:"wall_s"`
	Error   string   `json:"error,omitempty"`
	Note    string   `json:"note,omitempty"`
}

func writeJSON(rep *Report, out string) error {
	v := struct {
		Suite   string    `json:"suite"`
		Source  string    `json:"source"`
		Started time.Time `json:"started"`
		WallS   float64   `json:"wall_s"`
		Planned int       `json:"planned"`
		Matched int       `json:"matched"`
		Exit    int       `json:"exit_code"`
		Runs    []jsonRun `json:"runs"`
	}{rep.Suite, rep.Source, rep.Started, rep.Wall.Seconds(), rep.Planned, rep.Count(Match), rep.ExitCode(), nil}
	for _, r := range rep.Results {
		j := jsonRun{Name: r.Entry.Name, System: r.Entry.System, Fault: r.Entry.Fault, Verdict: string(r.Verdict), Status: r.Status, Failed: r.Failed,
			Seed: r.Entry.Scenario.Seed, Dir: r.Dir, WallS: r.Wall.Seconds(), Note: r.Entry.Note}
		for _, x := range r.Entry.Expect {
			j.Expect = append(j.Expect, string(x))
		}
		if r.Err != nil {
			j.Error = r.Err.Error()
		}
		v.Runs = append(v.Runs, j)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteFile(out, JSONFile, append(b, '\n'), 0o644)
}

// Reindex rewrites out/index.html from the runs a suite left in out (listed
// by out/suite.json), running nothing: after a change of the page, or of the
// suite file's system and fault keys. s supplies each run's entry by name
// (system, fault, expectation, note); a run that s lacks keeps what
// suite.json says. suite.json itself is left as it is.
func Reindex(s *Suite, out string) (*Report, error) {
	b, err := safefile.ReadFile(filepath.Join(out, JSONFile), 64<<20)
	if err != nil {
		return nil, fmt.Errorf("reindex: %w", err)
	}
	var v struct {
		Suite   string    `json:"suite"`
		Source  string    `json:"source"`
		Started time.Time `json:"started"`
		WallS   float64   `json:"wall_s"`
		Planned int       `json:"planned"`
		Runs    []jsonRun `json:"runs"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("reindex: %s: %w", filepath.Join(out, JSONFile), err)
	}
	rep := &Report{Suite: v.Suite, Source: v.Source, Started: v.Started, Wall: time.Duration(v.WallS * float64(time.Second)),
		Planned: v.Planned, Index: filepath.Join(out, IndexFile)}
	byName := map[string]Entry{}
	for _, e := range s.Entries {
		byName[e.Name] = e
	}
	for _, j := range v.Runs {
		e, ok := byName[j.Name]
		if !ok {
			e = Entry{Name: j.Name, Note: j.Note, System: j.System, Fault: j.Fault}
			for _, x := range j.Expect {
				e.Expect = append(e.Expect, checkers.Verdict(x))
			}
			if e.System == "" {
				e.System = j.Name
			}
			if e.Fault == "" {
				e.Fault = "?"
			}
		}
		r := Result{Entry: e, Dir: j.Dir, Verdict: checkers.Verdict(j.Verdict), Status: j.Status, Failed: j.Failed,
			Wall: time.Duration(j.WallS * float64(time.Second))}
		if r.Dir != "" && !filepath.IsAbs(r.Dir) {
			// suite.json names run directories as the suite was given them,
			// relative to where it ran; they sit in out.
			if _, err := os.Stat(r.Dir); err != nil {
				r.Dir = filepath.Join(out, filepath.Base(r.Dir))
			}
		}
		if j.Error != "" {
			r.Err = errors.New(j.Error)
		}
		rep.Results = append(rep.Results, r)
	}
	if err := writeIndex(rep, out); err != nil {
		return rep, fmt.Errorf("reindex %s: %w", rep.Index, err)
	}
	return rep, nil
}
