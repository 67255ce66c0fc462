package chaos

import (
	"fmt"
	"time"
)

// The disk faults (disk.go), registered from builtin.go's init.
func registerDisk() {
	Register("lose-unsynced", "kill nodes, lose what they wrote without fsync (lazyfs data dirs; local runtime), restart when healed; lose-unsynced:nodes=one|leader|majority|all",
		func(p *Params) (Fault, error) {
			f, err := LoseUnsynced(p.String("nodes", DiskOne))
			if err != nil {
				return nil, err
			}
			return f, p.Done()
		})
	Register("corrupt-file", "stop a node, flip bits in or truncate one data file, restart when healed; corrupt-file:pattern=*.db,mode=flip|truncate|random,bits=8,node=random|leader|follower",
		func(p *Params) (Fault, error) {
			bits, err := p.Int("bits", 8)
			if err != nil {
				return nil, err
			}
			c := Choice(p.String("node", string(ChooseRandom)))
			switch c {
			case ChooseRandom, ChooseLeader, ChooseFollower:
			default:
				return nil, fmt.Errorf("--nemesis corrupt-file:node=%s: want random, leader or follower", c)
			}
			f, err := CorruptFile(c, p.String("pattern", "*"), p.String("mode", CorruptRandom), bits)
			if err != nil {
				return nil, err
			}
			return f, p.Done()
		})
}

// The clock faults (clock.go), registered from builtin.go's init.
func registerClock() {
	for _, c := range []struct{ kind, help string }{
		{ClockSkew, "every node's clock off by its own seeded offset within ±max; clock-skew:max=500ms"},
		{ClockBump, "one node's clock jumps by delta (seeded within ±max when not given) until healed; clock-bump:delta=-5s,node=leader"},
		{ClockStrobe, "one node's clock oscillates: delta ahead every other period; clock-strobe:delta=2s,period=100ms,node=leader"},
	} {
		Register(c.kind, c.help+" (targets with a clock hook, e.g. raftkv; local runtime)", func(p *Params) (Fault, error) {
			defMax, defDelta := 5*time.Second, time.Duration(0)
			if c.kind == ClockSkew {
				defMax = 500 * time.Millisecond
			}
			if c.kind == ClockStrobe {
				defDelta = 2 * time.Second
			}
			max, err := defMax, error(nil)
			if c.kind != ClockStrobe {
				if max, err = p.Duration("max", defMax); err != nil {
					return nil, err
				}
			}
			var delta, period time.Duration
			ch := ChooseRandom
			if c.kind != ClockSkew {
				if delta, err = p.Duration("delta", defDelta); err != nil {
					return nil, err
				}
				ch = Choice(p.String("node", string(ChooseRandom)))
				switch ch {
				case ChooseRandom, ChooseLeader, ChooseFollower:
				default:
					return nil, fmt.Errorf("--nemesis %s:node=%s: want random, leader or follower", c.kind, ch)
				}
			}
			if c.kind == ClockStrobe {
				if period, err = p.Duration("period", 100*time.Millisecond); err != nil {
					return nil, err
				}
			}
			f, err := ClockFault(c.kind, ch, delta, max, period)
			if err != nil {
				return nil, err
			}
			return f, p.Done()
		})
	}
}

// The membership faults (membership.go), registered from builtin.go's init.
func registerMembers() {
	Register("member-replace", "remove a member and add a fresh one with an empty data directory in its place (etcd; local runtime); member-replace:node=random|leader|follower",
		func(p *Params) (Fault, error) {
			c := Choice(p.String("node", string(ChooseRandom)))
			switch c {
			case ChooseRandom, ChooseLeader, ChooseFollower:
			default:
				return nil, fmt.Errorf("--nemesis member-replace:node=%s: want random, leader or follower", c)
			}
			return MemberReplace(c), p.Done()
		})
	Register("member-grow", "add a fresh member (a new node joining the running cluster) and remove it again when healed (etcd; local runtime); no parameters",
		func(p *Params) (Fault, error) { return MemberGrow(), p.Done() })
	Register("member-shrink", "remove a member and stop it; healing adds it back as a fresh member (etcd; local runtime); member-shrink:node=random|leader|follower",
		func(p *Params) (Fault, error) {
			c := Choice(p.String("node", string(ChooseRandom)))
			switch c {
			case ChooseRandom, ChooseLeader, ChooseFollower:
			default:
				return nil, fmt.Errorf("--nemesis member-shrink:node=%s: want random, leader or follower", c)
			}
			return MemberShrink(c), p.Done()
		})
}
