// Package bench runs scenarios: it launches the cluster, drives the load with
// vegeta while the nemesis injects faults, and records every operation into
// the run directory. Checking and reporting come after, in other packages.
package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Scenario is everything that defines a run. It is written, resolved, to the
// run directory as scenario.json.
type Scenario struct {
	Name    string   `json:"name,omitempty"`
	Target  string   `json:"target"`
	Version string   `json:"version,omitempty"`
	Runtime string   `json:"runtime"`
	Nodes   int      `json:"nodes"`
	Nemesis []string `json:"nemesis"`
	// NemesisInterval is both the quiet time before a fault and how long
	// the fault lasts.
	NemesisInterval Duration `json:"nemesis_interval"`
	Duration        Duration `json:"duration"`
	// Rate is operations per second (open loop).
	Rate     string `json:"rate"`
	ReadMode string `json:"read_mode,omitempty"`
	Seed     uint64 `json:"seed"`
	// Timeout is the client's per-request timeout. etcd gives up on a request
	// after about 7 s; a shorter client timeout turns slow writes into
	// unknown outcomes.
	Timeout        Duration `json:"timeout"`
	MaxInFlight    int      `json:"max_in_flight"`
	Keys           int      `json:"keys"`
	OpsPerKey      int      `json:"ops_per_key"`
	KeyConcurrency int      `json:"key_concurrency"`
	ReadFraction   float64  `json:"read_fraction"`
	// CheckTimeout bounds the linearizability check.
	CheckTimeout Duration `json:"check_timeout"`
	Out          string   `json:"out"`
}

// Default returns the scenario `faultline run` uses when given no flags.
func Default() Scenario {
	return Scenario{
		Target:          "etcd",
		Runtime:         "docker",
		Nodes:           3,
		Nemesis:         []string{"partition"},
		NemesisInterval: Duration(10 * time.Second),
		Duration:        Duration(30 * time.Second),
		Rate:            "200",
		ReadMode:        "",
		Timeout:         Duration(10 * time.Second),
		MaxInFlight:     1024,
		Keys:            8,
		OpsPerKey:       100,
		KeyConcurrency:  2,
		ReadFraction:    0.5,
		CheckTimeout:    Duration(2 * time.Minute),
		Out:             "results",
	}
}

// ConfigError is a problem with the scenario itself: nothing was launched.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(format string, args ...any) error {
	return &ConfigError{Err: fmt.Errorf(format, args...)}
}

// Validate checks what can be checked without launching anything.
func (s *Scenario) Validate() error {
	if s.Target == "" {
		return configErr("no target given (--target)")
	}
	if s.Nodes < 1 {
		return configErr("--nodes %d: a cluster needs at least 1 node", s.Nodes)
	}
	if s.Duration <= 0 {
		return configErr("--duration %v: must be positive", s.Duration)
	}
	if _, err := ParseRate(s.Rate); err != nil {
		return &ConfigError{Err: err}
	}
	if s.Timeout <= 0 {
		return configErr("--timeout %v: must be positive", s.Timeout)
	}
	if s.MaxInFlight < 1 {
		return configErr("--max-in-flight %d: must be at least 1", s.MaxInFlight)
	}
	if s.Keys < 1 || s.OpsPerKey < 1 || s.KeyConcurrency < 1 {
		return configErr("keys, ops-per-key and key-concurrency must be at least 1")
	}
	if s.ReadFraction < 0 || s.ReadFraction > 1 || math.IsNaN(s.ReadFraction) {
		return configErr("read fraction %v: must be between 0 and 1", s.ReadFraction)
	}
	if s.CheckTimeout <= 0 {
		return configErr("--check-timeout %v: must be positive", s.CheckTimeout)
	}
	if len(faultNames(s.Nemesis)) > 0 && s.NemesisInterval <= 0 {
		return configErr("--nemesis-interval %v: must be positive", s.NemesisInterval)
	}
	return nil
}

func faultNames(ns []string) []string {
	var out []string
	for _, n := range ns {
		if n != "" && n != "none" {
			out = append(out, n)
		}
	}
	return out
}

// ParseRate parses --rate: a positive number of operations per second.
func ParseRate(s string) (vegeta.Pacer, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return nil, fmt.Errorf("--rate %q: want operations per second, e.g. 200", s)
	}
	if f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, fmt.Errorf("--rate %s: must be a positive number of operations per second", s)
	}
	// vegeta's constant pacer counts whole hits per Per; express fractional
	// rates over a longer period.
	per := time.Second
	for f != math.Trunc(f) && per < time.Hour {
		f *= 10
		per *= 10
	}
	return vegeta.ConstantPacer{Freq: int(f), Per: per}, nil
}

// Duration is a time.Duration that reads and writes as "30s" in JSON.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n float64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return errors.New("duration: want a string like \"30s\"")
		}
		*d = Duration(time.Duration(n * float64(time.Second)))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
