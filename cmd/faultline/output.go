package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/chaos/nemesis"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/report/live"
)

// verdictJSON is the verdict line as one object (--output json).
type verdictJSON struct {
	Verdict  string            `json:"verdict"`
	ExitCode int               `json:"exit_code"`
	Checks   map[string]string `json:"checks"`
	Failed   []string          `json:"failed,omitempty"`
	Counts   report.Counts     `json:"counts"`
	// OKPerS is the throughput of operations that succeeded.
	OKPerS      float64 `json:"throughput_ok_per_s"`
	P99MS       float64 `json:"p99_ms"`
	Target      string  `json:"target"`
	Version     string  `json:"version"`
	Nodes       int     `json:"nodes"`
	Nemesis     string  `json:"nemesis"`
	Interrupted bool    `json:"interrupted,omitempty"`
	Error       string  `json:"error,omitempty"`
	Dir         string  `json:"run_dir"`
}

func printVerdict(w io.Writer, format outputFlag, out *faultline.Outcome, code int) {
	s := out.Summary
	if format != "json" {
		fmt.Fprintln(w, report.VerdictLine(s, out.Dir))
		return
	}
	v := verdictJSON{Verdict: string(s.Verdict), ExitCode: code, Checks: map[string]string{}, Counts: s.Ops,
		OKPerS: s.Throughput.OKPerS, P99MS: s.LatencyMS.P99, Target: s.Target, Version: s.TargetVersion, Nodes: s.Nodes,
		Nemesis: strings.Join(s.Nemesis, ","), Interrupted: s.Interrupted || s.HistoryTruncated, Error: s.Error, Dir: out.Dir}
	for _, c := range s.Checks {
		v.Checks[c.Checker] = string(c.Verdict)
		if c.Verdict == "invalid" {
			v.Failed = append(v.Failed, c.Checker)
		}
	}
	b, _ := json.Marshal(v)
	fmt.Fprintln(w, string(b))
}

// printPlan is what --dry-run prints: the run as it would happen.
func printPlan(w io.Writer, sc scenario.Scenario, faults []nemesis.Planned, serve string) {
	c, l, ch := sc.Cluster, sc.Load, sc.Chaos
	version := c.Version
	if version == "" {
		version = "default version"
	}
	opts := targetOptions(c.Options)
	fmt.Fprintf(w, "cluster: %d %s nodes (%s)%s on the %s runtime, netns %s\n", c.Nodes, c.Target, version, opts, c.Runtime, c.Netns)
	reads := ""
	if l.ReadMode != "" {
		reads = ", " + l.ReadMode + " reads"
	}
	fmt.Fprintf(w, "load:    %s workload, rate %s for %v, mix %s%s, timeout %v per request\n", l.Workload, l.Rate, l.Duration, l.Mix, reads, l.Timeout)
	if len(faults) == 0 {
		fmt.Fprintln(w, "faults:  none")
	} else {
		var steps []string
		for _, f := range faults {
			steps = append(steps, fmt.Sprintf("%s at %v for %v", f.Fault, f.At, f.For))
		}
		fmt.Fprintf(w, "faults:  %d (%s): %s; then %v quiet\n", len(faults), strings.Join(ch.Nemesis, ","), strings.Join(steps, ", "), ch.Quiet)
	}
	final := "final reads off"
	if ch.FinalReads {
		final = fmt.Sprintf("final reads within %v", ch.FinalTimeout)
	}
	th := "no thresholds"
	if len(sc.Check.Thresholds) > 0 {
		th = "thresholds: " + strings.Join(sc.Check.Thresholds, "; ")
	}
	checks, _ := faultline.CheckNames(sc) // validated by preflight
	if sc.Check.Consistency != "" {
		checks = append(checks, "consistency "+sc.Check.Consistency)
	}
	fmt.Fprintf(w, "checks:  %s, %s (search budget %v), %s\n", final, strings.Join(checks, ", "), sc.Check.Timeout, th)
	fmt.Fprintf(w, "output:  a run directory under %s/, seed %d\n", sc.Out, sc.Seed)
	if serve != "" {
		addr, _ := live.ListenAddr(serve)
		fmt.Fprintf(w, "live:    the page at http://%s/ while it runs\n", addr)
	}
	fmt.Fprintf(w, "dry run: valid; nothing launched (about %v of load)\n", time.Duration(l.Duration))
}
