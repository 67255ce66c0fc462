// Package synth generates register histories that are linearizable by
// construction, optionally with one injected anomaly: the checkers' test and
// benchmark input.
//
// Clients run one operation at a time against random keys; each operation
// takes effect at a random instant inside its interval (for an unknown
// outcome, possibly after its client gave up), and reads and compare-and-set
// see exactly the value the register held at that instant. So there is
// always a linearization: the order of those instants.
package synth

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/faultline/faultline/history"
)

// Anomaly is a violation injected into an otherwise linearizable history.
type Anomaly string

const (
	None Anomaly = ""
	// StaleRead: a read returns the value a write had overwritten before the
	// read began, that write having itself begun after the older one ended.
	StaleRead Anomaly = "stale-read"
	// StaleCAS: a successful compare-and-set expected such an overwritten value.
	StaleCAS Anomaly = "stale-cas"
	// PhantomRead: a read returns a value nobody wrote.
	PhantomRead Anomaly = "phantom-read"
	// FailedWriteSeen: a write that a read saw is recorded as failed.
	FailedWriteSeen Anomaly = "failed-write-seen"
	// LostWrite: the key's final reads return the value its last
	// acknowledged write had overwritten (needs FinalReads).
	LostWrite Anomaly = "lost-write"
)

// Anomalies lists every anomaly the generator can inject.
var Anomalies = []Anomaly{StaleRead, StaleCAS, PhantomRead, FailedWriteSeen, LostWrite}

// Config shapes a history.
type Config struct {
	Ops  int // operations, final reads excluded (default 1000)
	Keys int // default 10
	// Clients run concurrently, one operation at a time each (default 32).
	Clients int
	Nodes   int // default 3
	// ReadFraction of operations are reads (default 0.5); CASFraction of
	// the others are compare-and-set (none by default), the rest writes.
	ReadFraction float64
	CASFraction  float64
	// Unknown is the fraction of all operations that are writes or cas
	// with an unknown outcome (info); half of them take effect.
	Unknown float64
	// Fail is the fraction of operations that fail (certainly not applied).
	Fail float64
	// Latency is the mean latency; Think the mean pause between a client's
	// operations (defaults 2 ms and 1 ms).
	Latency time.Duration
	Think   time.Duration
	// FinalReads adds, after the load, one final read per key and node.
	FinalReads bool
	// Revisions records with every completed operation the revision etcd
	// would report (history.Op.Version {"rev":R,"mod":M}): writes number
	// the instants they take effect at, across keys; a read reports the
	// revision it read at and its value's mod revision.
	Revisions bool
	Seed      uint64
	// Values, when positive, draws written values from a pool of that many
	// ("0".."Values-1"), so values repeat as in imported histories;
	// by default every write writes a value of its own. Anomalies need
	// unique values: none is injected with a pool.
	Values  int
	Anomaly Anomaly
	// At places the anomaly this far into its key's operations (0..1,
	// default 0.9: late, where a search that backtracks has the most to undo).
	At float64
}

// Injected says where the anomaly went.
type Injected struct {
	Kind Anomaly
	Key  string
	Op   uint64
	What string
}

func (c Config) withDefaults() Config {
	if c.Ops <= 0 {
		c.Ops = 1000
	}
	if c.Keys <= 0 {
		c.Keys = 10
	}
	if c.Clients <= 0 {
		c.Clients = 32
	}
	if c.Nodes <= 0 {
		c.Nodes = 3
	}
	if c.ReadFraction == 0 {
		c.ReadFraction = 0.5
	}
	if c.Latency <= 0 {
		c.Latency = 2 * time.Millisecond
	}
	if c.Think <= 0 {
		c.Think = time.Millisecond
	}
	if c.At <= 0 || c.At > 1 {
		c.At = 0.9
	}
	return c
}

// gen is one operation being generated: the recorded op, and when (and
// whether) it takes effect.
type gen struct {
	op      history.Op
	at      int64 // the instant it takes effect
	applies bool
	prev    string // the value it overwrote (writes that applied)
}

// Generate returns the operations of a history, in call order, and what was
// injected (nil if nothing could be: e.g. no read fits a stale read).
func Generate(cfg Config) ([]history.Op, *Injected) {
	cfg = cfg.withDefaults()
	rnd := rand.New(rand.NewPCG(cfg.Seed, 0xfa17))
	exp := func(mean time.Duration) int64 { return int64(rnd.ExpFloat64() * float64(mean)) }
	gens := make([]gen, 0, cfg.Ops+cfg.Keys*cfg.Nodes)
	clock := make([]int64, cfg.Clients)
	proc := make([]history.Process, cfg.Clients)
	for i := range proc {
		proc[i] = history.Process(i)
	}
	nextProc := history.Process(cfg.Clients)
	writeFrac := 1 - cfg.ReadFraction
	for id := range cfg.Ops {
		// The client that is free first runs the next operation.
		c := 0
		for i := range clock {
			if clock[i] < clock[c] {
				c = i
			}
		}
		call := clock[c] + exp(cfg.Think)
		lat := int64(cfg.Latency)/4 + exp(cfg.Latency*3/4) + 1
		g := gen{op: history.Op{ID: uint64(id + 1), Process: proc[c], Key: "k" + strconv.Itoa(rnd.IntN(cfg.Keys)),
			Node: "n" + strconv.Itoa(c%cfg.Nodes+1), Type: history.OK, Call: call, Return: call + lat}, applies: true}
		g.at = call + rnd.Int64N(lat+1)
		switch r := rnd.Float64(); {
		case r < cfg.ReadFraction:
			g.op.F = history.FRead
		case r < cfg.ReadFraction+writeFrac*cfg.CASFraction:
			g.op.F = history.FCAS
		default:
			g.op.F = history.FWrite
		}
		switch {
		case g.op.F == history.FRead:
		case cfg.Values > 0:
			g.op.Value = strconv.Itoa(rnd.IntN(cfg.Values))
		default:
			g.op.Value = strconv.FormatUint(g.op.ID, 10)
		}
		switch r := rnd.Float64(); {
		case g.op.F != history.FRead && writeFrac > 0 && r < cfg.Unknown/writeFrac:
			// Unknown outcome: the client gives up (half of the time it
			// never hears back); half of these take effect, possibly after
			// the client gave up.
			g.op.Type = history.Info
			g.applies = rnd.IntN(2) == 0
			g.at = call + rnd.Int64N(2*lat+1)
			if rnd.IntN(2) == 0 {
				g.op.Return = -1
			}
			proc[c] = nextProc // a client with an unknown outcome is retired
			nextProc++
		case rnd.Float64() < cfg.Fail:
			g.op.Type = history.Fail
			g.applies = false
		}
		clock[c] = call + lat
		gens = append(gens, g)
	}
	rev, mods := apply(gens, rnd, cfg.Revisions)

	var end int64
	for _, g := range gens {
		end = max(end, g.op.Return, g.at)
	}
	if cfg.FinalReads {
		state := finalState(gens)
		t := end + int64(time.Second)
		keys := make([]string, 0, len(state))
		for k := range state {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for n := range cfg.Nodes {
				id := uint64(len(gens) + 1)
				gens = append(gens, gen{op: history.Op{ID: id, Process: nextProc, F: history.FRead, Key: k, Value: state[k],
					Node: "n" + strconv.Itoa(n+1), Type: history.OK, Call: t, Return: t + int64(cfg.Latency), Final: true}, at: t})
				if cfg.Revisions {
					gens[len(gens)-1].op.Version = version(rev, mods[k])
				}
				t += 2 * int64(cfg.Latency)
			}
		}
	}
	inj := inject(gens, cfg, rnd)
	slices.SortStableFunc(gens, func(a, b gen) int { return cmp.Compare(a.op.Call, b.op.Call) })
	ops := make([]history.Op, len(gens))
	for i := range gens {
		ops[i] = gens[i].op
	}
	return ops, inj
}

func version(rev, mod int64) []byte {
	if mod == 0 {
		return []byte(fmt.Sprintf(`{"rev":%d}`, rev))
	}
	return []byte(fmt.Sprintf(`{"rev":%d,"mod":%d}`, rev, mod))
}

// apply runs the register in the order operations take effect and fills in
// what reads returned and what cas expected; with revisions, the revision
// each completed operation reports. It returns the last revision and each
// key's mod revision.
func apply(gens []gen, rnd *rand.Rand, revisions bool) (int64, map[string]int64) {
	order := make([]int, len(gens))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(gens[a].at, gens[b].at) })
	state := map[string]string{}
	rev, mods := int64(1), map[string]int64{}
	for _, i := range order {
		g := &gens[i]
		cur := state[g.op.Key]
		switch g.op.F {
		case history.FRead:
			if g.op.Type == history.OK {
				g.op.Value = cur
				if revisions {
					g.op.Version = version(rev, mods[g.op.Key])
				}
			}
		case history.FCAS:
			g.op.From = cur
			if g.op.Type == history.Fail {
				// The compare failed: it expected a value that was not there.
				g.op.From = "x" + strconv.Itoa(rnd.IntN(1000))
			}
		}
		if g.applies && g.op.F != history.FRead {
			g.prev = cur
			state[g.op.Key] = g.op.Value
			rev++
			mods[g.op.Key] = rev
			if revisions && g.op.Type == history.OK {
				g.op.Version = version(rev, 0)
			}
		}
	}
	return rev, mods
}

func finalState(gens []gen) map[string]string {
	last := map[string]int64{}
	state := map[string]string{}
	for _, g := range gens {
		k := g.op.Key
		if _, ok := state[k]; !ok {
			state[k] = ""
		}
		if !g.applies || g.op.F == history.FRead {
			continue
		}
		// Ties go to the later one, as in apply's stable order.
		if t, ok := last[k]; !ok || g.at >= t {
			last[k], state[k] = g.at, g.op.Value
		}
	}
	return state
}

// inject puts cfg.Anomaly into gens: late in a random key's history, on an
// operation where it is certainly a violation.
func inject(gens []gen, cfg Config, rnd *rand.Rand) *Injected {
	if cfg.Anomaly == None || cfg.Values > 0 {
		return nil
	}
	byKey := map[string][]int{}
	writer := map[string]int{}
	for i, g := range gens {
		byKey[g.op.Key] = append(byKey[g.op.Key], i)
		if g.op.F != history.FRead {
			writer[g.op.Value] = i
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	rnd.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	okWrite := func(v string) (*gen, bool) {
		i, ok := writer[v]
		if !ok || gens[i].op.Type != history.OK {
			return nil, false
		}
		return &gens[i], true
	}
	// older returns a value the key certainly no longer held when op began:
	// the value overwritten by the ok write w of v, if w began after that
	// value's ok write ended and ended before op began.
	older := func(v string, op *history.Op) (string, bool) {
		w, ok := okWrite(v)
		if !ok || w.op.Return >= op.Call {
			return "", false
		}
		if w.prev == "" {
			return "", true
		}
		u, ok := okWrite(w.prev)
		return w.prev, ok && u.op.Return < w.op.Call
	}
	for _, k := range keys {
		idx := byKey[k]
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(gens[a].op.Call, gens[b].op.Call) })
		from := int(math.Floor(cfg.At * float64(len(idx)-1)))
		for n := range idx {
			// From the chosen depth onwards, then wrapping around.
			g := &gens[idx[(from+n)%len(idx)]]
			op := &g.op
			if op.Type != history.OK {
				continue
			}
			switch cfg.Anomaly {
			case StaleRead:
				if op.F != history.FRead || op.Final {
					continue
				}
				if u, ok := older(op.Value, op); ok {
					was := op.Value
					op.Value = u
					return &Injected{cfg.Anomaly, k, op.ID, fmt.Sprintf("read returns %q instead of %q", u, was)}
				}
			case StaleCAS:
				if op.F != history.FCAS {
					continue
				}
				if u, ok := older(op.From, op); ok && u != "" {
					was := op.From
					op.From = u
					return &Injected{cfg.Anomaly, k, op.ID, fmt.Sprintf("cas expects %q instead of %q", u, was)}
				}
			case PhantomRead:
				if op.F != history.FRead || op.Final {
					continue
				}
				op.Value = "phantom-" + strconv.FormatUint(op.ID, 10)
				return &Injected{cfg.Anomaly, k, op.ID, "read returns a value nobody wrote"}
			case FailedWriteSeen:
				if op.F != history.FRead || op.Final || op.Value == "" {
					continue
				}
				if w, ok := okWrite(op.Value); ok && w.op.F == history.FWrite {
					w.op.Type = history.Fail
					return &Injected{cfg.Anomaly, k, w.op.ID, fmt.Sprintf("write of %q recorded as failed, read by op %d", w.op.Value, op.ID)}
				}
			case LostWrite:
				if !op.Final {
					continue
				}
				u, ok := older(op.Value, op)
				if !ok {
					continue
				}
				was := op.Value
				for _, i := range idx {
					if gens[i].op.Final {
						gens[i].op.Value = u
					}
				}
				w := writer[was]
				return &Injected{cfg.Anomaly, k, gens[w].op.ID, fmt.Sprintf("final reads return %q instead of %q", u, was)}
			}
		}
	}
	return nil
}

// Events turns operations into the events a recorder would have written:
// invokes and completions in time order (for tests of the whole path).
func Events(ops []history.Op) []history.Event {
	evs := make([]history.Event, 0, 2*len(ops))
	for _, op := range ops {
		inv := history.Event{Time: op.Call, Type: history.Invoke, Process: op.Process, F: op.F, ID: op.ID, Key: op.Key,
			From: op.From, Node: op.Node, Final: op.Final}
		if op.F != history.FRead {
			inv.Value = op.Value
		}
		evs = append(evs, inv)
		if op.Return >= 0 {
			done := inv
			done.Type, done.Time, done.Final = op.Type, op.Return, false
			if op.F == history.FRead && op.Type == history.OK {
				done.Value = op.Value
			}
			evs = append(evs, done)
		}
	}
	slices.SortStableFunc(evs, func(a, b history.Event) int { return cmp.Compare(a.Time, b.Time) })
	return evs
}
