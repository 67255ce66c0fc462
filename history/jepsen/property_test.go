package jepsen_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/history/jepsen"
)

// genOp is one generated operation: what it is, and how it is written in
// Jepsen's EDN, JSON and log shapes.
type genOp struct {
	process int
	f       string
	typ     string // completion: ok, fail, info, or "" (never completed)
	key     string
	value   string // written (write, cas) or read (ok read); "" is nil
	from    string
	txn     string // EDN micro-operations of a transaction, its completion's
	txnJSON string
}

// genHistory interleaves random operations of a few processes: register ops
// (keyed or not) or list-append transactions. order lists the events: op
// index, 0 for its invocation and 1 for its completion.
func genHistory(rnd *rand.Rand, txn, keyed bool) (ops []genOp, order [][2]int) {
	n := 1 + rnd.IntN(40)
	open := map[int]int{} // process -> op index
	// A few processes, reused once their op completed; one whose op never
	// completed is retired, as Jepsen retires a crashed process.
	idle := []int{0, 1, 2}
	nextProc := 3
	for len(ops) < n || len(open) > 0 {
		if len(ops) < n && len(idle) > 0 && (len(open) == 0 || rnd.IntN(2) == 0) {
			j := rnd.IntN(len(idle))
			p := idle[j]
			idle = append(idle[:j], idle[j+1:]...)
			o := genOp{process: p, key: "r"}
			if keyed {
				o.key = fmt.Sprint(rnd.IntN(3))
			}
			val := func() string {
				if rnd.IntN(4) == 0 {
					return ""
				}
				return fmt.Sprint(rnd.IntN(5))
			}
			switch {
			case txn:
				o.f = "txn"
				k := rnd.IntN(3)
				o.txn = fmt.Sprintf("[[:append %d %d] [:r %d [1 %d]]]", k, len(ops), k+1, len(ops)+2)
				o.txnJSON = fmt.Sprintf(`[["append","%d",%d],["r","%d",[1,%d]]]`, k, len(ops), k+1, len(ops)+2)
			default:
				o.f = []string{"read", "write", "cas"}[rnd.IntN(3)]
				switch o.f {
				case "write":
					o.value = fmt.Sprint(rnd.IntN(5))
				case "cas":
					o.from, o.value = fmt.Sprint(rnd.IntN(5)), fmt.Sprint(rnd.IntN(5))
				}
			}
			o.typ = []string{"ok", "ok", "fail", "info", ""}[rnd.IntN(5)]
			if o.f == "read" && o.typ == "ok" {
				o.value = val()
			}
			if o.f == "txn" && o.typ == "ok" {
				o.txn = strings.Replace(o.txn, "[1 ", "[0 1 ", 1)
				o.txnJSON = strings.Replace(o.txnJSON, "[1,", "[0,1,", 1)
			}
			open[p] = len(ops)
			order = append(order, [2]int{len(ops), 0})
			ops = append(ops, o)
			continue
		}
		for p, i := range open {
			delete(open, p)
			if ops[i].typ != "" {
				order = append(order, [2]int{i, 1})
				idle = append(idle, p)
			} else {
				idle = append(idle, nextProc)
				nextProc++
			}
			break
		}
	}
	return ops, order
}

func ednValue(o genOp, completion bool, keyed bool) string {
	v := "nil"
	switch o.f {
	case "txn":
		v = o.txn
		if !completion {
			v = strings.Replace(o.txn, "[0 1 ", "[1 ", 1)
		}
		return v
	case "read":
		if completion && o.value != "" {
			v = o.value
		}
	case "write":
		v = o.value
	case "cas":
		v = "[" + o.from + " " + o.value + "]"
	}
	if keyed {
		return "[" + o.key + " " + v + "]"
	}
	return v
}

// TestPropertyRoundTrip writes random histories as Jepsen does (EDN op
// maps, a JSON array, jepsen.log lines) and reads them back: the same
// operations, paired, with the same keys, values and outcomes.
func TestPropertyRoundTrip(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	for iter := 0; iter < 300; iter++ {
		txn := iter%3 == 0
		keyed := !txn && iter%2 == 0
		ops, order := genHistory(rnd, txn, keyed)
		var edn, js, log strings.Builder
		js.WriteString("[")
		for n, ev := range order {
			o := ops[ev[0]]
			typ := "invoke"
			if ev[1] == 1 {
				typ = o.typ
			}
			v := ednValue(o, ev[1] == 1, keyed)
			fmt.Fprintf(&edn, "{:index %d, :time %d, :type :%s, :process %d, :f :%s, :value %s}\n", n, 10*n, typ, o.process, o.f, v)
			fmt.Fprintf(&log, "INFO  jepsen.util - %d\t:%s\t:%s\t%s\n", o.process, typ, o.f, v)
			jv := strings.ReplaceAll(strings.ReplaceAll(v, " ", ","), "nil", "null")
			if txn {
				jv = o.txnJSON
				if ev[1] == 0 {
					jv = strings.Replace(o.txnJSON, "[0,1,", "[1,", 1)
				}
			}
			if n > 0 {
				js.WriteString(",\n")
			}
			fmt.Fprintf(&js, `{"index":%d,"type":%q,"process":%d,"f":%q,"value":%s}`, n, typ, o.process, o.f, jv)
		}
		js.WriteString("]")
		for _, src := range []struct{ format, text string }{{"edn", edn.String()}, {"json", js.String()}, {"log", log.String()}} {
			if txn && src.format == "log" {
				continue
			}
			events, _, err := jepsen.Read(strings.NewReader(src.text))
			if err != nil {
				t.Fatalf("iteration %d, %s: %v\n%s", iter, src.format, err, src.text)
			}
			got := history.Operations(events)
			if len(got) != len(ops) {
				t.Fatalf("iteration %d, %s: %d ops, want %d", iter, src.format, len(got), len(ops))
			}
			for i, o := range ops {
				g := got[i]
				wantType := map[string]history.Type{"ok": history.OK, "fail": history.Fail, "info": history.Info, "": history.Info}[o.typ]
				bad := g.F != o.f || g.Process != history.Process(o.process) || g.Type != wantType || (o.typ == "") != (g.Return == -1)
				if txn {
					var mops [][3]any
					bad = bad || json.Unmarshal(g.Data, &mops) != nil || len(mops) != 2 || mops[0][0] != "append"
					if o.typ == "ok" {
						bad = bad || string(g.Data) != o.txnJSON
					}
				} else {
					bad = bad || g.Key != o.key || g.From != o.from
					if o.f != "read" || o.typ == "ok" {
						bad = bad || g.Value != o.value
					}
				}
				if bad {
					t.Fatalf("iteration %d, %s, op %d: got %+v (data %s), want %+v\n%s", iter, src.format, i, g, g.Data, o, src.text)
				}
			}
			for i := 1; i < len(events); i++ {
				if events[i].Time <= events[i-1].Time {
					t.Fatalf("iteration %d, %s: times not increasing at event %d", iter, src.format, i)
				}
			}
		}
	}
}
