package checkers

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// counter is a model with none of the optional interfaces: "incr" adds
// Value, "read" returns the total in Value. It is what a user's own model
// looks like at its smallest.
type counter struct{}

type counterIn struct {
	read bool
	n    int
}

func (counter) Name() string                    { return "counter" }
func (counter) Partition(op *history.Op) string { return op.Key }

func (counter) Operation(op *history.Op) (any, any, bool) {
	n, err := strconv.Atoi(op.Value)
	switch {
	case err != nil, op.Type == history.Fail, op.F == "read" && op.Type != history.OK:
		return nil, nil, false
	case op.F == "read":
		return counterIn{read: true}, n, true
	case op.F == "incr":
		return counterIn{n: n}, 0, true
	}
	return nil, nil, false
}

func (counter) Porcupine() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return 0 },
		Step: func(s, in, out any) (bool, any) {
			if i := in.(counterIn); !i.read {
				return true, s.(int) + i.n
			}
			return out.(int) == s.(int), s
		},
		DescribeOperation: func(in, out any) string {
			if i := in.(counterIn); !i.read {
				return "incr(" + strconv.Itoa(i.n) + ")"
			}
			return "read() -> " + strconv.Itoa(out.(int))
		},
	}
}

// The bounded search over a model with no shortcuts: one porcupine search
// per key, unknown increments open, the whole key as the witness, and a
// page drawn with the model's own descriptions.
func TestModelWithoutShortcuts(t *testing.T) {
	o := func(id uint64, p int, f, v string, call, ret int64, ty history.Type) history.Op {
		return history.Op{ID: id, Process: history.Process(p), F: f, Key: "c", Value: v, Call: call, Return: ret, Type: ty, Node: "n1"}
	}
	for _, c := range []struct {
		name string
		ops  []history.Op
		want Verdict
	}{
		{"concurrent increments", []history.Op{
			o(1, 0, "incr", "1", 0, 10, history.OK), o(2, 1, "incr", "2", 0, 10, history.OK),
			o(3, 2, "read", "2", 5, 8, history.OK), o(4, 2, "read", "3", 20, 30, history.OK),
		}, Valid},
		{"an unknown increment seen", []history.Op{
			o(1, 0, "incr", "5", 0, -1, history.Info), o(2, 1, "read", "0", 5, 8, history.OK),
			o(3, 1, "read", "5", 20, 30, history.OK), o(4, 1, "read", "7", 40, 50, history.Fail),
		}, Valid},
		{"a failed increment seen", []history.Op{
			o(1, 0, "incr", "5", 0, 10, history.Fail), o(2, 1, "read", "5", 20, 30, history.OK),
		}, Invalid},
		{"a read goes back", []history.Op{
			o(1, 0, "incr", "1", 0, 10, history.OK), o(2, 1, "read", "1", 20, 30, history.OK),
			o(3, 1, "read", "0", 40, 50, history.OK),
		}, Invalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			r := (&Linearizable{Model: counter{}, Budget: 10 * time.Second}).Check(context.Background(), &Input{Ops: c.ops, Dir: dir})
			if r.Checker != "linearizable-counter" || r.Verdict != c.want {
				t.Fatalf("%s says %s, want %s: %s\n%s", r.Checker, r.Verdict, c.want, r.Summary, r.Explanation)
			}
			if c.want != Invalid {
				return
			}
			k := r.Details.(LinearizableDetails).Keys[0]
			if k.Minimal || !k.Standalone || len(k.Witness) != k.Ops || !strings.Contains(r.Explanation, "not shrunk: the model") {
				t.Fatalf("report %+v\n%s", k, r.Explanation)
			}
			page, err := os.ReadFile(filepath.Join(dir, k.Visualization))
			if err != nil || !strings.Contains(string(page), "read()") {
				t.Fatalf("page %s: %v", k.Visualization, err)
			}
		})
	}
}
