package bench

import (
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/faultline/faultline/history"
)

// Workload decides what each operation does. It is called concurrently.
type Workload interface {
	// Next fills op's F, Key, Value and From; op.ID is already set.
	Next(op *history.Event)
	// Done is told when op completed (or was abandoned).
	Done(op *history.Event)
}

// Register is reads and blind writes of unique values over a rotating set of
// keys, shaped so that the linearizability checker always decides (see
// DESIGN.md, "bounded cost"): each key receives at most OpsPerKey operations
// and is then retired for a fresh key, and at most KeyConcurrency operations
// are in flight on one key at any moment.
type Register struct {
	mu   sync.Mutex
	rnd  *rand.Rand
	cfg  RegisterConfig
	live []*keyState
	next int
}

// RegisterConfig shapes a Register workload.
type RegisterConfig struct {
	// Keys is how many keys are open for operations at once.
	Keys int
	// OpsPerKey bounds the operations a key ever receives.
	OpsPerKey int
	// KeyConcurrency bounds the operations in flight on one key.
	KeyConcurrency int
	// ReadFraction of operations are reads; the rest are writes.
	ReadFraction float64
	Seed         uint64
}

type keyState struct {
	name     string
	issued   int
	inflight int
}

// NewRegister returns a register workload.
func NewRegister(cfg RegisterConfig) *Register {
	if cfg.Keys <= 0 {
		cfg.Keys = 8
	}
	if cfg.OpsPerKey <= 0 {
		cfg.OpsPerKey = 100
	}
	if cfg.KeyConcurrency <= 0 {
		cfg.KeyConcurrency = 2
	}
	w := &Register{rnd: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), cfg: cfg}
	for range cfg.Keys {
		w.live = append(w.live, w.fresh())
	}
	return w
}

func (w *Register) fresh() *keyState {
	k := &keyState{name: "k" + strconv.Itoa(w.next)}
	w.next++
	return k
}

// Next picks a key with room (opening a fresh one if every open key is at its
// concurrency cap) and an operation on it.
func (w *Register) Next(op *history.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	start := w.rnd.IntN(len(w.live))
	var k *keyState
	for i := range w.live {
		c := w.live[(start+i)%len(w.live)]
		if c.inflight < w.cfg.KeyConcurrency && c.issued < w.cfg.OpsPerKey {
			k = c
			break
		}
	}
	if k == nil {
		k = w.fresh()
		w.live = append(w.live, k)
	}
	k.issued++
	k.inflight++
	op.Key = k.name
	if w.rnd.Float64() < w.cfg.ReadFraction {
		op.F = history.FRead
	} else {
		op.F = history.FWrite
		// The op id is unique in the run, so the value names its write.
		op.Value = strconv.FormatUint(op.ID, 10)
	}
}

// Done releases op's slot on its key and retires the key once it has had all
// its operations.
func (w *Register) Done(op *history.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, k := range w.live {
		if k.name != op.Key {
			continue
		}
		k.inflight--
		if k.issued >= w.cfg.OpsPerKey && k.inflight == 0 {
			if len(w.live) > w.cfg.Keys {
				w.live = append(w.live[:i], w.live[i+1:]...)
			} else {
				w.live[i] = w.fresh()
			}
		}
		return
	}
}

// processes hands out process ids. A process runs one operation at a time
// against one node; after an info (unknown outcome) it is retired for a fresh
// id, as in Jepsen, because its operation may still take effect at any later
// time. Free processes are kept per node so that the open-loop generator
// spreads operations evenly over the nodes whatever their speed: a slow or
// isolated node keeps receiving its share.
type processes struct {
	mu   sync.Mutex
	free [][]history.Process
	next history.Process
}

func newProcesses(nodes int) *processes {
	return &processes{free: make([][]history.Process, nodes)}
}

func (p *processes) acquire(node int) history.Process {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free[node]); n > 0 {
		id := p.free[node][n-1]
		p.free[node] = p.free[node][:n-1]
		return id
	}
	id := p.next
	p.next++
	return id
}

func (p *processes) release(node int, id history.Process, retire bool) {
	if retire {
		return
	}
	p.mu.Lock()
	p.free[node] = append(p.free[node], id)
	p.mu.Unlock()
}
