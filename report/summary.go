// Package report writes what a run produced into its directory: summary.json
// and plots. It reads histories and verdicts; it never runs anything.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"

	"github.com/faultline/faultline/internal/safefile"
)

// SummaryFile is the machine-readable result of a run.
const SummaryFile = "summary.json"

// Meta describes the run being reported.
type Meta struct {
	RunID         string   `json:"run_id"`
	Name          string   `json:"name,omitempty"`
	Target        string   `json:"target"`
	TargetVersion string   `json:"target_version,omitempty"`
	Nodes         int      `json:"nodes"`
	Nemesis       []string `json:"nemesis"`
	ReadMode      string   `json:"read_mode,omitempty"`
	Rate          string   `json:"rate"`
	Interrupted   bool     `json:"interrupted,omitempty"`
	// Error is an infrastructure error that cut the run short.
	Error string `json:"error,omitempty"`
	// Dropped is the load generator's count of requests it never sent.
	Dropped int64 `json:"-"`
}

// Summary is summary.json.
type Summary struct {
	Meta
	Verdict checkers.Verdict  `json:"verdict"`
	Checks  []checkers.Result `json:"checks"`
	Ops     Counts            `json:"ops"`
	ByF     map[string]Counts `json:"ops_by_f"`
	// DurationS is the span of the history, first to last event.
	DurationS  float64    `json:"duration_s"`
	Throughput Throughput `json:"throughput"`
	// Latency of operations that completed ok, and of all that completed.
	LatencyMS    Latency        `json:"latency_ms"`
	LatencyAllMS Latency        `json:"latency_all_ms"`
	Faults       []FaultSummary `json:"faults"`
	// Availability is the fraction of operations that succeeded in each
	// fault window and outside all of them.
	Availability checkers.AvailabilityDetails `json:"availability"`
	// LatencyCorrectedMS is latency_ms measured from each request's intended
	// send time, free of coordinated omission (see LoadSummary).
	LatencyCorrectedMS Latency     `json:"latency_corrected_ms"`
	Load               LoadSummary `json:"load"`
	// HistoryTruncated says the history's last line was torn (a crash).
	HistoryTruncated bool `json:"history_truncated,omitempty"`
}

// Counts are operations by outcome.
type Counts struct {
	Total int `json:"total"`
	OK    int `json:"ok"`
	Fail  int `json:"fail"`
	Info  int `json:"info"`
}

func (c *Counts) add(t history.Type) {
	c.Total++
	switch t {
	case history.OK:
		c.OK++
	case history.Fail:
		c.Fail++
	default:
		c.Info++
	}
}

// Throughput is operations per second over the history's span.
type Throughput struct {
	AttemptedPerS float64 `json:"attempted_per_s"`
	OKPerS        float64 `json:"ok_per_s"`
}

// Latency percentiles in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// FaultSummary is one fault window, in seconds since the start.
type FaultSummary struct {
	Kind   string   `json:"kind"`
	StartS float64  `json:"start_s"`
	EndS   float64  `json:"end_s"`
	Nodes  []string `json:"nodes,omitempty"`
	Detail string   `json:"detail,omitempty"`
}

// Summarize computes the summary of a history and its check results.
func Summarize(meta Meta, events []history.Event, ops []history.Op, faults []history.Window, checks []checkers.Result) Summary {
	s := Summary{Meta: meta, Checks: checks, Verdict: checkers.Overall(checks), ByF: map[string]Counts{}}
	var first, last int64 = math.MaxInt64, 0
	for i := range events {
		first = min(first, events[i].Time)
		last = max(last, events[i].Time)
	}
	if len(events) == 0 {
		first = 0
	}
	var okLat, allLat []float64
	for _, op := range ops {
		s.Ops.add(op.Type)
		c := s.ByF[op.F]
		c.add(op.Type)
		s.ByF[op.F] = c
		if op.Return >= 0 {
			ms := float64(op.Return-op.Call) / 1e6
			allLat = append(allLat, ms)
			if op.Type == history.OK {
				okLat = append(okLat, ms)
			}
		}
	}
	s.DurationS = float64(last-first) / 1e9
	if s.DurationS > 0 {
		s.Throughput = Throughput{AttemptedPerS: round(float64(s.Ops.Total) / s.DurationS), OKPerS: round(float64(s.Ops.OK) / s.DurationS)}
	}
	s.DurationS = round(s.DurationS)
	s.LatencyMS, s.LatencyAllMS = Percentiles(okLat), Percentiles(allLat)
	s.Availability = checkers.Measure(ops, faults)
	s.LatencyCorrectedMS, s.Load = summarizeLoad(ops, meta.Dropped)
	for _, w := range faults {
		fs := FaultSummary{Kind: w.Kind, StartS: round(float64(w.Start) / 1e9), EndS: round(float64(w.End) / 1e9)}
		if w.Fault != nil {
			fs.Nodes, fs.Detail = w.Fault.Nodes, w.Fault.Detail
		}
		s.Faults = append(s.Faults, fs)
	}
	return s
}

// Percentiles computes nearest-rank percentiles of ms.
func Percentiles(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	sorted := append([]float64(nil), ms...)
	sort.Float64s(sorted)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(sorted)))) - 1
		return round(sorted[max(0, min(i, len(sorted)-1))])
	}
	return Latency{Count: len(sorted), P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: round(sorted[len(sorted)-1])}
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

// WriteSummary writes summary.json into dir.
func WriteSummary(dir string, s Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := safefile.WriteFile(dir, SummaryFile, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// VerdictLine is the one line printed at the end of a run.
func VerdictLine(s Summary, dir string) string {
	v := string(s.Verdict)
	switch {
	case s.Interrupted:
		v += " (interrupted: not a pass)"
	case s.HistoryTruncated:
		v += " (history torn by a crash: not a pass)"
	case s.Error != "":
		v += " (run cut short: not a pass)"
	}
	return fmt.Sprintf("%s: %s %s, %d nodes, nemesis %s: %d ops (%d ok, %d fail, %d info), %.0f ok/s, p99 %s -> %s",
		v, s.Target, s.TargetVersion, s.Nodes, strings.Join(s.Nemesis, ","), s.Ops.Total, s.Ops.OK, s.Ops.Fail, s.Ops.Info,
		s.Throughput.OKPerS, time.Duration(s.LatencyMS.P99*float64(time.Millisecond)).Round(100*time.Microsecond), dir)
}
