package checkers

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
)

// Availability measures the fraction of operations that succeeded (ok) in
// each fault window, in all of them together, and outside them. An
// operation belongs to the windows its invocation falls in. Final reads are
// left out: they measure the end state, not the load. It is a measurement;
// its verdict is valid once there is something to measure, and Thresholds
// is what fails a run on it.
type Availability struct{}

func (a *Availability) Name() string { return "availability" }

// AvailabilityDetails is the availability measurement.
type AvailabilityDetails struct {
	Overall WindowStats   `json:"overall"`
	Outside WindowStats   `json:"outside_faults"`
	During  WindowStats   `json:"during_faults"`
	Windows []WindowStats `json:"windows,omitempty"`
}

// WindowStats counts the operations invoked in a stretch of the run.
type WindowStats struct {
	Kind   string  `json:"kind,omitempty"`
	StartS float64 `json:"start_s,omitempty"`
	EndS   float64 `json:"end_s,omitempty"`
	Ops    int     `json:"ops"`
	OK     int     `json:"ok"`
	Fail   int     `json:"fail"`
	Info   int     `json:"info"`
	// Availability is OK/Ops (absent when there were no operations).
	Availability *float64 `json:"availability,omitempty"`
}

func (w *WindowStats) add(t history.Type) {
	w.Ops++
	switch t {
	case history.OK:
		w.OK++
	case history.Fail:
		w.Fail++
	default:
		w.Info++
	}
}

func (w *WindowStats) finish() {
	if w.Ops > 0 {
		a := math.Round(float64(w.OK)/float64(w.Ops)*1e4) / 1e4
		w.Availability = &a
	}
}

func (w WindowStats) String() string {
	if w.Availability == nil {
		return "no operations"
	}
	return fmt.Sprintf("%.2f%% of %d", *w.Availability*100, w.Ops)
}

// Measure computes the availability of ops around faults.
func Measure(ops []history.Op, faults []history.Window) AvailabilityDetails {
	var d AvailabilityDetails
	for _, w := range faults {
		d.Windows = append(d.Windows, WindowStats{Kind: w.Kind, StartS: seconds(w.Start), EndS: seconds(w.End)})
	}
	for i := range ops {
		op := &ops[i]
		if op.Final {
			continue
		}
		d.Overall.add(op.Type)
		in := false
		for k, w := range faults {
			if op.Call >= w.Start && op.Call <= w.End {
				d.Windows[k].add(op.Type)
				in = true
			}
		}
		if in {
			d.During.add(op.Type)
		} else {
			d.Outside.add(op.Type)
		}
	}
	d.Overall.finish()
	d.Outside.finish()
	d.During.finish()
	for k := range d.Windows {
		d.Windows[k].finish()
	}
	return d
}

// inFaults says whether t falls in one of the fault windows.
func inFaults(t int64, faults []history.Window) bool {
	return slices.ContainsFunc(faults, func(w history.Window) bool { return t >= w.Start && t <= w.End })
}

func (a *Availability) Check(ctx context.Context, in *Input) Result {
	start := time.Now()
	d := Measure(in.Ops, in.Faults)
	r := Result{Checker: a.Name(), Details: d, Stats: map[string]int{
		"ops": d.Overall.Ops, "ops_outside_faults": d.Outside.Ops, "ops_during_faults": d.During.Ops, "fault_windows": len(d.Windows)}}
	if d.Overall.Ops == 0 {
		r.Verdict, r.Summary = Unknown, "no operations to measure"
		return r
	}
	r.Verdict = Valid
	parts := []string{"ok " + d.Outside.String() + " outside faults"}
	if len(d.Windows) > 0 {
		var ws []string
		for _, w := range d.Windows[:min(len(d.Windows), 8)] {
			ws = append(ws, fmt.Sprintf("%s %.1f-%.1fs %s", w.Kind, w.StartS, w.EndS, w))
		}
		if len(d.Windows) > 8 {
			ws = append(ws, fmt.Sprintf("... %d more", len(d.Windows)-8))
		}
		parts = append(parts, d.During.String()+" during faults ("+strings.Join(ws, "; ")+")")
	}
	r.Summary = strings.Join(parts, ", ") + " (measured; a threshold can gate on it)"
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
}
