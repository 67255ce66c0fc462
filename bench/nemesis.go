package bench

import (
	"context"
	mrand "math/rand/v2"
	"net/http"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

// newChaosEnv is what the faults of a run act on; its random source is seeded
// from the scenario so that a seed fixes the fault schedule.
func newChaosEnv(sc Scenario, t targets.Target, c runtime.Cluster) *chaos.Env {
	return &chaos.Env{
		Nodes: c.Nodes(), Target: t, Firewall: chaos.NetlinkFirewall{},
		HTTP: &http.Client{Timeout: 2 * time.Second},
		Rand: mrand.New(mrand.NewPCG(sc.Seed, 0xfa17)),
	}
}

// startNemesis runs the fault schedule in the background. The returned stop
// ends it, heals what is active and returns the schedule's error. A fault
// that cannot be healed ends the load early through abort.
func startNemesis(ctx context.Context, sc Scenario, faults []chaos.Fault, env *chaos.Env, rec *history.Writer, abort func()) (stop func() error) {
	if len(faults) == 0 {
		return func() error { return nil }
	}
	nctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	sched := &chaos.Schedule{Faults: faults, On: time.Duration(sc.Chaos.Interval), Off: time.Duration(sc.Chaos.Interval)}
	go func() {
		err := sched.Run(nctx, env, rec)
		if err != nil {
			abort()
		}
		done <- err
	}()
	return func() error {
		cancel()
		return <-done
	}
}
