package load

import (
	"sync"

	"github.com/faultline/faultline/history"
)

// processPool hands out process ids (DESIGN.md's vocabulary). A process runs
// one operation at a time against one node; after an info (unknown outcome)
// it is retired for a fresh id, as in Jepsen, because its operation may still
// take effect at any later time.
type processPool interface {
	// acquire returns the node (index) and process of operation id.
	acquire(id uint64) (node int, p history.Process)
	// release gives the process back, or retires it.
	release(node int, p history.Process, retire bool)
}

// openProcesses serves the open loop: an operation goes to node id mod n, so
// the generator spreads operations evenly over the nodes whatever their speed
// (a slow or isolated node keeps receiving its share), and takes a free
// process bound to that node, or a new one.
type openProcesses struct {
	mu   sync.Mutex
	free [][]history.Process
	next history.Process
}

func newOpenProcesses(nodes int) *openProcesses {
	return &openProcesses{free: make([][]history.Process, nodes)}
}

func (p *openProcesses) acquire(id uint64) (int, history.Process) {
	node := int(id % uint64(len(p.free)))
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free[node]); n > 0 {
		pr := p.free[node][n-1]
		p.free[node] = p.free[node][:n-1]
		return node, pr
	}
	pr := p.next
	p.next++
	return node, pr
}

func (p *openProcesses) release(node int, pr history.Process, retire bool) {
	if retire {
		return
	}
	p.mu.Lock()
	p.free[node] = append(p.free[node], pr)
	p.mu.Unlock()
}

// closedProcesses serves the closed loop: a fixed number of processes,
// process i bound to node i mod n. A retired process is replaced by a fresh
// id on the same node (Jepsen: the new id is the old plus the count), so the
// number of processes never changes.
type closedProcesses struct {
	free  chan history.Process
	count int
	nodes int
}

func newClosedProcesses(count, nodes int) *closedProcesses {
	p := &closedProcesses{free: make(chan history.Process, count), count: count, nodes: nodes}
	for i := range count {
		p.free <- history.Process(i)
	}
	return p
}

// acquire waits for a free process. vegeta runs exactly count workers, so a
// worker only waits while the result loop is releasing its previous process.
func (p *closedProcesses) acquire(uint64) (int, history.Process) {
	pr := <-p.free
	return int(pr) % p.count % p.nodes, pr
}

func (p *closedProcesses) release(_ int, pr history.Process, retire bool) {
	if retire {
		pr += history.Process(p.count)
	}
	p.free <- pr
}
