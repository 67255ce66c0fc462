package scenario

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/bench/load"
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/internal/safefile"
)

// Files of a run directory.
const (
	ScenarioFile = "scenario.json"
	HistoryFile  = "history.jsonl"
	ResultsFile  = "results.bin" // vegeta's gob encoding: `vegeta report results.bin`
	LogsDir      = "logs"
	DataDir      = "data" // node data directories, kept when a run fails
)

// RunInfo is scenario.json: the resolved scenario and what it ran on.
type RunInfo struct {
	Scenario
	RunID         string     `json:"run_id"`
	Started       time.Time  `json:"started"`
	TargetVersion string     `json:"target_version,omitempty"`
	GoVersion     string     `json:"go_version"`
	Interrupted   bool       `json:"interrupted,omitempty"`
	LoadStats     load.Stats `json:"load_stats"`
	// FinalReads counts what the workload's final phase did after healing
	// (bench's final.go).
	FinalReads *workload.FinalStats `json:"final_reads,omitempty"`
}

// ReadInfo reads a run directory's scenario.json.
func ReadInfo(dir string) (RunInfo, error) {
	var info RunInfo
	b, err := safefile.ReadFile(filepath.Join(dir, ScenarioFile), 16<<20)
	if err != nil {
		return info, fmt.Errorf("read run: %w", err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("read %s: %w", filepath.Join(dir, ScenarioFile), err)
	}
	return info, nil
}
