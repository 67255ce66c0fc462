// Package checkers turns a history into verdicts. A checker knows nothing of
// any system: it reads operations and fault windows and says valid, invalid
// or unknown. Unknown is never reported as a pass.
package checkers

import (
	"context"

	"github.com/faultline/faultline/history"
)

// Verdict is a checker's answer.
type Verdict string

const (
	Valid   Verdict = "valid"
	Invalid Verdict = "invalid"
	Unknown Verdict = "unknown"
)

// Checker is one check over a history.
type Checker interface {
	Name() string
	Check(ctx context.Context, in *Input) Result
}

// Input is what checkers read.
type Input struct {
	Events []history.Event
	Ops    []history.Op
	Faults []history.Window
	// Dir receives artifacts (visualizations); empty means none are written.
	Dir string
}

// NewInput assembles operations and fault windows from events.
func NewInput(events []history.Event, dir string) *Input {
	return &Input{Events: events, Ops: history.Operations(events), Faults: history.Faults(events), Dir: dir}
}

// Result is a checker's verdict and what explains it.
type Result struct {
	Checker string  `json:"checker"`
	Verdict Verdict `json:"verdict"`
	Summary string  `json:"summary"`
	// Keys that could not be linearized, and keys left undecided.
	InvalidKeys []string `json:"invalid_keys,omitempty"`
	UnknownKeys []string `json:"unknown_keys,omitempty"`
	// Explanation says in plain text why the verdict is invalid.
	Explanation string `json:"explanation,omitempty"`
	// Artifacts are files written into Input.Dir, relative to it.
	Artifacts []string       `json:"artifacts,omitempty"`
	Stats     map[string]int `json:"stats,omitempty"`
	ElapsedMS int64          `json:"elapsed_ms"`
}

// Overall combines verdicts: any invalid makes the whole invalid; otherwise
// any unknown makes it unknown; only all-valid is valid.
func Overall(rs []Result) Verdict {
	v := Valid
	for _, r := range rs {
		switch r.Verdict {
		case Invalid:
			return Invalid
		case Unknown:
			v = Unknown
		case Valid:
		default:
			v = Unknown
		}
	}
	if len(rs) == 0 {
		return Unknown
	}
	return v
}
