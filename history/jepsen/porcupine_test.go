package jepsen_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/history/jepsen"
)

// porcupineDir is the porcupine module in the module cache: its test_data
// holds 102 histories of Jepsen's etcd test, and its porcupine_test.go the
// verdict of each.
func porcupineDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/anishathalye/porcupine").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("porcupine is not in the module cache (go list: %v)", err)
	}
	return dir
}

// porcupineVerdicts reads checkJepsen(t, N, linearizable) from
// porcupine_test.go.
func porcupineVerdicts(t testing.TB, dir string) map[int]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "porcupine_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`checkJepsen\(t, (\d+), (true|false)\)`)
	out := map[int]bool{}
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		n, _ := strconv.Atoi(m[1])
		out[n] = m[2] == "true"
	}
	return out
}

func porcupineLog(dir string, n int) string {
	return filepath.Join(dir, "test_data", "jepsen", fmt.Sprintf("etcd_%03d.log", n))
}

// casRegister is the cas-register of porcupine's own etcd test, for raw
// porcupine: the imported events checked without any of Faultline's
// shortcuts, to tell a reader bug from a checker bug. As there, a failed
// cas saw another value, and an unknown one may have failed.
var casRegister = porcupine.Model{
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		in, s := input.(history.Op), state.(string)
		switch in.F {
		case history.FRead:
			return output.(string) == s, s
		case history.FWrite:
			return true, in.Value
		case history.FCAS:
			switch in.Type {
			case history.Fail:
				return s != in.From, s
			case history.Info:
				if s == in.From {
					return true, in.Value
				}
				return true, s
			}
			if s != in.From {
				return false, s
			}
			return true, in.Value
		}
		return false, s
	},
}

// rawPorcupine checks events with casRegister: failed and unknown reads
// are dropped (they returned nothing), unknown writes and cas never return.
func rawPorcupine(events []history.Event) bool {
	var ops []porcupine.Operation
	for _, op := range history.Operations(events) {
		if op.F == history.FRead && op.Type != history.OK || op.F == history.FWrite && op.Type == history.Fail {
			continue
		}
		ret := op.Return
		if op.Type == history.Info {
			ret = 1 << 62
		}
		ops = append(ops, porcupine.Operation{ClientId: int(op.Process), Input: op, Call: op.Call, Output: op.Value, Return: ret})
	}
	return porcupine.CheckOperations(casRegister, ops)
}

// repeatedValuesHandled says whether the linearizability checker is sound
// when written values repeat (issue 19): issue 19's five operations are
// linearizable (the unknown write of 1 may never have happened).
func repeatedValuesHandled() bool {
	ev := func(t int64, typ history.Type, p history.Process, f string, id uint64, v string) history.Event {
		return history.Event{Time: t, Type: typ, Process: p, F: f, ID: id, Key: "r", Value: v}
	}
	events := []history.Event{
		ev(0, history.Invoke, 0, "write", 1, "1"), ev(1, history.OK, 0, "write", 1, "1"),
		ev(2, history.Invoke, 0, "read", 2, ""), ev(3, history.OK, 0, "read", 2, "1"),
		ev(4, history.Invoke, 0, "write", 3, "2"), ev(5, history.OK, 0, "write", 3, "2"),
		ev(6, history.Invoke, 1, "write", 4, "1"), ev(7, history.Info, 1, "write", 4, "1"),
		ev(8, history.Invoke, 2, "read", 5, ""), ev(9, history.OK, 2, "read", 5, "2"),
	}
	r := (&checkers.Linearizable{}).Check(context.Background(), checkers.NewInput(events, ""))
	return r.Verdict == checkers.Valid
}

// TestPorcupineEtcdHistories imports porcupine's 102 Jepsen etcd logs and
// checks each against the verdict porcupine's own test gives it: raw
// porcupine on the imported events (the reader is right) and Faultline's
// linearizability checker (the checker is right). The 23 linearizable
// histories write values that repeat; until the checker handles that
// (issue 19) only the 79 that are not are asserted for it.
func TestPorcupineEtcdHistories(t *testing.T) {
	dir := porcupineDir(t)
	want := porcupineVerdicts(t, dir)
	if len(want) != 102 {
		t.Fatalf("porcupine_test.go lists %d Jepsen histories, want 102", len(want))
	}
	fixed := repeatedValuesHandled()
	if !fixed {
		t.Log("the linearizability checker does not handle repeated values yet (issue 19): its verdicts on the linearizable histories are logged, not asserted")
	}
	rawAgree, agree, legal := 0, 0, 0
	for n := 0; n <= 102; n++ {
		lin, ok := want[n]
		if !ok {
			continue
		}
		var st jepsen.Stats
		events, w, err := jepsen.ReadFile(porcupineLog(dir, n), jepsen.WithStats(&st))
		if err != nil {
			t.Fatal(err)
		}
		if w != jepsen.Register || st.Keys != 1 || st.Ops == 0 || st.Format != jepsen.FormatLog {
			t.Fatalf("etcd_%03d: %+v; want a register log of 1 key", n, st)
		}
		if got := rawPorcupine(events); got != lin {
			t.Errorf("etcd_%03d: raw porcupine on the imported events says linearizable=%v, porcupine's test %v", n, got, lin)
		} else {
			rawAgree++
		}
		// The verdict is what is compared: no time for shrinking the
		// witness of an invalid one (up to 20 s each on a busy machine).
		r := (&checkers.Linearizable{ExplainBudget: time.Millisecond}).Check(context.Background(), checkers.NewInput(events, ""))
		exp := checkers.Invalid
		if lin {
			exp = checkers.Valid
			legal++
		}
		switch {
		case r.Verdict == exp:
			agree++
		case lin && !fixed:
			t.Logf("etcd_%03d: linearizable, Faultline says %s (issue 19)", n, r.Verdict)
		default:
			t.Errorf("etcd_%03d: porcupine's test says linearizable=%v, Faultline %s: %s", n, lin, r.Verdict, r.Summary)
		}
	}
	t.Logf("raw porcupine on the imported events agrees on %d of %d; Faultline's checker on %d of %d (%d linearizable)", rawAgree, len(want), agree, len(want), legal)
}

// TestPorcupineEtcdRunVerdicts: the 23 linearizable logs imported and
// checked as `faultline check` checks a run (linearizable, stale-reads,
// lost-writes, availability): the run is valid, none of the checkers that
// explain a violation finds one in a history that has none. (An illegal
// one goes end to end in TestImportPorcupineLog; the 79 are the
// linearizability checker's verdicts in TestPorcupineEtcdHistories, and
// an invalid run spends its time shrinking witnesses.) Asserted once the
// checkers handle repeated values (issue 19). Each is a whole check with its
// report (seconds under -race): `make test` checks runVerdictsShort of
// them, the long tag all 23 (`go test -tags long -run RunVerdicts
// ./history/jepsen`).
const runVerdictsShort = 3

func TestPorcupineEtcdRunVerdicts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 102 run directories")
	}
	dir := porcupineDir(t)
	want := porcupineVerdicts(t, dir)
	fixed := repeatedValuesHandled()
	agree, checked := 0, 0
	for n := 0; n <= 102; n++ {
		lin, ok := want[n]
		if !ok || !lin {
			continue
		}
		if !allRunVerdicts && checked == runVerdictsShort {
			break
		}
		checked++
		out := importAndCheck(t, porcupineLog(dir, n))
		exp := checkers.Invalid
		if lin {
			exp = checkers.Valid
		}
		switch {
		case out.Summary.Verdict == exp:
			agree++
		case lin && !fixed:
			t.Logf("etcd_%03d: linearizable, the run is %s (issue 19)", n, out.Summary.Verdict)
		default:
			t.Errorf("etcd_%03d: porcupine's test says linearizable=%v, the run is %s", n, lin, out.Summary.Verdict)
		}
	}
	t.Logf("faultline check finds %d of the %d linearizable runs checked valid", agree, checked)
}
