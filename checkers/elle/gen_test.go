package elle

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// genConfig describes a history that is serializable by construction,
// strictly so: transactions run one after the other at instants c_i in
// the order of a serial execution, each invoked before and completed
// after its instant, one at a time per process. A failed transaction does
// nothing; an indeterminate one takes effect or not, at random; neither
// has its reads recorded. Plant adds one anomaly in the middle.
type genConfig struct {
	workload Workload
	txns     int
	keys     int
	procs    int
	maxMops  int
	info     float64
	fail     float64
	seed     uint64
	plant    string
}

type genTxn struct {
	proc      int
	call, ret int64
	typ       history.Type // Invoke: never completed
	mops      []string     // completion's micro-operations
	inv       []string     // invoke's (reads null)
	appends   [][2]int64   // (key, element) appended and applied, in order
}

type sim struct {
	cfg   genConfig
	rng   *rand.Rand
	lists [][]int64
	regs  []int64 // 0: nil (values start at 1)
	next  []int64
	out   []genTxn
}

func (s *sim) key(k int) string { return "k" + strconv.Itoa(k) }

func listJSON(l []int64) string {
	b, _ := json.Marshal(l)
	if len(l) == 0 {
		return "[]"
	}
	return string(b)
}

// read returns the micro-operation reading k now.
func (s *sim) read(k int) string {
	if s.cfg.workload == ListAppend {
		return fmt.Sprintf(`["r","%s",%s]`, s.key(k), listJSON(s.lists[k]))
	}
	if s.regs[k] == 0 {
		return fmt.Sprintf(`["r","%s",null]`, s.key(k))
	}
	return fmt.Sprintf(`["r","%s",%d]`, s.key(k), s.regs[k])
}

func (s *sim) readNull(k int) string { return fmt.Sprintf(`["r","%s",null]`, s.key(k)) }

// write appends or writes a fresh value of k; apply says whether it takes
// effect.
func (s *sim) write(k int, apply bool) string {
	s.next[k]++
	v := s.next[k]
	if apply {
		if s.cfg.workload == ListAppend {
			s.lists[k] = append(s.lists[k], v)
		} else {
			s.regs[k] = v
		}
	}
	if s.cfg.workload == ListAppend {
		return fmt.Sprintf(`["append","%s",%d]`, s.key(k), v)
	}
	return fmt.Sprintf(`["w","%s",%d]`, s.key(k), v)
}

func generate(cfg genConfig) []history.Event {
	s := &sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.seed, 7)), lists: make([][]int64, cfg.keys),
		regs: make([]int64, cfg.keys), next: make([]int64, cfg.keys)}
	const step = 10
	P := int64(cfg.procs)
	prevRet := make([]int64, cfg.procs)
	gen := make([]int, cfg.procs)
	finals := (cfg.keys + 3) / 4
	body := cfg.txns - finals
	for i := 0; i < cfg.txns; i++ {
		c := int64(i+1) * step * 2
		p := i % cfg.procs
		call := max(prevRet[p]+1, c-1-s.rng.Int64N(P*step))
		ret := c + 1 + s.rng.Int64N(P*step*2-4)
		prevRet[p] = ret
		t := genTxn{proc: p + cfg.procs*gen[p], call: call, ret: ret, typ: history.OK}
		apply := true
		if i < body {
			switch x := s.rng.Float64(); {
			case x < cfg.fail:
				t.typ, apply = history.Fail, false
			case x < cfg.fail+cfg.info:
				t.typ, apply = history.Info, s.rng.IntN(2) == 0
				if s.rng.IntN(2) == 0 {
					t.typ = history.Invoke
					gen[p]++ // a crashed client: its process is retired
				}
			}
			n := 1 + s.rng.IntN(cfg.maxMops)
			for len(t.mops) < n {
				k := s.rng.IntN(cfg.keys)
				switch x := s.rng.IntN(10); {
				case x < 4:
					t.mops = append(t.mops, s.read(k))
					t.inv = append(t.inv, s.readNull(k))
				case x < 7 || len(t.mops)+2 > n:
					w := s.write(k, apply)
					t.mops, t.inv = append(t.mops, w), append(t.inv, w)
					if apply {
						t.appends = append(t.appends, [2]int64{int64(k), s.next[k]})
					}
				default: // read, then write the same key
					t.mops = append(t.mops, s.read(k))
					t.inv = append(t.inv, s.readNull(k))
					w := s.write(k, apply)
					t.mops, t.inv = append(t.mops, w), append(t.inv, w)
					if apply {
						t.appends = append(t.appends, [2]int64{int64(k), s.next[k]})
					}
				}
			}
		} else { // final reads of every key
			for k := (i - body) * 4; k < min(cfg.keys, (i-body+1)*4); k++ {
				t.mops = append(t.mops, s.read(k))
				t.inv = append(t.inv, s.readNull(k))
			}
		}
		s.out = append(s.out, t)
		if i == body/2 && cfg.plant != "" {
			s.plantAt(cfg.plant, c)
		}
	}
	var evs []history.Event
	for id, t := range s.out {
		inv := "[" + strings.Join(t.inv, ",") + "]"
		evs = append(evs, history.Event{Time: t.call, Type: history.Invoke, Process: history.Process(t.proc), F: FTxn, ID: uint64(id + 1),
			Data: json.RawMessage(inv), Node: "n" + strconv.Itoa(t.proc%5+1)})
		if t.typ == history.Invoke {
			continue
		}
		d := inv
		if t.typ == history.OK {
			d = "[" + strings.Join(t.mops, ",") + "]"
		}
		evs = append(evs, history.Event{Time: t.ret, Type: t.typ, Process: history.Process(t.proc), F: FTxn, ID: uint64(id + 1),
			Data: json.RawMessage(d), Node: "n" + strconv.Itoa(t.proc%5+1)})
	}
	slices.SortStableFunc(evs, func(a, b history.Event) int {
		if a.Time != b.Time {
			if a.Time < b.Time {
				return -1
			}
			return 1
		}
		return int(a.Type) - int(b.Type)
	})
	return evs
}

// plantAt adds two transactions (one for G1a and internal) that make the
// anomaly, both within (c, c+step): after transaction c in the serial
// order, before the next, so real time agrees with the serial order.
func (s *sim) plantAt(anomaly string, c int64) {
	k := s.rng.IntN(s.cfg.keys)
	j := (k + 1 + s.rng.IntN(s.cfg.keys-1)) % s.cfg.keys
	reg := s.cfg.workload == RWRegister
	var x, y []string
	switch anomaly {
	case GSingle: // X sees Y's write of j but not of k
		xk := s.read(k)
		if reg {
			y = append(y, s.read(k))
		}
		y = append(y, s.write(k, true), s.write(j, true))
		x = []string{xk, s.read(j)}
	case G1c: // each sees the other's write
		wx, wy := s.write(k, true), s.write(j, true)
		x = []string{wx, s.read(j)}
		y = []string{wy, s.read(k)}
	case LostUpdate: // both read k and overwrite it
		r := s.read(k)
		x = []string{r, s.write(k, true)}
		y = []string{r, s.write(k, true)}
	case G2Item: // write skew
		rk, rj := s.read(k), s.read(j)
		x = []string{rk, rj, s.write(j, true)}
		y = []string{rj, rk, s.write(k, true)}
	case G1a: // a failed transaction's write shows
		w := s.write(k, true)
		s.out = append(s.out, genTxn{proc: 9000, call: c + 2, ret: c + 8, typ: history.Fail, mops: []string{w}, inv: []string{w}})
		x = []string{s.read(k)}
	case GSingle + realtimeSuffix: // a stale read: it misses an append acknowledged before it began
		for i := len(s.out) - 1; i >= 0; i-- {
			w := &s.out[i]
			if w.typ != history.OK || w.ret >= c+2 || len(w.appends) == 0 {
				continue
			}
			k, v := int(w.appends[0][0]), w.appends[0][1]
			p := slices.Index(s.lists[k], v)
			x = []string{fmt.Sprintf(`["r","%s",%s]`, s.key(k), listJSON(s.lists[k][:p]))}
			break
		}
	case Internal: // a read that misses the transaction's own append
		r := s.read(k)
		x = []string{s.write(k, true), r}
	default:
		panic("cannot plant " + anomaly)
	}
	for i, ms := range [][]string{x, y} {
		if ms == nil {
			continue
		}
		inv := make([]string, len(ms))
		for m := range ms {
			inv[m] = ms[m]
			if strings.HasPrefix(ms[m], `["r"`) {
				inv[m] = ms[m][:strings.LastIndexByte(ms[m], ',')] + ",null]"
			}
		}
		s.out = append(s.out, genTxn{proc: 9001 + i, call: c + 2, ret: c + 8, typ: history.OK, mops: ms, inv: inv})
	}
}

func TestPropertySerializableIsValid(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		for _, w := range []Workload{ListAppend, RWRegister} {
			cfg := genConfig{workload: w, txns: 300, keys: 3 + int(seed%8), procs: 1 + int(seed%6), maxMops: 4, info: 0.1, fail: 0.05, seed: seed}
			evs := generate(cfg)
			for _, m := range Models {
				r := check(t, w, m, evs, "")
				if r.Verdict != checkers.Valid {
					t.Fatalf("seed %d %s under %s: %s: %s\n%s", seed, w, m, r.Verdict, r.Summary, r.Explanation)
				}
			}
			if w == RWRegister {
				c, _ := New(w, WithModel(StrictSerializable), WithLinearizableKeys(true))
				if r := c.Check(context.Background(), checkers.NewInput(evs, "")); r.Verdict != checkers.Valid {
					t.Fatalf("seed %d %s, linearizable keys: %s: %s\n%s", seed, w, r.Verdict, r.Summary, r.Explanation)
				}
			}
		}
	}
}

func TestPropertyPlantedAnomaly(t *testing.T) {
	for _, anomaly := range []string{GSingle, G1c, LostUpdate, G2Item, G1a, Internal} {
		for seed := uint64(1); seed <= 15; seed++ {
			for _, w := range []Workload{ListAppend, RWRegister} {
				cfg := genConfig{workload: w, txns: 300, keys: 3 + int(seed%8), procs: 1 + int(seed%6), maxMops: 4, info: 0.1, fail: 0.05, seed: seed, plant: anomaly}
				evs := generate(cfg)
				r := check(t, w, Serializable, evs, "")
				if r.Verdict != checkers.Invalid || r.Stats["anomaly_"+anomaly] == 0 {
					t.Fatalf("%s seed %d %s: %s, want invalid naming it: %s\n%s", anomaly, seed, w, r.Verdict, r.Summary, r.Explanation)
				}
			}
		}
	}
}

// A planted stale read is invalid under strict serializability only.
func TestPropertyPlantedStaleRead(t *testing.T) {
	for seed := uint64(1); seed <= 15; seed++ {
		cfg := genConfig{workload: ListAppend, txns: 300, keys: 3 + int(seed%8), procs: 1 + int(seed%6), maxMops: 4, info: 0.1, fail: 0.05, seed: seed, plant: GSingle + realtimeSuffix}
		evs := generate(cfg)
		r := check(t, ListAppend, StrictSerializable, evs, "")
		if r.Verdict != checkers.Invalid || r.Stats["anomaly_"+GSingle+realtimeSuffix] == 0 {
			t.Fatalf("seed %d: %s, want invalid naming G-single-realtime: %s\n%s", seed, r.Verdict, r.Summary, r.Explanation)
		}
		if r := check(t, ListAppend, Serializable, evs, ""); r.Verdict != checkers.Valid {
			t.Fatalf("seed %d serializable: %s: %s\n%s", seed, r.Verdict, r.Summary, r.Explanation)
		}
	}
}

func TestGenerateHelpers(t *testing.T) {
	// The generator's own sanity: unique completions, invokes first.
	evs := generate(genConfig{workload: ListAppend, txns: 50, keys: 4, procs: 3, maxMops: 4, info: 0.2, fail: 0.1, seed: 3})
	ops := history.Operations(evs)
	if len(ops) != 50 {
		t.Fatalf("%d ops", len(ops))
	}
	c, _ := New(ListAppend)
	if r := c.Check(context.Background(), checkers.NewInput(evs, "")); r.Stats["txns"] != 50 {
		t.Fatalf("stats %v", r.Stats)
	}
}

// chaotic is a list-append history whose reads return random prefixes of
// each key's list: stale reads everywhere, one huge strongly connected
// component.
func chaotic(n, keys int, seed uint64) []history.Event {
	rng := rand.New(rand.NewPCG(seed, 9))
	lists := make([][]int64, keys)
	h := new(hb)
	for i := range n {
		var ms []string
		for range 1 + rng.IntN(4) {
			k := rng.IntN(keys)
			if rng.IntN(2) == 0 {
				lists[k] = append(lists[k], int64(len(lists[k])+1))
				ms = append(ms, fmt.Sprintf(`["append","k%d",%d]`, k, len(lists[k])))
			} else {
				ms = append(ms, fmt.Sprintf(`["r","k%d",%s]`, k, listJSON(lists[k][:rng.IntN(len(lists[k])+1)])))
			}
		}
		h.tx(i%10, int64(i)*10, int64(i)*10+25, history.OK, "["+strings.Join(ms, ",")+"]")
	}
	return h.sorted()
}

func TestHugeComponent(t *testing.T) {
	evs := chaotic(3000, 20, 1)
	for _, budget := range []int{20_000_000, 1000} {
		c, _ := New(ListAppend, WithModel(StrictSerializable), WithSearchBudget(budget))
		r := c.Check(context.Background(), checkers.NewInput(evs, t.TempDir()))
		if r.Verdict != checkers.Invalid || r.Stats["sccs"] == 0 {
			t.Fatalf("budget %d: %s: %s", budget, r.Verdict, r.Summary)
		}
		t.Logf("budget %d: %s (%d ms)", budget, r.Summary, r.ElapsedMS)
	}
}
