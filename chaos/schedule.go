package chaos

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/faultline/faultline/history"
)

// Recorder receives nemesis events; history.Writer is one.
type Recorder interface {
	Now() int64
	Append(history.Event)
}

// Schedule injects faults periodically: Off quiet, then On with one fault
// (chosen at random among Faults), then heal, and again, until the context
// ends. Whatever is active when it ends is healed before Run returns.
type Schedule struct {
	Faults []Fault
	On     time.Duration
	Off    time.Duration
}

// Run drives the schedule. Errors injecting a fault are recorded in the
// history and the schedule goes on; errors healing are returned, since a
// fault that cannot be healed invalidates the rest of the run.
func (s *Schedule) Run(ctx context.Context, env *Env, rec Recorder) error {
	if len(s.Faults) == 0 {
		<-ctx.Done()
		return nil
	}
	var id uint64
	for {
		if !sleep(ctx, s.Off) {
			return nil
		}
		f := s.Faults[0]
		if len(s.Faults) > 1 {
			f = s.Faults[env.Rand.IntN(len(s.Faults))]
		}
		id++
		rec.Append(history.Event{Time: rec.Now(), Type: history.Invoke, Process: history.Nemesis,
			F: history.FStart, ID: id, Fault: &history.Fault{Kind: f.Kind()}})
		desc, err := f.Start(ctx, env)
		if err != nil {
			rec.Append(history.Event{Time: rec.Now(), Type: history.Fail, Process: history.Nemesis,
				F: history.FStart, ID: id, Fault: &history.Fault{Kind: f.Kind()}, Error: err.Error()})
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		desc.Kind = f.Kind()
		rec.Append(history.Event{Time: rec.Now(), Type: history.OK, Process: history.Nemesis,
			F: history.FStart, ID: id, Fault: desc})
		sleep(ctx, s.On)
		// Heal even when the run is being cancelled.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		rec.Append(history.Event{Time: rec.Now(), Type: history.Invoke, Process: history.Nemesis,
			F: history.FStop, ID: id, Fault: &history.Fault{Kind: f.Kind()}})
		err = f.Stop(hctx, env)
		cancel()
		if err != nil {
			rec.Append(history.Event{Time: rec.Now(), Type: history.Info, Process: history.Nemesis,
				F: history.FStop, ID: id, Fault: &history.Fault{Kind: f.Kind()}, Error: err.Error()})
			return fmt.Errorf("heal %s: %w", f.Kind(), err)
		}
		rec.Append(history.Event{Time: rec.Now(), Type: history.OK, Process: history.Nemesis,
			F: history.FStop, ID: id, Fault: &history.Fault{Kind: f.Kind(), Nodes: desc.Nodes}})
		if ctx.Err() != nil {
			return nil
		}
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Parse turns a --nemesis list into faults. "none" or "" means no fault.
func Parse(names []string) ([]Fault, error) {
	var out []Fault
	var errs []error
	for _, n := range names {
		switch n {
		case "", "none":
		case "partition", "partition-leader":
			out = append(out, &Isolate{Choose: ChooseLeader})
		case "partition-random":
			out = append(out, &Isolate{Choose: ChooseRandom})
		case "partition-follower":
			out = append(out, &Isolate{Choose: ChooseFollower})
		default:
			errs = append(errs, fmt.Errorf("unknown nemesis %q (known: none, partition, partition-random, partition-follower)", n))
		}
	}
	return out, errors.Join(errs...)
}
