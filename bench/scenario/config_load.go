package scenario

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/bench/load"
	"github.com/faultline/faultline/bench/workload"
	_ "github.com/faultline/faultline/bench/workload/builtin" // the built-in workloads
	"github.com/faultline/faultline/bench/workload/register"
)

// LoadConfig is the load: its rate and length, the client, and the workload's shape.
type LoadConfig struct {
	// Workload names the data model (bench/workload): "register" (a few
	// keys hammered and rotated), "kv" (a large key space with a key
	// distribution), or any registered workload.
	Workload string `json:"workload"`
	// WorkloadOptions are the workload's own settings.
	WorkloadOptions map[string]string `json:"workload_options,omitempty"`
	// Rate: operations per second (open loop), ramp:FROM..TO, sine:MEAN,AMP,PERIOD
	// or closed:PROCESSES (see load.ParseRate).
	Rate     string   `json:"rate"`
	Duration Duration `json:"duration"`
	// Timeout is the client's per-request timeout. etcd gives up on a request
	// after about 7 s; a shorter client timeout turns slow writes into
	// unknown outcomes.
	Timeout     Duration `json:"timeout"`
	MaxInFlight int      `json:"max_in_flight"`
	// DropAfter, when positive, drops a request that could not be sent
	// within this long of its intended time; by default late requests are
	// sent as soon as a worker frees up (as wrk2 does) and counted late.
	DropAfter Duration `json:"drop_after,omitempty"`
	// ReadMode is passed to the target's client (etcd: linearizable, serializable).
	ReadMode string `json:"read_mode,omitempty"`
	// Mix weighs the operations: "read:50,write:30,cas:20".
	Mix string `json:"mix"`
	// Keys is how many keys the register workload keeps open at once.
	Keys int `json:"keys"`
	// KeySpace is how many keys the kv workload spreads over; KeyDist picks
	// among them: uniform or zipfian[:S].
	KeySpace       int    `json:"key_space"`
	KeyDist        string `json:"key_dist"`
	OpsPerKey      int    `json:"ops_per_key"`
	KeyConcurrency int    `json:"key_concurrency"`
	// ValueSize pads written values to this many bytes (they stay unique).
	ValueSize int `json:"value_size,omitempty"`
}

// DefaultLoad is 200 operations per second for 30 s of the register
// workload. Its key rotation and per-key concurrency keep the
// linearizability check decided (DESIGN.md, "bounded cost").
func DefaultLoad() LoadConfig {
	return LoadConfig{
		Workload: register.KindRegister,
		Rate:     "200", Duration: Duration(30 * time.Second), Timeout: Duration(10 * time.Second),
		MaxInFlight: 1024, Mix: register.DefaultMix().String(),
		Keys: 8, KeySpace: 1000, KeyDist: register.DistUniform, OpsPerKey: 100, KeyConcurrency: 2,
	}
}

// Validate checks the load's numbers.
func (l *LoadConfig) Validate() error {
	if l.Duration <= 0 {
		return fmt.Errorf("--duration %v: must be positive", l.Duration)
	}
	if _, err := load.ParseRate(l.Rate, time.Duration(l.Duration)); err != nil {
		return err
	}
	if l.Timeout <= 0 {
		return fmt.Errorf("--timeout %v: must be positive", l.Timeout)
	}
	if l.MaxInFlight < 1 || l.MaxInFlight > 100000 {
		return fmt.Errorf("--max-in-flight %d: must be between 1 and 100000", l.MaxInFlight)
	}
	if l.DropAfter < 0 {
		return fmt.Errorf("--drop-after %v: must not be negative", l.DropAfter)
	}
	w, err := workload.Lookup(l.Workload)
	if err != nil {
		return err
	}
	if l.Keys < 1 || l.KeySpace < 1 {
		return fmt.Errorf("--keys %d, --key-space %d: must be at least 1", l.Keys, l.KeySpace)
	}
	if l.OpsPerKey < 1 {
		return fmt.Errorf("--ops-per-key %d: must be at least 1", l.OpsPerKey)
	}
	if l.KeyConcurrency < 1 {
		return fmt.Errorf("--key-concurrency %d: must be at least 1", l.KeyConcurrency)
	}
	if l.ValueSize < 0 || l.ValueSize > 1<<20 {
		return fmt.Errorf("--value-size %d: must be between 0 and 1 MiB", l.ValueSize)
	}
	if _, err := w.New(l.WorkloadConfig(0)); err != nil {
		return err
	}
	return nil
}

// WorkloadConfig is what the workload is told; seed fixes its choices.
func (l *LoadConfig) WorkloadConfig(seed uint64) workload.Config {
	return workload.Config{
		Seed: seed, Keys: l.Keys, KeySpace: l.KeySpace, KeyDist: l.KeyDist, Mix: l.Mix,
		OpsPerKey: l.OpsPerKey, KeyConcurrency: l.KeyConcurrency, ValueSize: l.ValueSize,
		Options: l.WorkloadOptions,
	}
}
