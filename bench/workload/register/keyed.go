package register

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
)

var _ workload.Generator = (*Keyed)(nil)

// Workload kinds.
const (
	// KindRegister hammers a few keys at once, rotated (Jepsen's
	// independent registers).
	KindRegister = "register"
	// KindKV spreads the same operations over a large key space with a
	// chosen key distribution.
	KindKV = "kv"
)

// Key distributions.
const (
	DistUniform = "uniform"
	DistZipfian = "zipfian"
)

// DefaultZipfS is the skew of --key-dist zipfian (Go's Zipf needs s > 1).
const DefaultZipfS = 1.1

// KeyedConfig shapes a workload.
type KeyedConfig struct {
	// Kind is KindRegister or KindKV.
	Kind string
	// Slots is how many keys are open at once (register) or the size of the
	// key space (kv).
	Slots int
	// Dist picks a slot: DistUniform or DistZipfian; ZipfS is the skew.
	Dist  string
	ZipfS float64
	// OpsPerKey bounds the operations a key ever receives.
	OpsPerKey int
	// KeyConcurrency bounds the operations in flight on one key.
	KeyConcurrency int
	Mix            Mix
	// ValueSize pads written values to this many bytes; values are always
	// unique (they start with the op id), however small ValueSize is.
	ValueSize int
	Seed      uint64
}

// Keyed is the register and kv workloads: reads, blind writes and
// compare-and-sets of unique values over slots of keys, shaped so that the
// linearizability checker always decides (DESIGN.md, "bounded cost"):
//
//   - each key receives at most OpsPerKey operations and is then retired: its
//     slot gets a fresh key (named k<slot>.<generation>);
//   - at most KeyConcurrency operations are in flight on one key. When the
//     chosen key is at its cap, register looks at the other open keys, kv
//     keeps the distribution over slots exact; either way, if no key has
//     room, an overflow key is opened beside the slots, and closed again once
//     it has had its operations. A key at its cap is never retired early:
//     when latency climbs (a partition, a slow machine) the in-flight demand
//     spreads over more keys instead of burning through keys that each get
//     two operations, which would leave nothing for the checker to catch.
//   - every written value is the op id (padded to ValueSize): unique in the
//     run, so a read names the write it saw.
//
// A compare-and-set expects the last value this generator knows the key held
// (the empty value, "absent", for a fresh key), so that many succeed.
type Keyed struct {
	mu    sync.Mutex
	cfg   KeyedConfig
	rnd   *rand.Rand
	zipf  *rand.Zipf
	slots []*keyState
	// live holds every key with operations in flight or still open.
	live  map[string]*keyState
	probe int
	pad   string
	// cumulative weights of the mix
	pRead, pWrite float64
	// written lists every key a write or cas was invoked on, for the final
	// reads.
	written []string
	wseen   map[string]bool
}

type keyState struct {
	name     string
	slot     int
	gen      int
	issued   int
	inflight int
	retired  bool
	// last is the latest value known to be in the key ("" = absent).
	last string
}

// NewKeyed returns the workload cfg describes.
func NewKeyed(cfg KeyedConfig) (*Keyed, error) {
	if cfg.Kind == "" {
		cfg.Kind = KindRegister
	}
	if cfg.Slots <= 0 || cfg.OpsPerKey <= 0 || cfg.KeyConcurrency <= 0 {
		return nil, fmt.Errorf("workload: keys, ops-per-key and key-concurrency must be at least 1")
	}
	if cfg.Mix == (Mix{}) {
		cfg.Mix = DefaultMix()
	}
	if err := cfg.Mix.validate(); err != nil {
		return nil, err
	}
	w := &Keyed{
		cfg:   cfg,
		rnd:   rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		slots: make([]*keyState, cfg.Slots),
		live:  map[string]*keyState{},
		wseen: map[string]bool{},
	}
	switch cfg.Kind {
	case KindRegister:
		w.probe = cfg.Slots
	case KindKV:
		w.probe = 1
	default:
		return nil, fmt.Errorf("workload %q: want %s or %s", cfg.Kind, KindRegister, KindKV)
	}
	switch cfg.Dist {
	case "", DistUniform:
	case DistZipfian:
		s := cfg.ZipfS
		if s == 0 {
			s = DefaultZipfS
		}
		if !(s > 1) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("zipfian skew %v: must be above 1", s)
		}
		if cfg.Slots > 1 {
			w.zipf = rand.NewZipf(w.rnd, s, 1, uint64(cfg.Slots-1))
		}
	default:
		return nil, fmt.Errorf("key distribution %q: want %s or %s", cfg.Dist, DistUniform, DistZipfian)
	}
	total := cfg.Mix.Read + cfg.Mix.Write + cfg.Mix.CAS
	w.pRead, w.pWrite = cfg.Mix.Read/total, (cfg.Mix.Read+cfg.Mix.Write)/total
	if cfg.ValueSize > 0 {
		const letters = "abcdefghijklmnopqrstuvwxyz"
		b := make([]byte, cfg.ValueSize)
		for i := range b {
			b[i] = letters[w.rnd.IntN(len(letters))]
		}
		w.pad = string(b)
	}
	return w, nil
}

func (w *Keyed) pick() int {
	if w.zipf != nil {
		return int(w.zipf.Uint64())
	}
	return w.rnd.IntN(len(w.slots))
}

// retire closes k to new operations; it is forgotten once it drains.
func (w *Keyed) retire(k *keyState) {
	k.retired = true
	if k.inflight == 0 {
		delete(w.live, k.name)
	}
}

// open gives slot s a fresh key, retiring the one it held.
func (w *Keyed) open(s int) *keyState {
	gen := 0
	if old := w.slots[s]; old != nil {
		gen = old.gen + 1
		w.retire(old)
	}
	k := &keyState{name: "k" + strconv.Itoa(s) + "." + strconv.Itoa(gen), slot: s, gen: gen}
	w.slots[s] = k
	w.live[k.name] = k
	return k
}

// Next picks a key with room and an operation on it.
func (w *Keyed) Next(op *history.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	base := w.cfg.Slots
	first := w.pick()
	var k *keyState
	for i := range w.probe {
		s := (first + i) % base
		c := w.slots[s]
		if c == nil {
			c = w.open(s)
		}
		if c.inflight < w.cfg.KeyConcurrency {
			k = c
			break
		}
	}
	// Then an overflow key with room, else a new overflow key (in an
	// empty overflow slot when there is one).
	empty := -1
	for s := base; k == nil && s < len(w.slots); s++ {
		switch c := w.slots[s]; {
		case c == nil || c.retired:
			if empty < 0 {
				empty = s
			}
		case c.inflight < w.cfg.KeyConcurrency:
			k = c
		}
	}
	if k == nil {
		if empty < 0 {
			empty = len(w.slots)
			w.slots = append(w.slots, nil)
		}
		k = w.open(empty)
	}
	k.issued++
	k.inflight++
	if k.issued >= w.cfg.OpsPerKey {
		// k has had its operations: it only drains now. A base slot gets a
		// fresh key; an overflow slot closes until needed again.
		if k.slot < base {
			w.open(k.slot)
		} else {
			w.retire(k) // stays in its slot to carry the generation on
		}
	}
	op.Key = k.name
	switch p := w.rnd.Float64(); {
	case p < w.pRead:
		op.F = history.FRead
	case p < w.pWrite:
		op.F = history.FWrite
		op.Value = w.value(op.ID)
	default:
		op.F = history.FCAS
		op.From = k.last
		op.Value = w.value(op.ID)
	}
	if op.F != history.FRead && !w.wseen[op.Key] {
		w.wseen[op.Key] = true
		w.written = append(w.written, op.Key)
	}
}

// Written lists every key a write or cas was invoked on, in first-write
// order.
func (w *Keyed) Written() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.written...)
}

// value is the op id, padded to ValueSize: the id makes it unique.
func (w *Keyed) value(id uint64) string {
	var buf [20]byte
	v := strconv.AppendUint(buf[:0], id, 10)
	if n := w.cfg.ValueSize - len(v) - 1; n > 0 {
		return string(v) + "-" + w.pad[:n]
	}
	return string(v)
}

// Done releases the operation's slot on its key and learns the key's value.
func (w *Keyed) Done(done *history.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k, ok := w.live[done.Key]
	if !ok {
		return
	}
	k.inflight--
	if done.Type == history.OK {
		k.last = done.Value // a read's value, or the value written
	}
	if k.retired && k.inflight <= 0 {
		delete(w.live, k.name)
	}
}

// Mix is the relative weight of each operation.
type Mix struct {
	Read  float64 `json:"read"`
	Write float64 `json:"write"`
	CAS   float64 `json:"cas"`
}

// DefaultMix is half reads, the rest writes and compare-and-sets.
func DefaultMix() Mix { return Mix{Read: 50, Write: 30, CAS: 20} }

// ParseMix parses --mix: "read:50,write:30,cas:20" (relative weights; an
// operation left out has weight 0).
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(part), ":")
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if !ok || err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return m, fmt.Errorf("--mix %q: want weights like read:50,write:30,cas:20", s)
		}
		if seen[name] {
			return m, fmt.Errorf("--mix %q: %s given twice", s, name)
		}
		seen[name] = true
		switch name {
		case history.FRead:
			m.Read = f
		case history.FWrite:
			m.Write = f
		case history.FCAS:
			m.CAS = f
		default:
			return m, fmt.Errorf("--mix %q: unknown operation %q (want read, write, cas)", s, name)
		}
	}
	return m, m.validate()
}

func (m Mix) validate() error {
	if m.Read+m.Write+m.CAS <= 0 {
		return fmt.Errorf("--mix: at least one operation needs a positive weight")
	}
	return nil
}

func (m Mix) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return "read:" + f(m.Read) + ",write:" + f(m.Write) + ",cas:" + f(m.CAS)
}

// ParseKeyDist parses --key-dist: uniform, zipfian or zipfian:S (S > 1).
func ParseKeyDist(s string) (dist string, zipfS float64, err error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	switch name {
	case DistUniform:
		if hasArg {
			return "", 0, fmt.Errorf("--key-dist %q: uniform takes no parameter", s)
		}
		return DistUniform, 0, nil
	case DistZipfian:
		zipfS = DefaultZipfS
		if hasArg {
			zipfS, err = strconv.ParseFloat(arg, 64)
			if err != nil || !(zipfS > 1) || math.IsInf(zipfS, 0) {
				return "", 0, fmt.Errorf("--key-dist %q: the zipfian skew must be a number above 1, e.g. zipfian:1.1", s)
			}
		}
		return DistZipfian, zipfS, nil
	}
	return "", 0, fmt.Errorf("--key-dist %q: want uniform or zipfian[:S]", s)
}
