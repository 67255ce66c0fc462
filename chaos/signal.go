package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime"
)

// DefaultGrace is how long kill:signal=TERM waits for the node to exit
// before it kills it.
const DefaultGrace = 10 * time.Second

// KillWith stops one node (chosen) with sig and waits for it to exit, at
// most grace, then kills it with SIGKILL; healing restarts it with its
// data. SIGKILL is Kill.
func KillWith(kind string, c Choice, sig syscall.Signal, grace time.Duration) Fault {
	return &kill{kind: kind, choose: c, sig: sig, grace: grace}
}

// startSignal is kill with a signal other than SIGKILL.
func (f *kill) startSignal(ctx context.Context, env *Env, rnd *rand.Rand) (*Active, error) {
	i, why := pick(ctx, env, rnd, f.choose)
	n := env.Nodes[i]
	st, ok := n.(runtime.Stopper)
	if !ok {
		return nil, fmt.Errorf("%s: the runtime of node %s cannot send it %s", f.kind, n.Name(), unix.SignalName(f.sig))
	}
	start := time.Now()
	env.mark(&env.killed, i, true)
	forced, err := st.Stop(ctx, f.sig, f.grace)
	took := time.Since(start)
	rearm(ctx, env, []int{i})
	if err != nil {
		_, herr := startNodes(context.WithoutCancel(ctx), env, []int{i})
		if herr != nil {
			return nil, fmt.Errorf("%s: %w (and restart: %v)", f.kind, err, herr)
		}
		return nil, fmt.Errorf("%s: %w", f.kind, err)
	}
	how := fmt.Sprintf("exited in %v", took.Round(time.Microsecond))
	if forced {
		how = fmt.Sprintf("did not exit within %v: killed with SIGKILL (%v in all)", f.grace, took.Round(time.Millisecond))
	}
	return &Active{
		Fault: &history.Fault{Kind: f.kind, Nodes: []string{n.Name()}, ApplyNanos: int64(took),
			Detail: fmt.Sprintf("kill -%s %s (%s): %s; restarted with its data when healed", strings.TrimPrefix(unix.SignalName(f.sig), "SIG"), n.Name(), why, how)},
		Heal: func(ctx context.Context) (string, error) { return startNodes(ctx, env, []int{i}) },
	}, nil
}

// parseSignal reads TERM, SIGTERM, term or a number.
func parseSignal(v string) (syscall.Signal, error) {
	s := strings.ToUpper(strings.TrimSpace(v))
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if sig := unix.SignalNum(s); sig != 0 {
		return sig, nil
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err == nil && fmt.Sprint(n) == v && n > 0 && n < 65 {
		return syscall.Signal(n), nil
	}
	return 0, fmt.Errorf("signal %q: want a name such as TERM, INT, HUP or KILL", v)
}

// killFactory reads signal= (default KILL) and grace= (default 10s).
func killFactory(c Choice) Factory {
	return func(p *Params) (Fault, error) {
		sig, err := parseSignal(p.String("signal", "KILL"))
		if err != nil {
			return nil, fmt.Errorf("--nemesis %s:signal: %w", p.Name, err)
		}
		grace, err := p.Duration("grace", DefaultGrace)
		if err != nil {
			return nil, err
		}
		if grace <= 0 {
			return nil, fmt.Errorf("--nemesis %s:grace=%v: want a positive duration", p.Name, grace)
		}
		return KillWith(p.Name, c, sig, grace), p.Done()
	}
}

func registerKill() {
	for _, k := range []struct {
		name, who string
		c         Choice
	}{{"kill", "a random node", ChooseRandom}, {"kill-leader", "the leader", ChooseLeader}, {"kill-follower", "a follower", ChooseFollower}} {
		Register(k.name, fmt.Sprintf("kill -9 %s (or kill:signal=TERM,grace=10s: wait for it to exit, then SIGKILL), restart it with its data", k.who),
			killFactory(k.c))
	}
}
