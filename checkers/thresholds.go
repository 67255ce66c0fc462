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

// Scopes of a threshold: which operations it measures, by invocation time.
const (
	ScopeOverall = "overall"
	ScopeOutside = "outside faults"
	ScopeDuring  = "during faults"
)

// Threshold is one condition on the run, e.g. `p99 < 200ms outside faults`
// or `availability > 0.99 outside faults`. The scenario's text is parsed
// and validated before launch (scenario.ParseThreshold).
type Threshold struct {
	Text string
	// Metric is a latency percentile of ok operations (p50, p90, p95, p99,
	// p99.9, max) or availability (ok / invoked).
	Metric string
	Op     string // <, <=, >, >=
	// Value is in milliseconds for latencies, a fraction for availability.
	Value float64
	Scope string
}

// Thresholds fails the run when a threshold is missed.
type Thresholds struct {
	List []Threshold
}

func (t *Thresholds) Name() string { return "thresholds" }

// ThresholdResult is one threshold, measured.
type ThresholdResult struct {
	Threshold string  `json:"threshold"`
	Verdict   Verdict `json:"verdict"`
	// Measured is in Unit (absent when nothing could be measured).
	Measured *float64 `json:"measured,omitempty"`
	Unit     string   `json:"unit"`
	// Ops is how many operations the measure is over.
	Ops int `json:"ops"`
}

func (t *Thresholds) Check(ctx context.Context, in *Input) Result {
	start := time.Now()
	r := Result{Checker: t.Name()}
	var res []ThresholdResult
	var missed, unmeasured, lines []string
	for _, th := range t.List {
		tr := measure(th, in.Ops, in.Faults)
		res = append(res, tr)
		switch tr.Verdict {
		case Invalid:
			missed = append(missed, th.Text)
			lines = append(lines, fmt.Sprintf("missed: %s (measured %s over %d operations)", th.Text, tr.show(), tr.Ops))
		case Unknown:
			unmeasured = append(unmeasured, th.Text)
			lines = append(lines, fmt.Sprintf("not measurable: %s (no operation in scope)", th.Text))
		default:
			lines = append(lines, fmt.Sprintf("met: %s (measured %s over %d operations)", th.Text, tr.show(), tr.Ops))
		}
	}
	r.Details = res
	r.Explanation = strings.Join(lines, "\n")
	switch {
	case len(t.List) == 0:
		r.Verdict, r.Summary = Skipped, "the scenario sets no threshold"
	case len(missed) > 0:
		r.Verdict, r.Summary = Invalid, fmt.Sprintf("%d of %d thresholds missed: %s", len(missed), len(t.List), strings.Join(missed, "; "))
	case len(unmeasured) > 0:
		r.Verdict, r.Summary = Unknown, "cannot measure: "+strings.Join(unmeasured, "; ")
	default:
		r.Verdict, r.Summary = Valid, fmt.Sprintf("all %d thresholds met", len(t.List))
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r
}

func (tr ThresholdResult) show() string {
	if tr.Measured == nil {
		return "nothing"
	}
	if tr.Unit == "ms" {
		return time.Duration(*tr.Measured * float64(time.Millisecond)).Round(10 * time.Microsecond).String()
	}
	return fmt.Sprintf("%.4g", *tr.Measured)
}

// measure evaluates one threshold over the operations (final reads left out)
// invoked in its scope.
func measure(th Threshold, ops []history.Op, faults []history.Window) ThresholdResult {
	tr := ThresholdResult{Threshold: th.Text, Unit: "ms", Verdict: Unknown}
	var lat []float64
	var total, ok int
	for i := range ops {
		op := &ops[i]
		if op.Final {
			continue
		}
		if during := inFaults(op.Call, faults); th.Scope == ScopeOutside && during || th.Scope == ScopeDuring && !during {
			continue
		}
		total++
		if op.Type == history.OK {
			ok++
			if op.Return >= 0 {
				lat = append(lat, float64((op.Return-op.Call)/1e3)/1e3) // ms, to the microsecond
			}
		}
	}
	var v float64
	if th.Metric == "availability" {
		tr.Unit, tr.Ops = "fraction", total
		if total == 0 {
			return tr
		}
		v = float64(ok) / float64(total)
	} else {
		tr.Ops = len(lat)
		if len(lat) == 0 {
			return tr
		}
		slices.Sort(lat)
		p := 1.0
		switch th.Metric {
		case "p50":
			p = 0.50
		case "p90":
			p = 0.90
		case "p95":
			p = 0.95
		case "p99":
			p = 0.99
		case "p99.9", "p999":
			p = 0.999
		}
		// Nearest rank.
		v = lat[max(0, min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1))]
	}
	tr.Measured = &v
	met := false
	switch th.Op {
	case "<":
		met = v < th.Value
	case "<=":
		met = v <= th.Value
	case ">":
		met = v > th.Value
	case ">=":
		met = v >= th.Value
	}
	tr.Verdict = Invalid
	if met {
		tr.Verdict = Valid
	}
	return tr
}
