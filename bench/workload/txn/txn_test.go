package txn

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
)

// Transactions stay within their bounds: length, unique values per key,
// writes per key before retirement; every value is valid JSON that Decode
// reads back.
func TestGeneratorBounds(t *testing.T) {
	for _, kind := range []Kind{ListAppend, RWRegister} {
		c, err := Parse(kind, workload.Config{Keys: 4, OpsPerKey: 10, Seed: 9, Options: map[string]string{"txn-len": "2..5", "read-fraction": "0.3"}})
		if err != nil {
			t.Fatal(err)
		}
		g := New(c)
		writes := map[string]map[string]bool{}
		for id := uint64(1); id <= 3000; id++ {
			op := history.Event{ID: id}
			g.Next(&op)
			if op.F != F || !json.Valid(op.Data) {
				t.Fatalf("op %+v", op)
			}
			mops, err := Decode(op.Data)
			if err != nil {
				t.Fatal(err)
			}
			if len(mops) < 2 || len(mops) > 5 {
				t.Fatalf("txn of %d micro-ops: %s", len(mops), op.Data)
			}
			if string(Encode(mops)) != string(op.Data) {
				t.Fatalf("Encode(Decode(%s)) = %s", op.Data, Encode(mops))
			}
			for _, m := range mops {
				want := map[Kind]string{ListAppend: Append, RWRegister: Write}[kind]
				switch m.F {
				case Read:
					if string(m.Value) != "null" {
						t.Fatalf("a read invoked with a value: %s", op.Data)
					}
				case want:
					if writes[m.Key] == nil {
						writes[m.Key] = map[string]bool{}
					}
					if writes[m.Key][string(m.Value)] {
						t.Fatalf("value %s written twice to %s", m.Value, m.Key)
					}
					writes[m.Key][string(m.Value)] = true
					if len(writes[m.Key]) > 10 {
						t.Fatalf("key %s got %d writes, more than 10", m.Key, len(writes[m.Key]))
					}
				default:
					t.Fatalf("micro-op %q in %s", m.F, op.Data)
				}
			}
		}
		if len(writes) < 50 {
			t.Errorf("only %d keys used: keys are not retired", len(writes))
		}
		if len(g.Written()) != len(writes) {
			t.Errorf("Written lists %d keys, %d were written", len(g.Written()), len(writes))
		}
	}
}

func TestParseRefusesBadOptions(t *testing.T) {
	for _, o := range []map[string]string{
		{"txn-len": "0"}, {"txn-len": "3..2"}, {"txn-len": "x"}, {"read-fraction": "2"}, {"nope": "1"},
	} {
		_, err := Parse(ListAppend, workload.Config{Keys: 4, OpsPerKey: 10, Options: o})
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "load.") {
			t.Errorf("%v: %v", o, err)
		}
	}
}
