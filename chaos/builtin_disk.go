package chaos

import "fmt"

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
