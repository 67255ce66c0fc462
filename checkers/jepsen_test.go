package checkers

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/faultline/faultline/history"
)

// jepsenLine is one line of a Jepsen etcd log as porcupine's test data has
// them: "INFO  jepsen.util - <process> <type> <f> <value>".
var jepsenLine = regexp.MustCompile(`^INFO\s+jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s+(nil|\d+|\[(\d+)\s+(\d+)\]|:timed-out)$`)

// readJepsenLog converts a Jepsen etcd register log into Faultline events on
// one key: each line is a millisecond; nil is the absent value ""; a cas
// [from to] has From the expected value and Value the new one, as the
// register model reads them; :info is an unknown outcome, and an invoke never
// completed is left without completion (unknown too).
func readJepsenLog(path string) ([]history.Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var evs []history.Event
	open := map[history.Process]*history.Event{} // invoke in flight per process
	var id uint64
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		m := jepsenLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("%s:%d: not a jepsen register line: %q", path, n, line)
		}
		p, _ := strconv.Atoi(m[1])
		proc := history.Process(p)
		e := history.Event{Time: int64(n) * int64(time.Millisecond), Process: proc, F: m[3], Key: "r"}
		switch m[3] {
		case "cas":
			e.F = history.FCAS
		case "write":
			e.F = history.FWrite
		default:
			e.F = history.FRead
		}
		if m[2] == "invoke" {
			if open[proc] != nil {
				return nil, fmt.Errorf("%s:%d: process %d invokes with an operation in flight", path, n, p)
			}
			id++
			e.Type, e.ID = history.Invoke, id
			switch {
			case e.F == history.FWrite:
				e.Value = m[4]
			case e.F == history.FCAS:
				e.From, e.Value = m[5], m[6]
			}
			evs = append(evs, e)
			open[proc] = &evs[len(evs)-1]
			continue
		}
		inv := open[proc]
		if inv == nil || inv.F != e.F {
			return nil, fmt.Errorf("%s:%d: completion without its invoke", path, n)
		}
		delete(open, proc)
		e.ID, e.Value, e.From = inv.ID, inv.Value, inv.From
		switch m[2] {
		case "ok":
			e.Type = history.OK
			if e.F == history.FRead {
				e.Value = strings.TrimPrefix(m[4], "nil")
			}
		case "fail":
			e.Type = history.Fail
		default:
			e.Type = history.Info
		}
		evs = append(evs, e)
	}
	return evs, sc.Err()
}

// porcupineDir is where the module cache holds porcupine's sources (and its
// Jepsen test data).
func porcupineDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/anishathalye/porcupine").Output()
	if err != nil {
		t.Fatalf("go list porcupine: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// jepsenExpected reads porcupine's recorded verdicts from its own test:
// checkJepsen(t, N, linearizable).
func jepsenExpected(t testing.TB, dir string) map[int]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "porcupine_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]bool{}
	for _, m := range regexp.MustCompile(`checkJepsen\(t, (\d+), (true|false)\)`).FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		want[n] = m[2] == "true"
	}
	return want
}

// The linearizable ones, as the issue lists them: a check that porcupine's
// recorded results were read right.
var jepsenLinearizable = []int{2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102}

// Porcupine's Jepsen etcd histories (values 0-4 written over and over, many
// writes and cas with unknown outcomes): the checker agrees with the
// verdicts porcupine's test records, on every one of them, and with raw
// porcupine on the same events. Times are logged beside raw porcupine's.
func TestJepsenEtcdHistories(t *testing.T) {
	dir := porcupineDir(t)
	want := jepsenExpected(t, dir)
	var lin []int
	for n, ok := range want {
		if ok {
			lin = append(lin, n)
		}
	}
	slices.Sort(lin)
	if len(want) != 102 || !slices.Equal(lin, jepsenLinearizable) {
		t.Fatalf("porcupine's recorded results: %d histories, linearizable %v", len(want), lin)
	}
	var ours, raw time.Duration
	counts := map[Verdict]int{}
	repeated, open := 0, 0
	for n := range 103 {
		linearizable, recorded := want[n]
		if !recorded {
			continue // etcd_095 has no recorded result
		}
		evs, err := readJepsenLog(filepath.Join(dir, "test_data", "jepsen", fmt.Sprintf("etcd_%03d.log", n)))
		if err != nil {
			t.Fatal(err)
		}
		in := NewInput(evs, "")
		// Shrinking a witness can cost far more than the verdict on these
		// (seconds for some): three invalid ones get the whole explanation,
		// the others a budget that leaves it unshrunk.
		lin := &Linearizable{Budget: time.Minute, ExplainBudget: time.Millisecond}
		explained := n == 0 || n == 4 || n == 9
		if explained {
			lin.ExplainBudget = 0
		}
		t0 := time.Now()
		r := lin.Check(context.Background(), in)
		took := time.Since(t0) - time.Duration(r.Stats["explain_ms"])*time.Millisecond
		t0 = time.Now()
		res := rawPorcupine(in.Ops, time.Minute, 4<<30, true)
		rawTook := time.Since(t0)
		ours, raw = ours+took, raw+rawTook
		wantV := Invalid
		if linearizable {
			wantV = Valid
		}
		if r.Verdict != wantV {
			t.Errorf("etcd_%03d: %s, porcupine's test says %s (%s)\n%s", n, r.Verdict, wantV, r.Summary, r.Explanation)
		}
		if explained {
			if d, ok := r.Details.(LinearizableDetails); !ok || len(d.Keys) != 1 || !d.Keys[0].Minimal || len(d.Keys[0].Witness) == 0 {
				t.Errorf("etcd_%03d: no minimal witness: %+v\n%s", n, r.Details, r.Explanation)
			}
		}
		if r.Stats["repeated_values"] == 0 || !strings.Contains(r.Summary, "written more than once") ||
			r.Verdict == Invalid && !strings.Contains(r.Explanation, "written more than once") {
			t.Errorf("etcd_%03d: the repeated values go unsaid: %v %s\n%s", n, r.Stats, r.Summary, r.Explanation)
		}
		if (res == porcupine.Ok) != linearizable || res == porcupine.Unknown {
			t.Errorf("etcd_%03d: raw porcupine %s, porcupine's test says linearizable=%v", n, res, linearizable)
		}
		if os.Getenv("FAULTLINE_JEPSEN_LOG") != "" {
			t.Logf("etcd_%03d: %d ops %s %v (explain %d ms, %d calls) raw %v stats %v", n, len(in.Ops), r.Verdict, took.Round(time.Millisecond), r.Stats["explain_ms"], r.Stats["porcupine_calls"], rawTook.Round(time.Millisecond), r.Stats)
		}
		counts[r.Verdict]++
		repeated += r.Stats["repeated_values"]
		open += r.Stats["shortcuts_skipped_unknown_write_cap"]
	}
	t.Logf("verdicts %v (%d repeated values, %d unknown writes left open); checker %v (explanations left out), raw porcupine %v",
		counts, repeated, open, ours.Round(time.Millisecond), raw.Round(time.Millisecond))
}
