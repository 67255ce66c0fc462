package jepsen

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime"
)

// Target is the cluster.target an imported run names in scenario.json:
// no cluster ran, the history came from Jepsen.
const Target = "jepsen-import"

// ReadFile is Read on a file.
func ReadFile(path string, opts ...Option) ([]history.Event, Workload, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("open Jepsen history: %w", err)
	}
	defer f.Close()
	events, w, err := Read(f, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return events, w, nil
}

// Import reads the Jepsen history src and writes a run directory dir that
// faultline.Check checks: history.jsonl, and a scenario.json naming the
// workload (register, list-append or rw-register: it picks the checkers)
// and, with WithConsistency, the model. dir is created; one that already
// holds a run is refused rather than overwritten.
func Import(src, dir string, opts ...Option) error {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	events, w, err := ReadFile(src, opts...)
	if err != nil {
		return err
	}
	for _, f := range []string{scenario.ScenarioFile, scenario.HistoryFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("import into %s: it already holds a run (%s); choose an empty directory", dir, f)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("import into %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := writeHistory(filepath.Join(dir, scenario.HistoryFile), events); err != nil {
		return err
	}
	name := cfg.name
	if name == "" {
		name = "jepsen " + filepath.Base(src)
	}
	sc := scenario.Scenario{
		Name:    name,
		Out:     filepath.Dir(dir),
		Cluster: scenario.ClusterConfig{Target: Target},
		Load:    scenario.LoadConfig{Workload: string(w)},
		Chaos:   scenario.ChaosConfig{},
		Check:   scenario.DefaultCheck(),
	}
	sc.Check.Consistency = cfg.consistency
	if w != Register {
		sc.Check.Options = CheckOptions()
	}
	info := scenario.RunInfo{Scenario: sc, RunID: runtime.NewRunID(), Started: time.Now().UTC(), GoVersion: goruntime.Version()}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, scenario.ScenarioFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("import: write %s: %w", scenario.ScenarioFile, err)
	}
	return nil
}

// CheckOptions are the checker options (scenario.json's check.options) an
// imported transactional history is checked with: Jepsen's histories may
// start from keys that are not empty and need not hold every write, so a
// value no transaction in the history wrote is, as in Elle, no anomaly by
// itself (initial-state=unknown; `faultline check --check-opt
// initial-state=empty` calls it a garbage read).
func CheckOptions() map[string]string { return map[string]string{"initial-state": "unknown"} }

func writeHistory(path string, events []history.Event) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var line []byte
	for i := range events {
		line = append(history.AppendJSON(line[:0], &events[i]), '\n')
		if _, err := w.Write(line); err != nil {
			f.Close()
			return fmt.Errorf("import: write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("import: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("import: write %s: %w", path, err)
	}
	return nil
}
