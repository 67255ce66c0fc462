// Package queue is the queue workload: producers enqueue unique integers over
// a few queues, consumers dequeue (and acknowledge) them, and a final phase
// drains every queue once the faults are healed. Its histories go to the
// queue checker (checkers/queue), whose operation shapes it follows:
//
//	enqueue  Key "q1", invoke value 17 (Data, a JSON integer unique in the run)
//	dequeue  Key "q1", no value; the completion carries what was received
//	drain    Key "q1", final; the completion lists what was left
//
// Workload options (load.workload_options, --workload-opt):
//
//	queues            how many queues (default 2)
//	enqueue-fraction  share of operations that enqueue, 0..1 (default 0.5)
//	batch             most messages one dequeue takes (default 1); read by
//	                  the target's client (targets.ClientConfig.WorkloadOptions)
//
// A dequeue's invoke carries no value: the batch size reaches the client
// through its configuration, and the checker through check.options.batch.
package queue

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
)

// Operation functions (checkers/queue's).
const (
	FEnqueue = "enqueue"
	FDequeue = "dequeue"
	FDrain   = "drain"
)

// Name is the workload's name (--workload queue) and its checker's.
const Name = "queue"

// Config is the queue workload's shape.
type Config struct {
	Queues          int
	EnqueueFraction float64
	Batch           int
	Seed            uint64
}

// Parse reads the workload options; errors name the scenario key.
func Parse(cfg workload.Config) (Config, error) {
	c := Config{Queues: 2, EnqueueFraction: 0.5, Batch: 1, Seed: cfg.Seed}
	for k, v := range cfg.Options {
		switch k {
		case "queues":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return c, fmt.Errorf("load.workload_options.queues %q: want an integer from 1 to 1000", v)
			}
			c.Queues = n
		case "enqueue-fraction":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f >= 1 {
				return c, fmt.Errorf("load.workload_options.enqueue-fraction %q: want a number between 0 and 1 (exclusive)", v)
			}
			c.EnqueueFraction = f
		case "batch":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return c, fmt.Errorf("load.workload_options.batch %q: want an integer from 1 to 1000", v)
			}
			c.Batch = n
		default:
			return c, fmt.Errorf("load.workload_options: queue has no option %q (want queues, enqueue-fraction, batch)", k)
		}
	}
	return c, nil
}

// Names are the queues of a run with n queues: q0, q1, ...
func Names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "q" + strconv.Itoa(i)
	}
	return out
}

// Generator issues enqueues and dequeues (workload.Generator).
type Generator struct {
	cfg   Config
	names []string
	mu    sync.Mutex
	rnd   *rand.Rand
	next  int64
}

var _ workload.Generator = (*Generator)(nil)

// New returns the generator of cfg, its choices fixed by cfg.Seed.
func New(cfg Config) *Generator {
	return &Generator{cfg: cfg, names: Names(cfg.Queues), rnd: rand.New(rand.NewPCG(cfg.Seed, 0x9e))}
}

// Next fills op: an enqueue of the next value, or a dequeue, on a queue
// picked at random.
func (g *Generator) Next(op *history.Event) {
	g.mu.Lock()
	q := g.names[g.rnd.IntN(len(g.names))]
	enq := g.rnd.Float64() < g.cfg.EnqueueFraction
	var v int64
	if enq {
		g.next++
		v = g.next
	}
	g.mu.Unlock()
	op.Key, op.Value, op.From = q, "", ""
	if enq {
		op.F, op.Data = FEnqueue, strconv.AppendInt(nil, v, 10)
		return
	}
	op.F, op.Data = FDequeue, nil
}

// Done has nothing to learn: values are unique by construction.
func (g *Generator) Done(*history.Event) {}

// Queues lists the run's queues.
func (g *Generator) Queues() []string { return g.names }

// Workload is the queue workload (workload.Workload, workload.Finisher).
type Workload struct{}

var (
	_ workload.Workload = Workload{}
	_ workload.Finisher = Workload{}
)

func (Workload) Name() string { return Name }

func (Workload) New(cfg workload.Config) (workload.Generator, error) {
	c, err := Parse(cfg)
	if err != nil {
		return nil, err
	}
	return New(c), nil
}

func (Workload) Ops(cfg workload.Config) ([]string, error) {
	if _, err := Parse(cfg); err != nil {
		return nil, err
	}
	return []string{FEnqueue, FDequeue, FDrain}, nil
}

func (Workload) Checkers(workload.Config) []string { return []string{Name} }

// Final drains every queue: each drain is retried (on the next node) until
// one is ok, which the client answers only once the queue is empty.
func (Workload) Final(ctx context.Context, gen workload.Generator, env workload.FinalEnv) workload.FinalStats {
	g, ok := gen.(*Generator)
	if !ok {
		return workload.FinalStats{}
	}
	qs := g.Queues()
	return workload.ReadBack(ctx, env, len(qs), func(i int) history.Event {
		return history.Event{F: FDrain, Key: qs[i]}
	})
}
