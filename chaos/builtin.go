package chaos

import "fmt"

// The faults that ship with Faultline: one line each. A fault with
// parameters of its own registers a Factory that reads them from Params.
func init() {
	registerDisk()
	registerClock()
	registerMembers()
	registerPacket()
	registerSlow()
	registerKill() // kill, kill-leader, kill-follower: signal=, grace=
	registerFailpoints()
	simple("partition", "isolate the leader from the other nodes", func(Options) Fault { return Isolate("partition", ChooseLeader) })
	simple("partition-leader", "same as partition", func(Options) Fault { return Isolate("partition-leader", ChooseLeader) })
	simple("partition-follower", "isolate a follower", func(Options) Fault { return Isolate("partition-follower", ChooseFollower) })
	simple("partition-random", "isolate a random node", func(Options) Fault { return Isolate("partition-random", ChooseRandom) })
	simple("partition-halves", "random minority / majority split", func(Options) Fault { return Halves() })
	simple("partition-ring", "majorities ring: every node sees a different majority (4+ nodes)", func(Options) Fault { return Ring() })
	simple("partition-bridge", "two halves that share one bridge node (3+ nodes)", func(Options) Fault { return Bridge() })
	simple("partition-oneway", "a random node cannot open connections to the others; they can to it", func(Options) Fault { return OneWay("partition-oneway", ChooseRandom) })
	simple("partition-oneway-leader", "the leader cannot open connections to the others; they can to it",
		func(Options) Fault { return OneWay("partition-oneway-leader", ChooseLeader) })
	simple("partition-client", "clients (the load too) cannot reach a random minority; nodes reach each other", func(Options) Fault { return ClientIsolate() })
	simple("kill-all", "kill -9 every node at once, restart them all", func(Options) Fault { return KillAll() })
	simple("pause", "freeze a random node, then resume it", func(Options) Fault { return Pause("pause", ChooseRandom) })
	simple("pause-leader", "freeze the leader, then resume it", func(Options) Fault { return Pause("pause-leader", ChooseLeader) })
	simple("pause-follower", "freeze a follower, then resume it", func(Options) Fault { return Pause("pause-follower", ChooseFollower) })
	Register("loss", "drop percent (default --loss-percent) of packets between nodes (nftables numgen random); loss:percent=10",
		func(p *Params) (Fault, error) {
			pct, err := p.Int("percent", p.Options.LossPercent)
			if err != nil {
				return nil, err
			}
			if pct < 1 || pct > 100 {
				return nil, fmt.Errorf("--nemesis loss:percent=%d: want 1 to 100", pct)
			}
			return Loss(pct), p.Done()
		})
	Register("delay", "delay packets by ms (default --delay) ± jitter (tc netem; refused where the kernel has none); delay:ms=50,jitter=10ms",
		func(p *Params) (Fault, error) {
			d, err := p.Duration("ms", p.Options.Delay)
			if err != nil {
				return nil, err
			}
			j, err := p.Duration("jitter", p.Options.Jitter)
			if err != nil {
				return nil, err
			}
			if d <= 0 || j < 0 {
				return nil, fmt.Errorf("--nemesis delay: want a positive delay and a jitter not below zero (got %v, %v)", d, j)
			}
			return Delay(d, j), p.Done()
		})
}
