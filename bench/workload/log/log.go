// Package log is the log workload (Kafka-like streams, JetStream streams):
// producers send unique integers to a few streams, consumers poll each
// stream from their own position, and a final phase reads every stream from
// the start with a fresh consumer. Its histories go to the log checker
// (checkers/stream), whose operation shapes it follows:
//
//	send      Key "s1", invoke value 17 (Data, a JSON integer unique in the
//	          run); the ok completion carries [offset, 17]
//	poll      Key "s1", no value; the completion lists [[offset, value], ...]
//	read-all  Key "s1", final; the whole stream, from its first offset
//
// The consumer is the process: a client keeps one position per process and
// stream, so a process's polls of a stream follow each other (the checker's
// poll-skip and monotonicity findings rely on it). In the open loop a
// process stays on one node and is retired after an unknown outcome, which
// ends that consumer; a fresh process starts wherever its client decides
// (its first poll has nothing to follow).
//
// Workload options (load.workload_options, --workload-opt):
//
//	streams        how many streams (default 3)
//	send-fraction  share of operations that send, 0..1 (default 0.5)
//	batch          most records one poll returns (default 10); read by the
//	               target's client (targets.ClientConfig.WorkloadOptions)
package log

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
)

// Operation functions (checkers/stream's).
const (
	FSend    = "send"
	FPoll    = "poll"
	FReadAll = "read-all"
)

// Name is the workload's name (--workload log) and its checker's.
const Name = "log"

// Config is the log workload's shape.
type Config struct {
	Streams      int
	SendFraction float64
	Batch        int
	Seed         uint64
}

// Parse reads the workload options; errors name the scenario key.
func Parse(cfg workload.Config) (Config, error) {
	c := Config{Streams: 3, SendFraction: 0.5, Batch: 10, Seed: cfg.Seed}
	for k, v := range cfg.Options {
		switch k {
		case "streams":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return c, fmt.Errorf("load.workload_options.streams %q: want an integer from 1 to 1000", v)
			}
			c.Streams = n
		case "send-fraction":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f >= 1 {
				return c, fmt.Errorf("load.workload_options.send-fraction %q: want a number between 0 and 1 (exclusive)", v)
			}
			c.SendFraction = f
		case "batch":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return c, fmt.Errorf("load.workload_options.batch %q: want an integer from 1 to 1000", v)
			}
			c.Batch = n
		default:
			return c, fmt.Errorf("load.workload_options: log has no option %q (want streams, send-fraction, batch)", k)
		}
	}
	return c, nil
}

// Names are the streams of a run with n streams: s0, s1, ...
func Names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "s" + strconv.Itoa(i)
	}
	return out
}

// Generator issues sends and polls (workload.Generator).
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
	return &Generator{cfg: cfg, names: Names(cfg.Streams), rnd: rand.New(rand.NewPCG(cfg.Seed, 0x1a))}
}

// Next fills op: a send of the next value, or a poll, on a stream picked
// at random.
func (g *Generator) Next(op *history.Event) {
	g.mu.Lock()
	s := g.names[g.rnd.IntN(len(g.names))]
	send := g.rnd.Float64() < g.cfg.SendFraction
	var v int64
	if send {
		g.next++
		v = g.next
	}
	g.mu.Unlock()
	op.Key, op.Value, op.From = s, "", ""
	if send {
		op.F, op.Data = FSend, strconv.AppendInt(nil, v, 10)
		return
	}
	op.F, op.Data = FPoll, nil
}

// Done has nothing to learn: values are unique by construction.
func (g *Generator) Done(*history.Event) {}

// Streams lists the run's streams.
func (g *Generator) Streams() []string { return g.names }

// Workload is the log workload (workload.Workload, workload.Finisher).
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
	return []string{FSend, FPoll, FReadAll}, nil
}

func (Workload) Checkers(workload.Config) []string { return []string{Name} }

// Final reads every stream from the start, each read-all retried (on the
// next node) until one is ok; the checker treats each as a fresh consumer.
func (Workload) Final(ctx context.Context, gen workload.Generator, env workload.FinalEnv) workload.FinalStats {
	g, ok := gen.(*Generator)
	if !ok {
		return workload.FinalStats{}
	}
	ss := g.Streams()
	return workload.ReadBack(ctx, env, len(ss), func(i int) history.Event {
		return history.Event{F: FReadAll, Key: ss[i]}
	})
}
