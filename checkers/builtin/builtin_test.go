package builtin

import (
	"context"
	"testing"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// linearizable-set is the bounded search over the set model: an add that
// completed before a read must be in what it returned.
func TestLinearizableSetIsRegistered(t *testing.T) {
	c, err := checkers.Lookup("linearizable-set", checkers.Config{Budget: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	add := history.Op{ID: 1, F: checkers.FAdd, Key: "s", Value: "7", Call: 0, Return: 10, Type: history.OK}
	read := history.Op{ID: 2, Process: 1, F: history.FRead, Key: "s", Data: []byte(`[]`), Call: 20, Return: 30, Type: history.OK}
	for _, tc := range []struct {
		data string
		want checkers.Verdict
	}{{`["7"]`, checkers.Valid}, {`[]`, checkers.Invalid}} {
		read.Data = []byte(tc.data)
		r := c.Check(context.Background(), &checkers.Input{Ops: []history.Op{add, read}})
		if r.Checker != "linearizable-set" || r.Verdict != tc.want {
			t.Fatalf("read %s: %s says %s, want %s: %s", tc.data, r.Checker, r.Verdict, tc.want, r.Summary)
		}
	}
}
