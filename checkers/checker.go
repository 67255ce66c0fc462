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
	// Skipped says the check does not apply to this history at all (e.g. the
	// workload made no final reads, so lost writes cannot be looked for). It
	// is not a pass: Overall ignores it, and a run whose every check was
	// skipped is unknown. The summary says why it was skipped.
	Skipped Verdict = "skipped"
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
	// Keys that could not be linearized, and keys left undecided (at most
	// maxListed of each; Stats has the totals).
	InvalidKeys []string `json:"invalid_keys,omitempty"`
	UnknownKeys []string `json:"unknown_keys,omitempty"`
	// Explanation says in plain text why the verdict is invalid or unknown.
	Explanation string `json:"explanation,omitempty"`
	// Artifacts are files written into Input.Dir, relative to it.
	Artifacts []string       `json:"artifacts,omitempty"`
	Stats     map[string]int `json:"stats,omitempty"`
	// Details is the checker's own structured finding (per key, per node,
	// per fault window...), for reports and for machines.
	Details   any   `json:"details,omitempty"`
	ElapsedMS int64 `json:"elapsed_ms"`
}

// maxListed caps the key names listed in a Result: a history of a million
// keys must not produce a summary.json of a million names.
const maxListed = 1000

// Overall combines verdicts: any invalid makes the whole invalid; otherwise
// any unknown makes it unknown; skipped checks are left out, and only a set
// of checks with at least one valid and none unknown is valid.
func Overall(rs []Result) Verdict {
	v, decided := Valid, false
	for _, r := range rs {
		switch r.Verdict {
		case Invalid:
			return Invalid
		case Valid:
			decided = true
		case Skipped:
		default: // unknown, or anything not understood
			v = Unknown
		}
	}
	if !decided {
		return Unknown
	}
	return v
}
