package scenario

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// CheckConfig configures the checks run on the history.
type CheckConfig struct {
	// Timeout bounds the linearizability check.
	Timeout Duration `json:"timeout"`
	// MemoryMB is the heap over which the linearizability check stops the
	// search that holds the most (its key is then undecided).
	MemoryMB int `json:"memory_mb"`
	// Thresholds fail the run when missed, e.g. "p99 < 200ms outside faults",
	// "availability > 0.99 outside faults" (see ParseThreshold).
	Thresholds []string `json:"thresholds,omitempty"`
	// Consistency is the model a transactional history is held to
	// (strict-serializable, serializable, snapshot-isolation,
	// repeatable-read, read-committed, read-uncommitted); empty means the
	// checker's default. Checkers that do not use it ignore it.
	Consistency string `json:"consistency,omitempty"`
	// Options are checker-specific settings (checkers.Config.Options).
	Options map[string]string `json:"options,omitempty"`
}

// DefaultCheck gives the linearizability check two minutes and 2 GiB.
func DefaultCheck() CheckConfig {
	return CheckConfig{Timeout: Duration(2 * time.Minute), MemoryMB: 2048}
}

// Validate checks the numbers and parses every threshold.
func (c *CheckConfig) Validate() error {
	if c.Timeout <= 0 {
		return fmt.Errorf("--check-timeout %v: must be positive", c.Timeout)
	}
	if c.MemoryMB < 0 {
		return fmt.Errorf("--check-memory-mb %d: must be positive (0 for the default)", c.MemoryMB)
	}
	for _, t := range c.Thresholds {
		if _, err := ParseThreshold(t); err != nil {
			return err
		}
	}
	return nil
}

// Threshold is a parsed threshold: Metric Op Value in Scope.
type Threshold struct {
	Text   string
	Metric string // p50, p90, p95, p99, p99.9, max, availability
	Op     string // <, <=, >, >=
	// Value is in milliseconds for latencies, a fraction for availability.
	Value float64
	Scope string // overall, outside faults, during faults
}

var thresholdRE = regexp.MustCompile(`^\s*([a-z0-9.]+)\s*(<=|>=|<|>)\s*([^\s]+)\s*(.*?)\s*$`)

// ParseThreshold parses `<metric> <op> <value> [<scope>]`:
//
//	metric  p50 p90 p95 p99 p99.9 max (latency of ok operations), availability (ok / invoked)
//	op      < <= > >=
//	value   a duration for latencies (200ms, 1.5s); a fraction or a percentage for availability (0.99, 99%)
//	scope   overall (the default), outside faults, during faults
func ParseThreshold(s string) (Threshold, error) {
	bad := func(format string, args ...any) (Threshold, error) {
		return Threshold{}, fmt.Errorf("--threshold %q: "+format, append([]any{s}, args...)...)
	}
	m := thresholdRE.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return bad("want <metric> <op> <value> [scope], e.g. \"p99 < 200ms outside faults\"")
	}
	t := Threshold{Text: strings.Join(strings.Fields(s), " "), Metric: m[1], Op: m[2]}
	switch t.Metric {
	case "p50", "p90", "p95", "p99", "p99.9", "p999", "max":
		d, err := time.ParseDuration(m[3])
		if err != nil || d < 0 {
			return bad("%s wants a duration like 200ms, got %q", t.Metric, m[3])
		}
		t.Value = float64(d) / float64(time.Millisecond)
	case "availability":
		v, pct := m[3], strings.HasSuffix(m[3], "%")
		f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if pct {
			f /= 100
		}
		if err != nil || f < 0 || f > 1 {
			return bad("availability wants a fraction between 0 and 1 (0.99) or a percentage (99%%), got %q", m[3])
		}
		t.Value = f
	default:
		return bad("unknown metric %q (known: p50, p90, p95, p99, p99.9, max, availability)", t.Metric)
	}
	switch strings.Join(strings.Fields(m[4]), " ") {
	case "", "overall":
		t.Scope = "overall"
	case "outside faults", "outside fault", "outside":
		t.Scope = "outside faults"
	case "during faults", "during fault", "in faults", "during":
		t.Scope = "during faults"
	default:
		return bad("unknown scope %q (known: overall, outside faults, during faults)", m[4])
	}
	return t, nil
}
