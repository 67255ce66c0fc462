package postgres_test

import (
	"path/filepath"
	"testing"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload/txn"
	"github.com/faultline/faultline/history"
)

// assertListAppendHistory checks what a list-append run through Faultline's
// pipeline recorded: only txn operations, whose ok completions carry their
// reads (some of a non-empty list), and a final phase that read back the
// keys written. (It was a run of its own; the serializable runs of
// verdict_test.go now carry it, one cluster fewer in `make test`.)
func assertListAppendHistory(t *testing.T, dir string) {
	t.Helper()
	events, _, err := history.ReadFile(filepath.Join(dir, scenario.HistoryFile))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[history.Type]int{}
	var reads, nonEmpty, final int
	for _, op := range history.Operations(events) {
		if op.F != txn.F {
			t.Fatalf("operation %s in the history", op.F)
		}
		counts[op.Type]++
		if op.Type != history.OK {
			continue
		}
		if op.Final {
			final++
		}
		mops, err := txn.Decode(op.Data)
		if err != nil {
			t.Fatalf("op %d: %v", op.ID, err)
		}
		for _, m := range mops {
			if m.F == txn.Read {
				reads++
				if string(m.Value) != "null" {
					nonEmpty++
				}
			}
		}
	}
	t.Logf("ok %d fail %d info %d; %d reads (%d of a non-empty list); %d final",
		counts[history.OK], counts[history.Fail], counts[history.Info], reads, nonEmpty, final)
	if counts[history.OK] == 0 || nonEmpty == 0 || final == 0 {
		t.Errorf("want ok transactions with reads of non-empty lists and final reads")
	}
}
