package faultline

import (
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/checkers"
	_ "github.com/faultline/faultline/checkers/builtin" // the built-in checkers
)

// CheckNames validates the checks a scenario's history would go through and
// names them in report order (faultline run --dry-run); an error is a
// *scenario.ConfigError.
func CheckNames(sc scenario.Scenario) ([]string, error) {
	cs, err := checksFor(scenario.RunInfo{Scenario: sc})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name()
	}
	return names, nil
}

// checksFor lists the checkers a run's history goes through, in the order
// they are reported: those its workload names (linearizability first for
// the register workloads, then the checks that explain what went wrong),
// then availability and the scenario's thresholds (if it sets any), which
// apply to every workload. A threshold that does not parse, or a workload
// or checker that is not registered, is a *scenario.ConfigError.
func checksFor(info scenario.RunInfo) ([]checkers.Checker, error) {
	if err := info.Check.Validate(); err != nil {
		return nil, &scenario.ConfigError{Err: err}
	}
	name := info.Load.Workload
	if name == "" {
		name = "register" // wave-1 scenario.json files always name it; be lenient
	}
	w, err := workload.Lookup(name)
	if err != nil {
		return nil, &scenario.ConfigError{Err: err}
	}
	cfg := checkers.Config{Budget: time.Duration(info.Check.Timeout), Options: map[string]string{}}
	for k, v := range info.Check.Options {
		cfg.Options[k] = v
	}
	if info.Check.Consistency != "" {
		cfg.Options["consistency"] = info.Check.Consistency
	}
	if info.Check.MemoryMB > 0 {
		cfg.MemoryLimit = uint64(info.Check.MemoryMB) << 20
	}
	var list []checkers.Checker
	for _, n := range append(w.Checkers(info.Load.WorkloadConfig(info.Seed)), "availability") {
		c, err := checkers.Lookup(n, cfg)
		if err != nil {
			return nil, &scenario.ConfigError{Err: err}
		}
		list = append(list, c)
	}
	if len(info.Check.Thresholds) > 0 {
		th := &checkers.Thresholds{}
		for _, s := range info.Check.Thresholds {
			t, err := scenario.ParseThreshold(s)
			if err != nil {
				return nil, &scenario.ConfigError{Err: err}
			}
			th.List = append(th.List, checkers.Threshold{Text: t.Text, Metric: t.Metric, Op: t.Op, Value: t.Value, Scope: t.Scope})
		}
		list = append(list, th)
	}
	return list, nil
}
