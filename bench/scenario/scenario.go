// Package scenario is what defines a run: the Scenario, one section per
// concern (cluster, load, chaos, check), each with its defaults and its
// validation; scenario files (YAML or JSON, errors naming the key and its
// line); and the record a run directory keeps of it (scenario.json,
// RunInfo). Nothing here launches anything: package bench runs a scenario.
package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Scenario is everything that defines a run. It is written, resolved, to the
// run directory as scenario.json. Each concern has its own section (and file):
// the cluster, the load, the faults, the checks.
type Scenario struct {
	Name string `json:"name,omitempty"`
	// Seed fixes every random choice of the run.
	Seed    uint64        `json:"seed"`
	Out     string        `json:"out"`
	Cluster ClusterConfig `json:"cluster"`
	Load    LoadConfig    `json:"load"`
	Chaos   ChaosConfig   `json:"chaos"`
	Check   CheckConfig   `json:"check"`
}

// Default returns the scenario `faultline run` uses when given no flags.
func Default() Scenario {
	return Scenario{
		Out:     "results",
		Cluster: DefaultCluster(),
		Load:    DefaultLoad(),
		Chaos:   DefaultChaos(),
		Check:   DefaultCheck(),
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
	for _, err := range []error{s.Cluster.Validate(), s.Load.Validate(), s.Chaos.Validate(), s.Check.Validate()} {
		if err != nil {
			return &ConfigError{Err: err}
		}
	}
	// How many nodes each fault needs is its own to say (chaos.Needs,
	// checked by planNemesis): a single member can be killed or crashed by
	// a failpoint, and single-node bugs are real (etcd #14370).
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
