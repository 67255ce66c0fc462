package bench

import "time"

// PlannedFault is one fault a run would inject, as planned before anything
// is launched.
type PlannedFault struct {
	At, For time.Duration
	Fault   string
}

// Plan validates sc as Prepare does and lists the faults its schedule
// injects while the load runs (faultline run --dry-run). Faults that pick
// their node at run time (kill-leader) name only their kind here.
func Plan(sc Scenario) ([]PlannedFault, error) {
	p, err := Prepare(sc)
	if err != nil {
		return nil, err
	}
	var out []PlannedFault
	for _, st := range p.nemesis.schedule.Plan(p.nemesis.until) {
		out = append(out, PlannedFault{At: st.At, For: st.For, Fault: st.Fault.Kind()})
	}
	return out, nil
}
