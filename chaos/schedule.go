package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/faultline/faultline/history"
)

// Recorder receives nemesis events; history.Writer is one.
type Recorder interface {
	Now() int64
	Append(history.Event)
}

// Step is one fault of a schedule: injected At after the schedule starts,
// healed For later.
type Step struct {
	At    time.Duration
	For   time.Duration
	Fault Fault
}

// Schedule decides which fault happens when. Its steps are a function of the
// seed alone, and so is every random choice a fault makes (each step draws
// from its own source, seeded by the seed and the step's number), so the same
// seed gives the same faults at the same offsets on the same nodes, except
// where a choice depends on live state such as which node leads.
type Schedule struct {
	seed uint64
	step func(i int) (Step, bool)
}

// Periodic is quiet for off, then injects one fault (chosen at random among
// faults) for on, heals it, and again, for as long as it runs.
func Periodic(faults []Fault, on, off time.Duration, seed uint64) *Schedule {
	rng := rand.New(rand.NewPCG(seed, 0x5c4ed))
	var chosen []Fault
	return &Schedule{seed: seed, step: func(i int) (Step, bool) {
		if len(faults) == 0 {
			return Step{}, false
		}
		for len(chosen) <= i {
			chosen = append(chosen, faults[rng.IntN(len(faults))])
		}
		return Step{At: off + time.Duration(i)*(on+off), For: on, Fault: chosen[i]}, true
	}}
}

// Timeline injects the given steps, which must not overlap: a fault is
// healed before the next starts.
func Timeline(steps []Step, seed uint64) (*Schedule, error) {
	steps = append([]Step(nil), steps...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].At < steps[j].At })
	for i, s := range steps {
		if s.At < 0 || s.For <= 0 {
			return nil, fmt.Errorf("timeline step %d (%s at %v for %v): want at >= 0 and a positive duration", i+1, s.Fault.Kind(), s.At, s.For)
		}
		if i > 0 && steps[i-1].At+steps[i-1].For > s.At {
			p := steps[i-1]
			return nil, fmt.Errorf("timeline: %s at %v for %v overlaps %s at %v; faults of a timeline run one at a time",
				p.Fault.Kind(), p.At, p.For, s.Fault.Kind(), s.At)
		}
	}
	return &Schedule{seed: seed, step: func(i int) (Step, bool) {
		if i >= len(steps) {
			return Step{}, false
		}
		return steps[i], true
	}}, nil
}

// Plan lists the steps that start before horizon.
func (s *Schedule) Plan(horizon time.Duration) []Step {
	var out []Step
	for i := 0; ; i++ {
		st, ok := s.step(i)
		if !ok || st.At >= horizon {
			return out
		}
		out = append(out, st)
	}
}

// Run drives the schedule until ctx ends. Errors injecting a fault are
// recorded in the history and the schedule goes on; errors healing are
// returned, since a fault that cannot be healed invalidates the rest of the
// run. Whatever is active when ctx ends is healed before Run returns. A step
// due at or after ctx's deadline is never started: its timer and the
// deadline would otherwise race, and a fault begun as the load ends is a
// window of nothing.
func (s *Schedule) Run(ctx context.Context, env *Env, rec Recorder) error {
	t0 := time.Now()
	deadline, hasDeadline := ctx.Deadline()
	for i := 0; ; i++ {
		st, ok := s.step(i)
		if !ok || (hasDeadline && !t0.Add(st.At).Before(deadline)) {
			<-ctx.Done()
			return nil
		}
		if !sleepUntil(ctx, t0.Add(st.At)) {
			return nil
		}
		if err := s.run(ctx, env, rec, i, st, t0); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

func (s *Schedule) run(ctx context.Context, env *Env, rec Recorder, i int, st Step, t0 time.Time) error {
	id := uint64(i + 1)
	kind := st.Fault.Kind()
	ev := func(t history.Type, f string, fault *history.Fault, errMsg string) {
		rec.Append(history.Event{Time: rec.Now(), Type: t, Process: history.Nemesis, F: f, ID: id, Fault: fault, Error: errMsg})
	}
	ev(history.Invoke, history.FStart, &history.Fault{Kind: kind, Detail: fmt.Sprintf("planned at +%v for %v", st.At, st.For)}, "")
	rnd := rand.New(rand.NewPCG(s.seed, 0xfa17_0000+uint64(i)))
	// An injection that has begun runs to its end even when the load ends
	// meanwhile: cut halfway (a kill whose API call was abandoned while the
	// container still died), a fault would be neither recorded as on nor
	// healed. It is healed at once below when the run is over.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	act, err := st.Fault.Start(sctx, env, rnd)
	scancel()
	if err != nil {
		ev(history.Fail, history.FStart, &history.Fault{Kind: kind}, err.Error())
		return nil
	}
	act.Fault.Kind = kind
	ev(history.OK, history.FStart, act.Fault, "")
	sleepUntil(ctx, t0.Add(st.At+st.For))
	// Heal even when the run is being cancelled.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	ev(history.Invoke, history.FStop, &history.Fault{Kind: kind, Nodes: act.Fault.Nodes}, "")
	detail, err := act.Heal(hctx)
	if err != nil {
		ev(history.Info, history.FStop, &history.Fault{Kind: kind, Nodes: act.Fault.Nodes, Links: act.Fault.Links}, err.Error())
		return fmt.Errorf("heal %s: %w", kind, err)
	}
	ev(history.OK, history.FStop, &history.Fault{Kind: kind, Nodes: act.Fault.Nodes, Links: act.Fault.Links, Detail: detail}, "")
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
