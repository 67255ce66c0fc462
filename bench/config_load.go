package bench

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// LoadConfig is the load: its rate and length, the client, and the workload's shape.
type LoadConfig struct {
	// Rate is operations per second (open loop).
	Rate     string   `json:"rate"`
	Duration Duration `json:"duration"`
	// Timeout is the client's per-request timeout. etcd gives up on a request
	// after about 7 s; a shorter client timeout turns slow writes into
	// unknown outcomes.
	Timeout     Duration `json:"timeout"`
	MaxInFlight int      `json:"max_in_flight"`
	// ReadMode is passed to the target's client (etcd: linearizable, serializable).
	ReadMode       string  `json:"read_mode,omitempty"`
	Keys           int     `json:"keys"`
	OpsPerKey      int     `json:"ops_per_key"`
	KeyConcurrency int     `json:"key_concurrency"`
	ReadFraction   float64 `json:"read_fraction"`
}

// DefaultLoad is 200 operations per second for 30 s.
func DefaultLoad() LoadConfig {
	return LoadConfig{
		Rate: "200", Duration: Duration(30 * time.Second), Timeout: Duration(10 * time.Second),
		MaxInFlight: 1024, Keys: 8, OpsPerKey: 100, KeyConcurrency: 2, ReadFraction: 0.5,
	}
}

// Validate checks the load's numbers.
func (l *LoadConfig) Validate() error {
	if l.Duration <= 0 {
		return fmt.Errorf("--duration %v: must be positive", l.Duration)
	}
	if _, err := ParseRate(l.Rate); err != nil {
		return err
	}
	if l.Timeout <= 0 {
		return fmt.Errorf("--timeout %v: must be positive", l.Timeout)
	}
	if l.MaxInFlight < 1 {
		return fmt.Errorf("--max-in-flight %d: must be at least 1", l.MaxInFlight)
	}
	if l.Keys < 1 || l.OpsPerKey < 1 || l.KeyConcurrency < 1 {
		return fmt.Errorf("keys, ops-per-key and key-concurrency must be at least 1")
	}
	if l.ReadFraction < 0 || l.ReadFraction > 1 || math.IsNaN(l.ReadFraction) {
		return fmt.Errorf("read fraction %v: must be between 0 and 1", l.ReadFraction)
	}
	return nil
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
