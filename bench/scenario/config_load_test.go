package scenario

import (
	"strings"
	"testing"
)

func TestLoadConfigValidate(t *testing.T) {
	def := DefaultLoad()
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mut := range map[string]func(*LoadConfig){
		"workload":   func(l *LoadConfig) { l.Workload = "no-such-workload" },
		"rate":       func(l *LoadConfig) { l.Rate = "ramp:1" },
		"mix":        func(l *LoadConfig) { l.Mix = "read:0" },
		"dist":       func(l *LoadConfig) { l.KeyDist = "pareto" },
		"keys":       func(l *LoadConfig) { l.Keys = 0 },
		"key-space":  func(l *LoadConfig) { l.KeySpace = 0 },
		"ops":        func(l *LoadConfig) { l.OpsPerKey = 0 },
		"conc":       func(l *LoadConfig) { l.KeyConcurrency = 0 },
		"value-size": func(l *LoadConfig) { l.ValueSize = -1 },
		"drop-after": func(l *LoadConfig) { l.DropAfter = -1 },
		"in-flight":  func(l *LoadConfig) { l.MaxInFlight = 0 },
	} {
		l := DefaultLoad()
		mut(&l)
		if err := l.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans lines: %q", name, err)
		}
	}
}
