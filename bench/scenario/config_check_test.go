package scenario

import (
	"strings"
	"testing"
)

func TestParseThreshold(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Threshold
	}{
		{"p99 < 200ms outside faults", Threshold{Text: "p99 < 200ms outside faults", Metric: "p99", Op: "<", Value: 200, Scope: "outside faults"}},
		{"  availability>0.99   outside  faults ", Threshold{Text: "availability>0.99 outside faults", Metric: "availability", Op: ">", Value: 0.99, Scope: "outside faults"}},
		{"availability >= 99.5%", Threshold{Text: "availability >= 99.5%", Metric: "availability", Op: ">=", Value: 0.995, Scope: "overall"}},
		{"P99.9 <= 1.5s during faults", Threshold{Text: "P99.9 <= 1.5s during faults", Metric: "p99.9", Op: "<=", Value: 1500, Scope: "during faults"}},
		{"max < 2s overall", Threshold{Text: "max < 2s overall", Metric: "max", Op: "<", Value: 2000, Scope: "overall"}},
	} {
		got, err := ParseThreshold(c.in)
		if err != nil || got != c.want {
			t.Errorf("%q: %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "p99", "p99 < ", "p99 < 200", "p99 < fast", "p98 < 1s", "availability > 2",
		"availability > 150%", "p99 = 1s", "p99 < 1s sometimes", "availability > -0.1"} {
		if _, err := ParseThreshold(bad); err == nil || !strings.Contains(err.Error(), "--threshold") {
			t.Errorf("%q: want an error naming --threshold, got %v", bad, err)
		}
	}
	c := DefaultCheck()
	c.Thresholds = []string{"p99 < 200ms", "p42 < 1s"}
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted a bad threshold")
	}
}
