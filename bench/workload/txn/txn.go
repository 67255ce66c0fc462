// Package txn generates transactions of micro-operations, Jepsen style, for
// the list-append and rw-register workloads: each operation is F "txn" whose
// value (history.Event.Data) is a list of micro-operations, on the invoke
// with reads unknown and on the ok completion with what was read:
//
//	list-append: [["append","k3.0",7],["r","k4.1",null]] -> [["append","k3.0",7],["r","k4.1",[1,2,7]]]
//	rw-register: [["w","k3.0",7],["r","k4.1",null]]      -> [["w","k3.0",7],["r","k4.1",5]]
//
// Histories stay checkable by construction: every written value is unique
// per key (a per-key counter), a few keys are active at once, and each key is
// retired for a fresh one after OpsPerKey writes, so version orders stay
// short and the dependency graph sparse.
package txn

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
)

// F is the operation function of every transaction.
const F = "txn"

// Micro-operation functions.
const (
	Append = "append"
	Read   = "r"
	Write  = "w"
)

// Kind is the data model of a key.
type Kind int

const (
	// ListAppend keys hold lists; writes append a unique element.
	ListAppend Kind = iota
	// RWRegister keys hold one value; writes overwrite it.
	RWRegister
)

// Config shapes the transactions.
type Config struct {
	Kind Kind
	// MinLen..MaxLen micro-operations per transaction.
	MinLen, MaxLen int
	// Keys active at once.
	Keys int
	// WritesPerKey retires a key after this many writes.
	WritesPerKey int
	// ReadFraction of micro-operations are reads.
	ReadFraction float64
	Seed         uint64
}

// Options are the workload options the txn workloads read
// (load.workload_options / --workload-opt): txn-len (N or MIN..MAX, default
// 1..4) and read-fraction (0..1, default 0.5).
func Parse(kind Kind, cfg workload.Config) (Config, error) {
	c := Config{Kind: kind, MinLen: 1, MaxLen: 4, Keys: cfg.Keys, WritesPerKey: cfg.OpsPerKey, ReadFraction: 0.5, Seed: cfg.Seed}
	for k, v := range cfg.Options {
		switch k {
		case "txn-len":
			lo, hi, isRange := strings.Cut(v, "..")
			a, err1 := strconv.Atoi(strings.TrimSpace(lo))
			b, err2 := a, error(nil)
			if isRange {
				b, err2 = strconv.Atoi(strings.TrimSpace(hi))
			}
			if err1 != nil || err2 != nil || a < 1 || b < a || b > 64 {
				return c, fmt.Errorf("load.workload_options.txn-len %q: want N or MIN..MAX, 1 <= MIN <= MAX <= 64 (e.g. 1..4)", v)
			}
			c.MinLen, c.MaxLen = a, b
		case "read-fraction":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return c, fmt.Errorf("load.workload_options.read-fraction %q: want a number from 0 to 1", v)
			}
			c.ReadFraction = f
		default:
			return c, fmt.Errorf("load.workload_options: unknown option %q (want txn-len, read-fraction)", k)
		}
	}
	if c.Keys < 1 {
		return c, fmt.Errorf("load.keys %d: must be at least 1", c.Keys)
	}
	if c.WritesPerKey < 1 {
		return c, fmt.Errorf("load.ops_per_key %d: must be at least 1", c.WritesPerKey)
	}
	return c, nil
}

// Generator issues transactions (workload.Generator).
type Generator struct {
	cfg Config
	mu  sync.Mutex
	rnd *rand.Rand
	// slots hold the active keys; gen counts each slot's generations.
	slots []*key
	// used lists every key that was ever written, for the final reads.
	used []string
	buf  []byte
}

type key struct {
	name   string
	gen    int
	writes int
}

var _ workload.Generator = (*Generator)(nil)

// New returns a generator for cfg.
func New(cfg Config) *Generator {
	g := &Generator{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, 0x7a)), slots: make([]*key, cfg.Keys)}
	for i := range g.slots {
		g.slots[i] = g.fresh(i, 0)
	}
	return g
}

func (g *Generator) fresh(slot, gen int) *key {
	k := &key{name: "k" + strconv.Itoa(slot) + "." + strconv.Itoa(gen), gen: gen}
	return k
}

// Next fills op with a transaction.
func (g *Generator) Next(op *history.Event) {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.cfg.MinLen
	if g.cfg.MaxLen > n {
		n += g.rnd.IntN(g.cfg.MaxLen - n + 1)
	}
	b := append(g.buf[:0], '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		s := g.rnd.IntN(len(g.slots))
		k := g.slots[s]
		if g.rnd.Float64() < g.cfg.ReadFraction {
			b = append(b, `["r",`...)
			b = strconv.AppendQuote(b, k.name)
			b = append(b, `,null]`...)
			continue
		}
		k.writes++
		if k.writes == 1 {
			g.used = append(g.used, k.name)
		}
		f := Append
		if g.cfg.Kind == RWRegister {
			f = Write
		}
		b = append(b, `["`...)
		b = append(b, f...)
		b = append(b, `",`...)
		b = strconv.AppendQuote(b, k.name)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(k.writes), 10)
		b = append(b, ']')
		if k.writes >= g.cfg.WritesPerKey {
			g.slots[s] = g.fresh(s, k.gen+1)
		}
	}
	b = append(b, ']')
	g.buf = b
	op.F, op.Key, op.Value = F, "", ""
	op.Data = append(json.RawMessage(nil), b...)
}

// Done has nothing to learn: values are unique by construction.
func (g *Generator) Done(*history.Event) {}

// Written lists every key written, in first-write order.
func (g *Generator) Written() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.used...)
}

// Mop is one micro-operation, decoded.
type Mop struct {
	F     string
	Key   string
	Value json.RawMessage // null for a read not yet performed
}

// Decode parses a transaction's value.
func Decode(data []byte) ([]Mop, error) {
	var raw [][]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("transaction %s: %w", data, err)
	}
	out := make([]Mop, len(raw))
	for i, m := range raw {
		if len(m) != 3 {
			return nil, fmt.Errorf("transaction %s: micro-operation %d has %d fields, want 3", data, i, len(m))
		}
		if err := json.Unmarshal(m[0], &out[i].F); err != nil {
			return nil, fmt.Errorf("transaction %s: micro-operation %d: %w", data, i, err)
		}
		var k any
		if err := json.Unmarshal(m[1], &k); err != nil {
			return nil, fmt.Errorf("transaction %s: micro-operation %d: %w", data, i, err)
		}
		out[i].Key = fmt.Sprint(k)
		out[i].Value = m[2]
	}
	return out, nil
}

// Encode is the inverse of Decode (keys as strings).
func Encode(mops []Mop) json.RawMessage {
	b := []byte{'['}
	for i, m := range mops {
		if i > 0 {
			b = append(b, ',')
		}
		f, _ := json.Marshal(m.F)
		k, _ := json.Marshal(m.Key)
		b = append(b, '[')
		b = append(b, f...)
		b = append(b, ',')
		b = append(b, k...)
		b = append(b, ',')
		if len(m.Value) == 0 {
			b = append(b, "null"...)
		} else {
			b = append(b, m.Value...)
		}
		b = append(b, ']')
	}
	return append(b, ']')
}

// Workload is list-append or rw-register (workload.Workload).
type Workload struct {
	kind    Kind
	name    string
	checker string
}

var (
	_ workload.Workload = Workload{}
	_ workload.Finisher = Workload{}
)

// NewWorkload returns the workload of kind, called name, whose histories go
// to the checker registered as checker.
func NewWorkload(kind Kind, name, checker string) Workload {
	return Workload{kind: kind, name: name, checker: checker}
}

func (w Workload) Name() string { return w.name }

func (w Workload) New(cfg workload.Config) (workload.Generator, error) {
	c, err := Parse(w.kind, cfg)
	if err != nil {
		return nil, err
	}
	return New(c), nil
}

func (w Workload) Ops(cfg workload.Config) ([]string, error) {
	if _, err := Parse(w.kind, cfg); err != nil {
		return nil, err
	}
	return []string{F}, nil
}

func (w Workload) Checkers(workload.Config) []string { return []string{w.checker} }

// Final reads every key written, each in a transaction of its own: the
// final state the checker compares every earlier read against.
func (w Workload) Final(ctx context.Context, gen workload.Generator, env workload.FinalEnv) workload.FinalStats {
	g, ok := gen.(*Generator)
	if !ok {
		return workload.FinalStats{}
	}
	keys := g.Written()
	return workload.ReadBack(ctx, env, len(keys), func(i int) history.Event {
		return history.Event{F: F, Data: Encode([]Mop{{F: Read, Key: keys[i]}})}
	})
}
