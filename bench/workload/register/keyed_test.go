package register

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/faultline/faultline/history"
)

// drive issues n operations through w with up to inflight of them pending at
// once, completing a random pending one each time the window is full, and
// checks the workload's promises at every step.
func drive(t *testing.T, w *Keyed, n, inflight int, seed uint64) (perKey map[string]int, values map[string]bool) {
	t.Helper()
	cfg := w.cfg
	rnd := rand.New(rand.NewPCG(seed, 1))
	perKey = map[string]int{}
	values = map[string]bool{}
	live := map[string]int{}
	var pending []history.Event
	complete := func(i int) {
		op := pending[i]
		pending[i] = pending[len(pending)-1]
		pending = pending[:len(pending)-1]
		live[op.Key]--
		done := op
		done.Type = []history.Type{history.OK, history.Fail, history.Info}[rnd.IntN(3)]
		if op.F == history.FRead {
			done.Value = ""
		}
		w.Done(&done)
	}
	for id := uint64(1); id <= uint64(n); id++ {
		if len(pending) >= inflight {
			complete(rnd.IntN(len(pending)))
		}
		op := history.Event{ID: id}
		w.Next(&op)
		perKey[op.Key]++
		live[op.Key]++
		if perKey[op.Key] > cfg.OpsPerKey {
			t.Fatalf("key %s got %d operations, more than ops-per-key %d", op.Key, perKey[op.Key], cfg.OpsPerKey)
		}
		if live[op.Key] > cfg.KeyConcurrency {
			t.Fatalf("key %s has %d operations in flight, more than key-concurrency %d", op.Key, live[op.Key], cfg.KeyConcurrency)
		}
		if op.F != history.FRead {
			if op.Value == "" || values[op.Value] {
				t.Fatalf("op %d writes %q: not unique", id, op.Value)
			}
			values[op.Value] = true
			if cfg.ValueSize > 0 && len(op.Value) != max(cfg.ValueSize, len(op.Value)) {
				t.Fatalf("value %q is not %d bytes", op.Value, cfg.ValueSize)
			}
		}
		pending = append(pending, op)
	}
	for len(pending) > 0 {
		complete(0)
	}
	return perKey, values
}

func TestWorkloadBoundsKeysAndConcurrency(t *testing.T) {
	for _, c := range []struct {
		name     string
		cfg      KeyedConfig
		inflight int
	}{
		{"register", KeyedConfig{Kind: KindRegister, Slots: 8, OpsPerKey: 100, KeyConcurrency: 2}, 64},
		{"register-one-key", KeyedConfig{Kind: KindRegister, Slots: 1, OpsPerKey: 10, KeyConcurrency: 1}, 5},
		{"kv-uniform", KeyedConfig{Kind: KindKV, Slots: 1000, OpsPerKey: 20, KeyConcurrency: 2}, 200},
		{"kv-zipfian", KeyedConfig{Kind: KindKV, Slots: 1000, Dist: DistZipfian, ZipfS: 1.2, OpsPerKey: 50, KeyConcurrency: 3, ValueSize: 64}, 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := NewKeyed(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			perKey, values := drive(t, w, 20000, c.inflight, 7)
			if len(values) == 0 {
				t.Fatal("no writes")
			}
			if len(w.live) > len(w.slots) {
				t.Errorf("%d keys still tracked after everything completed, want at most the %d open ones", len(w.live), len(w.slots))
			}
			t.Logf("%d keys used", len(perKey))
		})
	}
}

// Concurrent use, as vegeta's workers and the result loop do (run with -race).
func TestWorkloadConcurrent(t *testing.T) {
	w, err := NewKeyed(KeyedConfig{Kind: KindRegister, Slots: 4, OpsPerKey: 50, KeyConcurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	live := map[string]int{}
	seen := map[string]int{}
	var wg sync.WaitGroup
	var next uint64
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				mu.Lock()
				next++
				op := history.Event{ID: next}
				mu.Unlock()
				w.Next(&op)
				mu.Lock()
				live[op.Key]++
				seen[op.Key]++
				if live[op.Key] > 2 || seen[op.Key] > 50 {
					t.Errorf("goroutine %d: key %s: %d in flight, %d ops", g, op.Key, live[op.Key], seen[op.Key])
				}
				live[op.Key]--
				mu.Unlock()
				op.Type = history.OK
				w.Done(&op)
			}
		}()
	}
	wg.Wait()
}

func TestWorkloadMixAndCAS(t *testing.T) {
	w, err := NewKeyed(KeyedConfig{Kind: KindRegister, Slots: 2, OpsPerKey: 1000, KeyConcurrency: 1,
		Mix: Mix{Read: 1, Write: 1, CAS: 2}})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	last := map[string]string{}
	for id := uint64(1); id <= 4000; id++ {
		op := history.Event{ID: id}
		w.Next(&op)
		count[op.F]++
		if op.F == history.FCAS && op.From != last[op.Key] {
			t.Fatalf("cas on %s expects %q, but the last value known is %q", op.Key, op.From, last[op.Key])
		}
		done := op
		done.Type = history.OK
		if op.F == history.FRead {
			done.Value = last[op.Key]
		} else {
			last[op.Key] = op.Value
		}
		w.Done(&done)
	}
	if count[history.FCAS] < 1800 || count[history.FRead] < 800 || count[history.FWrite] < 800 {
		t.Errorf("mix 1:1:2 gave %v", count)
	}
	if _, err := NewKeyed(KeyedConfig{Slots: 1, OpsPerKey: 1, KeyConcurrency: 1, Mix: Mix{Read: 1}}); err != nil {
		t.Errorf("read-only mix: %v", err)
	}
}

func TestZipfianIsSkewed(t *testing.T) {
	w, err := NewKeyed(KeyedConfig{Kind: KindKV, Slots: 1000, Dist: DistZipfian, ZipfS: 1.1, OpsPerKey: 1 << 30, KeyConcurrency: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	bySlot := map[string]int{}
	for id := uint64(1); id <= 10000; id++ {
		op := history.Event{ID: id}
		w.Next(&op)
		bySlot[strings.Split(op.Key, ".")[0]]++
	}
	if bySlot["k0"] < 1000 || bySlot["k0"] < 10*bySlot["k500"] {
		t.Errorf("zipfian: k0 got %d, k1 %d, k500 %d of 10000", bySlot["k0"], bySlot["k1"], bySlot["k500"])
	}
	w, _ = NewKeyed(KeyedConfig{Kind: KindKV, Slots: 10, OpsPerKey: 1 << 30, KeyConcurrency: 1 << 30})
	bySlot = map[string]int{}
	for id := uint64(1); id <= 10000; id++ {
		op := history.Event{ID: id}
		w.Next(&op)
		bySlot[op.Key]++
	}
	for k, n := range bySlot {
		if n < 800 || n > 1200 {
			t.Errorf("uniform over 10 keys: %s got %d of 10000", k, n)
		}
	}
}

func TestParseMixAndKeyDist(t *testing.T) {
	m, err := ParseMix("read:50, write:30,cas:20")
	if err != nil || m != (Mix{50, 30, 20}) {
		t.Errorf("ParseMix: %v %v", m, err)
	}
	if m2, err := ParseMix(m.String()); err != nil || m2 != m {
		t.Errorf("round trip %q: %v %v", m.String(), m2, err)
	}
	for _, s := range []string{"", "read", "read:x", "read:-1", "read:0", "delete:5", "read:1,read:2"} {
		if _, err := ParseMix(s); err == nil {
			t.Errorf("ParseMix(%q): no error", s)
		}
	}
	for _, s := range []string{"uniform", "zipfian", "zipfian:1.5"} {
		if _, _, err := ParseKeyDist(s); err != nil {
			t.Errorf("ParseKeyDist(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "normal", "zipfian:1", "zipfian:0.9", "uniform:2"} {
		if _, _, err := ParseKeyDist(s); err == nil {
			t.Errorf("ParseKeyDist(%q): no error", s)
		}
	}
}

// When latency climbs, every open key sits at its concurrency cap. Keys must
// then spread over overflow keys, not be retired early: every key that was
// closed had all its operations, so each key keeps enough history to show
// an anomaly.
func TestWorkloadNeverRetiresAKeyEarly(t *testing.T) {
	for _, kind := range []string{KindRegister, KindKV} {
		w, err := NewKeyed(KeyedConfig{Kind: kind, Slots: 8, OpsPerKey: 20, KeyConcurrency: 2, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		// 100 operations in flight at once: far more than 8 keys x 2.
		perKey, _ := drive(t, w, 5000, 100, 7)
		open := map[string]bool{}
		for _, k := range w.slots {
			if k != nil && !k.retired {
				open[k.name] = true
			}
		}
		short := 0
		for k, n := range perKey {
			if !open[k] && n != 20 {
				short++
				t.Errorf("%s: key %s was closed after %d operations, want 20", kind, k, n)
			}
		}
		if keys := len(perKey); keys > 5000/20+len(w.slots) {
			t.Errorf("%s: %d keys for 5000 operations", kind, keys)
		}
	}
}
