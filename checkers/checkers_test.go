package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
)

// op builds one operation's events: f on key k, value v, [call, ret],
// outcome t, on node n1. A ret of -1 leaves it without completion.
func op(id uint64, p int, f, k, v string, call, ret int64, t history.Type) []history.Event {
	inv := history.Event{Time: call, Type: history.Invoke, Process: history.Process(p), F: f, ID: id, Key: k, Node: "n1"}
	if f != history.FRead {
		inv.Value = v
	}
	done := inv
	done.Type, done.Time = t, ret
	if f == history.FRead {
		done.Value = v
	}
	if ret < 0 {
		return []history.Event{inv}
	}
	return []history.Event{inv, done}
}

// on moves an operation to another node.
func on(node string, evs []history.Event) []history.Event {
	for i := range evs {
		evs[i].Node = node
	}
	return evs
}

// cas builds a compare-and-set from -> to.
func cas(id uint64, p int, k, from, to string, call, ret int64, t history.Type) []history.Event {
	evs := op(id, p, history.FCAS, k, to, call, ret, t)
	for i := range evs {
		evs[i].From = from
	}
	return evs
}

// final builds a final read (after healing) that returned v.
func final(id uint64, p int, k, v string, call, ret int64, t history.Type) []history.Event {
	evs := op(id, p, R, k, v, call, ret, t)
	for i := range evs {
		evs[i].Final = true
	}
	return evs
}

func hist(ops ...[]history.Event) []history.Event {
	var evs []history.Event
	for _, o := range ops {
		evs = append(evs, o...)
	}
	slices.SortStableFunc(evs, func(a, b history.Event) int { return int(a.Time - b.Time) })
	return evs
}

const (
	R = history.FRead
	W = history.FWrite
)

var ok, fail, info = history.OK, history.Fail, history.Info

// verdicts is what each checker must say about a history.
type verdicts struct{ lin, stale, lost Verdict }

// table is the hand-built histories with known verdicts that drive the
// unit tests of every checker.
var table = []struct {
	name string
	evs  []history.Event
	want verdicts
}{
	{"sequential write then read", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "1", 20, 30, ok)),
		verdicts{Valid, Valid, Skipped}},
	{"read of initial nil", hist(op(1, 0, R, "a", "", 0, 10, ok), op(2, 1, W, "a", "1", 20, 30, ok)),
		verdicts{Valid, Valid, Skipped}},
	{"concurrent read may see either", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "a", "2", 20, 40, ok),
		op(3, 2, R, "a", "1", 25, 35, ok)), verdicts{Valid, Valid, Skipped}},
	// Linearizing without a search places w2 for r1 and then w1 after it,
	// which r2 refutes; the search finds w1, w2, r1, r2.
	{"a write that must precede the one the reads saw", hist(op(1, 0, W, "a", "1", 0, 30, ok), op(2, 1, W, "a", "2", 0, 20, ok),
		op(3, 2, R, "a", "2", 5, 15, ok), op(4, 2, R, "a", "2", 40, 50, ok)), verdicts{Valid, Valid, Skipped}},
	{"stale read after acknowledged write", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		on("n3", op(3, 1, R, "a", "1", 40, 50, ok))), verdicts{Invalid, Invalid, Skipped}},
	{"stale read of nil after acknowledged write", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "", 40, 50, ok)),
		verdicts{Invalid, Invalid, Skipped}},
	{"read sees a value never written", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "7", 20, 30, ok)),
		verdicts{Invalid, Valid, Skipped}},
	{"failed write seen by a read", hist(op(1, 0, W, "a", "1", 0, 10, fail), op(2, 1, R, "a", "1", 20, 30, ok)),
		verdicts{Invalid, Valid, Skipped}},
	{"unknown write seen later is fine", hist(op(1, 0, W, "a", "1", 0, 10, info), op(2, 1, R, "a", "1", 100, 110, ok)),
		verdicts{Valid, Valid, Skipped}},
	{"unknown write never completed, seen", hist(op(1, 0, W, "a", "1", 0, -1, info), op(2, 1, R, "a", "1", 100, 110, ok)),
		verdicts{Valid, Valid, Skipped}},
	{"unknown write unseen is dropped", hist(op(1, 0, W, "a", "1", 0, 10, info), op(2, 1, R, "a", "", 100, 110, ok)),
		verdicts{Valid, Valid, Skipped}},
	{"unknown write seen, then overwritten, then seen again", hist(op(1, 0, W, "a", "1", 0, -1, info),
		op(2, 1, R, "a", "1", 20, 30, ok), op(3, 2, W, "a", "2", 40, 50, ok), op(4, 1, R, "a", "1", 60, 70, ok)),
		verdicts{Invalid, Invalid, Skipped}},
	{"read before the write was invoked", hist(op(1, 1, R, "a", "1", 0, 10, ok), op(2, 0, W, "a", "1", 20, 30, info)),
		verdicts{Invalid, Valid, Skipped}},
	{"failed reads carry nothing", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "zzz", 20, 30, fail)),
		verdicts{Valid, Unknown, Skipped}},
	{"keys are independent", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "b", "2", 0, 10, ok),
		op(3, 2, R, "a", "1", 20, 30, ok), op(4, 3, R, "b", "2", 20, 30, ok)), verdicts{Valid, Valid, Skipped}},
	{"the value goes back in time", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "1", 15, 18, ok),
		op(3, 0, W, "a", "2", 20, 30, ok), op(4, 1, R, "a", "2", 35, 38, ok), op(5, 2, R, "a", "1", 40, 50, ok)),
		verdicts{Invalid, Invalid, Skipped}},
	{"cas chain", hist(op(1, 0, W, "a", "1", 0, 10, ok), cas(2, 1, "a", "1", "2", 20, 30, ok), op(3, 2, R, "a", "2", 40, 50, ok)),
		verdicts{Valid, Valid, Skipped}},
	{"cas from nil", hist(cas(1, 1, "a", "", "2", 0, 10, ok), op(2, 2, R, "a", "2", 20, 30, ok)), verdicts{Valid, Valid, Skipped}},
	{"cas expects the wrong value", hist(op(1, 0, W, "a", "1", 0, 10, ok), cas(2, 1, "a", "5", "2", 20, 30, ok)),
		verdicts{Invalid, Skipped, Skipped}},
	{"concurrent cas from the same value both succeed", hist(op(1, 0, W, "a", "1", 0, 10, ok),
		cas(2, 1, "a", "1", "2", 20, 30, ok), cas(3, 2, "a", "1", "3", 20, 30, ok)), verdicts{Invalid, Skipped, Skipped}},
	{"concurrent cas, one fails its compare", hist(op(1, 0, W, "a", "1", 0, 10, ok),
		cas(2, 1, "a", "1", "2", 20, 30, ok), cas(3, 2, "a", "1", "3", 20, 30, fail), op(4, 3, R, "a", "2", 40, 50, ok)),
		verdicts{Valid, Valid, Skipped}},
	{"cas after a stale value", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		cas(3, 1, "a", "1", "3", 40, 50, ok)), verdicts{Invalid, Skipped, Skipped}},
	// An unknown cas that was seen happened, so the unknown write it
	// expected happened too, although no read saw that one: pruning must
	// keep both (this once made a valid history invalid).
	{"unknown cas seen, expecting an unknown write nobody read", hist(op(1, 0, W, "a", "1", 0, -1, info),
		cas(2, 1, "a", "1", "2", 5, -1, info), op(3, 2, R, "a", "2", 40, 50, ok)), verdicts{Valid, Valid, Skipped}},
	{"unknown cas seen, expecting a value never written", hist(cas(2, 1, "a", "9", "2", 5, -1, info),
		op(3, 2, R, "a", "2", 40, 50, ok)), verdicts{Invalid, Valid, Skipped}},
	{"final read reflects the last write", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		final(3, 1, "a", "2", 100, 110, ok), on("n2", final(4, 2, "a", "2", 100, 110, ok))), verdicts{Valid, Valid, Valid}},
	{"lost write: the final read shows an older value", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		final(3, 1, "a", "2", 100, 110, ok), on("n2", final(4, 2, "a", "1", 100, 110, ok))), verdicts{Invalid, Invalid, Invalid}},
	{"lost write: the final read shows nothing", hist(op(1, 0, W, "a", "1", 0, 10, ok), final(2, 1, "a", "", 100, 110, ok)),
		verdicts{Invalid, Invalid, Invalid}},
	{"final read shows a concurrent write", hist(op(1, 0, W, "a", "1", 0, 20, ok), op(2, 1, W, "a", "2", 5, 10, ok),
		final(3, 2, "a", "1", 100, 110, ok)), verdicts{Valid, Valid, Valid}},
	{"final read shows an unknown write that happened", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "a", "2", 20, -1, info),
		final(3, 2, "a", "2", 100, 110, ok)), verdicts{Valid, Valid, Valid}},
	{"final read shows a failed write", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "a", "2", 20, 30, fail),
		final(3, 2, "a", "2", 100, 110, ok)), verdicts{Invalid, Valid, Invalid}},
	{"every final read failed", hist(op(1, 0, W, "a", "1", 0, 10, ok), final(2, 1, "a", "", 100, 110, fail),
		op(3, 0, W, "b", "3", 0, 10, ok), final(4, 1, "b", "3", 100, 110, ok)), verdicts{Valid, Valid, Unknown}},
	{"nothing to check", nil, verdicts{Unknown, Skipped, Skipped}},
	// Values written more than once: a read of one may have seen any of
	// its writes, an unknown one at any time after its call, or never.
	{"repeated value: the unknown rewrite may never have happened", fiveOps(), verdicts{Valid, Valid, Skipped}},
	{"repeated value: read after the second write of it", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		op(3, 0, W, "a", "1", 40, 50, ok), op(4, 1, R, "a", "1", 60, 70, ok)), verdicts{Valid, Valid, Skipped}},
	{"repeated value: both writes of it overwritten, then read", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "1", 20, 30, ok),
		op(3, 0, W, "a", "2", 40, 50, ok), on("n2", op(4, 1, R, "a", "1", 60, 70, ok))), verdicts{Invalid, Invalid, Skipped}},
	{"repeated value: an unknown rewrite may explain a late read", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		op(3, 2, W, "a", "1", 35, -1, info), op(4, 1, R, "a", "1", 60, 70, ok)), verdicts{Valid, Valid, Skipped}},
	{"repeated value: an unknown rewrite invoked after the read explains nothing", hist(op(1, 0, W, "a", "1", 0, 10, ok),
		op(2, 0, W, "a", "2", 20, 30, ok), op(4, 1, R, "a", "1", 60, 70, ok), op(3, 2, W, "a", "1", 80, -1, info)),
		verdicts{Invalid, Invalid, Skipped}},
	{"repeated value: an unknown cas may have written it", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		cas(3, 2, "a", "2", "1", 40, -1, info), op(4, 1, R, "a", "1", 50, 60, ok), op(5, 1, R, "a", "1", 70, 80, ok)),
		verdicts{Valid, Valid, Skipped}},
	// The cas cannot have taken effect (3 was never written): the read is
	// stale, which stale-reads cannot prove (it does not follow the cas).
	{"repeated value: an unknown cas that cannot have written it", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		cas(3, 2, "a", "3", "1", 40, -1, info), op(4, 1, R, "a", "1", 50, 60, ok)), verdicts{Invalid, Valid, Skipped}},
	{"repeated value: the unknown cas seen is not the one that wrote it", hist(op(1, 0, W, "a", "1", 0, 10, ok),
		cas(2, 2, "a", "1", "2", 20, -1, info), op(3, 1, R, "a", "2", 30, 40, ok), op(4, 0, W, "a", "1", 50, 60, ok),
		op(5, 0, W, "a", "2", 70, 80, ok), op(6, 1, R, "a", "2", 90, 100, ok)), verdicts{Valid, Valid, Skipped}},
	{"repeated value: the final read shows a long write of it", hist(op(1, 0, W, "a", "1", 0, 100, ok), op(2, 1, W, "a", "1", 5, 10, ok),
		op(3, 2, W, "a", "2", 20, 30, ok), final(4, 3, "a", "1", 200, 210, ok)), verdicts{Valid, Valid, Valid}},
	{"repeated value: the final read shows a value overwritten for good", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "a", "1", 5, 15, ok),
		op(3, 2, W, "a", "2", 20, 30, ok), final(4, 3, "a", "1", 200, 210, ok)), verdicts{Invalid, Invalid, Invalid}},
	{"writing nil, concurrently with another write", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "a", "", 5, 30, ok),
		op(3, 2, R, "a", "", 40, 50, ok)), verdicts{Valid, Valid, Skipped}},
	{"writing nil, outcome unknown", hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, W, "a", "", 20, -1, info),
		op(3, 2, R, "a", "", 40, 50, ok)), verdicts{Valid, Valid, Skipped}},
}

// fiveOps is the smallest case: write(1) ok; read() -> 1 ok;
// write(2) ok; write(1) info; read() -> 2 ok. Linearizable: the unknown
// write of 1 may never have happened (or happened last).
func fiveOps() []history.Event {
	return hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 1, R, "a", "1", 20, 30, ok), op(3, 0, W, "a", "2", 40, 50, ok),
		op(4, 2, W, "a", "1", 60, 70, info), op(5, 1, R, "a", "2", 80, 90, ok))
}

func TestTable(t *testing.T) {
	for _, c := range table {
		t.Run(c.name, func(t *testing.T) {
			in := NewInput(c.evs, "")
			// Spans of one, two and many operations must agree.
			for _, spanOps := range []int{1, 2, 64} {
				r := (&Linearizable{Budget: 10 * time.Second, SpanOps: spanOps}).Check(context.Background(), in)
				if r.Verdict != c.want.lin {
					t.Errorf("linearizable (spans of %d): %s, want %s (%s)\n%s", spanOps, r.Verdict, c.want.lin, r.Summary, r.Explanation)
				}
				if r.Verdict == Invalid && (len(r.InvalidKeys) == 0 || !strings.Contains(r.Explanation, "cannot be linearized")) {
					t.Errorf("invalid without keys or explanation: %+v", r)
				}
			}
			if r := (&StaleReads{}).Check(context.Background(), in); r.Verdict != c.want.stale {
				t.Errorf("stale reads: %s, want %s (%s)", r.Verdict, c.want.stale, r.Summary)
			}
			if r := (&LostWrites{}).Check(context.Background(), in); r.Verdict != c.want.lost {
				t.Errorf("lost writes: %s, want %s (%s)\n%s", r.Verdict, c.want.lost, r.Summary, r.Explanation)
			}
		})
	}
}

// The explanation of a stale read is the three operations that make it one,
// with their times and nodes; the visualization is written and annotated.
func TestExplanationIsTheMinimalWitness(t *testing.T) {
	dir := t.TempDir()
	evs := hist(
		op(1, 0, W, "a", "1", 0, 10e6, ok),
		op(2, 1, R, "a", "1", 12e6, 14e6, ok),
		op(3, 0, W, "a", "2", 20e6, 30e6, ok),
		op(4, 1, R, "a", "2", 31e6, 33e6, ok),
		op(5, 3, W, "a", "3", 35e6, 36e6, fail),
		on("n3", op(6, 2, R, "a", "1", 40e6, 50e6, ok)),
		op(7, 1, R, "a", "2", 60e6, 70e6, ok),
	)
	evs = append(evs,
		history.Event{Time: 15e6, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: "partition", Nodes: []string{"n3"}}},
		history.Event{Time: 55e6, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition"}})
	r := (&Linearizable{}).Check(context.Background(), NewInput(evs, dir))
	if r.Verdict != Invalid || len(r.Artifacts) != 1 {
		t.Fatalf("verdict %s artifacts %v", r.Verdict, r.Artifacts)
	}
	rep := r.Details.(LinearizableDetails).Keys[0]
	var ids []uint64
	for _, w := range rep.Witness {
		ids = append(ids, w.ID)
	}
	if !slices.Equal(ids, []uint64{1, 3, 6}) || !rep.Minimal || !rep.Standalone {
		t.Errorf("witness %v (minimal %v, standalone %v), want ops 1, 3, 6\n%s", ids, rep.Minimal, rep.Standalone, r.Explanation)
	}
	for _, want := range []string{"read() -> 1", "node n3", "0.040s-0.050s", "write(2)", "linearizability-a.html"} {
		if !strings.Contains(r.Explanation, want) {
			t.Errorf("explanation lacks %q:\n%s", want, r.Explanation)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, r.Artifacts[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Tag":"nemesis"`, `"Description":"partition"`, `"Tag":"witness"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("visualization lacks %s", want)
		}
	}
}

// A violation that only shows across many spans: the explanation is taken
// from the span where it shows, given what the key could hold by then.
func TestViolationAcrossSpans(t *testing.T) {
	var parts [][]history.Event
	var at int64
	for i := 1; i <= 300; i++ {
		parts = append(parts, op(uint64(i), 0, W, "a", fmt.Sprint(i), at, at+10, ok))
		at += 20
	}
	// Read of value 1 long after write 300 was acknowledged.
	parts = append(parts, op(1000, 1, R, "a", "1", at, at+10, ok))
	r := (&Linearizable{SpanOps: 8}).Check(context.Background(), NewInput(hist(parts...), ""))
	if r.Verdict != Invalid {
		t.Fatalf("verdict %s", r.Verdict)
	}
	rep := r.Details.(LinearizableDetails).Keys[0]
	if len(rep.Witness) > 3 || !rep.Minimal {
		t.Errorf("witness of %d ops (minimal %v):\n%s", len(rep.Witness), rep.Minimal, r.Explanation)
	}
	if r.Stats["spans"] < 10 {
		t.Errorf("only %d spans: the history was not cut", r.Stats["spans"])
	}
}

func TestOverall(t *testing.T) {
	for _, c := range []struct {
		in   []Verdict
		want Verdict
	}{
		{[]Verdict{Valid, Unknown}, Unknown},
		{[]Verdict{Unknown, Invalid}, Invalid},
		{nil, Unknown},
		{[]Verdict{Valid, Skipped}, Valid},
		{[]Verdict{Skipped, Skipped}, Unknown},
		{[]Verdict{Valid, "bogus"}, Unknown},
	} {
		var rs []Result
		for _, v := range c.in {
			rs = append(rs, Result{Verdict: v})
		}
		if got := Overall(rs); got != c.want {
			t.Errorf("Overall(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

// A key with a long stretch that is never quiet gets a page of the
// operations nearest the witness, under the byte cap; with a cap too small
// for that, a page of the witness alone.
func TestVisualizationIsCapped(t *testing.T) {
	var parts [][]history.Event
	// A write in flight the whole time keeps the key from ever being quiet.
	parts = append(parts, op(1, 9, W, "a", "long", 0, 30000, ok))
	for i := int64(1); i <= 1000; i++ {
		v := fmt.Sprint(i + 1)
		parts = append(parts, op(uint64(2*i), 0, W, "a", v, 10*i, 10*i+5, ok), op(uint64(2*i+1), 1, R, "a", v, 10*i+6, 10*i+8, ok))
	}
	parts = append(parts, op(5000, 2, R, "a", "2", 20000, 20005, ok)) // long after write 2 was overwritten
	evs := hist(parts...)
	for _, c := range []struct {
		maxBytes, wantOps int
	}{{400 << 10, 100}, {45 << 10, 3}} {
		dir := t.TempDir()
		r := (&Linearizable{MaxVisualizedOps: 100, MaxPageBytes: c.maxBytes}).Check(context.Background(), NewInput(evs, dir))
		if r.Verdict != Invalid || len(r.Artifacts) != 1 {
			t.Fatalf("verdict %s, artifacts %v\n%s", r.Verdict, r.Artifacts, r.Explanation)
		}
		st, err := os.Stat(filepath.Join(dir, r.Artifacts[0]))
		if err != nil || st.Size() > int64(c.maxBytes) {
			t.Errorf("page: %v, %d bytes over the %d cap", err, st.Size(), c.maxBytes)
		}
		if want := fmt.Sprintf("%d operations of", c.wantOps); !strings.Contains(r.Explanation, want) {
			t.Errorf("cap %d: explanation lacks %q:\n%s", c.maxBytes, want, r.Explanation)
		}
	}
}

// Values, node names and fault details come from the run directory, and
// porcupine's page puts some of what it shows into innerHTML: a crafted
// history must not get markup into linearizability-<key>.html. Every string
// of the page's data is escaped.
func TestVisualizationEscapesValues(t *testing.T) {
	img, script, node := `<img src=x onerror=alert(1)>`, `</script><script>alert(2)</script>`, `<b onmouseover=alert(3)>n3</b>`
	evs := hist(op(1, 0, W, "a", img, 0, 10e6, ok), op(2, 0, W, "a", script, 20e6, 30e6, ok),
		on(node, op(3, 1, R, "a", img, 40e6, 50e6, ok)))
	evs = append(evs,
		history.Event{Time: 15e6, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: `<svg onload=alert(4)>`, Nodes: []string{node}}},
		history.Event{Time: 55e6, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition"}})
	dir := t.TempDir()
	r := (&Linearizable{}).Check(context.Background(), NewInput(evs, dir))
	if r.Verdict != Invalid || len(r.Artifacts) != 1 {
		t.Fatalf("verdict %s, artifacts %v", r.Verdict, r.Artifacts)
	}
	b, err := os.ReadFile(filepath.Join(dir, r.Artifacts[0]))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, raw := range []string{img, script, node, "<svg onload"} {
		if strings.Contains(page, raw) {
			t.Errorf("the page holds %q unescaped", raw)
		}
	}
	// The data the page's script reads: no string in it may hold markup.
	i := strings.Index(page, "const data = ")
	if i < 0 {
		t.Fatal("no data in the page")
	}
	var data any
	if err := json.NewDecoder(strings.NewReader(page[i+len("const data = "):])).Decode(&data); err != nil {
		t.Fatal(err)
	}
	var strs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			strs = append(strs, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(data)
	escaped := 0
	for _, s := range strs {
		if strings.ContainsAny(s, "<>") {
			t.Errorf("page data holds markup: %q", s)
		}
		if strings.Contains(s, "&lt;img src=x") || strings.Contains(s, "&lt;/script&gt;") || strings.Contains(s, "&lt;b onmouseover") {
			escaped++
		}
	}
	if escaped == 0 {
		t.Errorf("the crafted values are not on the page at all (escaped): %q", strs)
	}
}

// The five operations are linearizable, and the checker says which
// values repeated and which shortcuts it gave up: the unknown rewrite of 1
// was invoked after every read of 1 returned, so no read saw it and it is
// dropped; one that a read may have seen stays open instead of being ended
// at the read, and the summary says so.
func TestRepeatedValues(t *testing.T) {
	r := (&Linearizable{}).Check(context.Background(), NewInput(fiveOps(), ""))
	if r.Verdict != Valid {
		t.Fatalf("%s: %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
	if r.Stats["repeated_values"] != 1 || r.Stats["unseen_unknown_writes_dropped"] != 1 || r.Stats["seen_unknown_writes_capped"] != 0 ||
		!strings.Contains(r.Summary, "1 values written more than once on 1 keys") {
		t.Errorf("stats %v, summary %q", r.Stats, r.Summary)
	}

	// write(1) ok; write(2) ok; write(1) unknown; read() -> 1: only the
	// unknown rewrite explains the read, at any time before it.
	evs := hist(op(1, 0, W, "a", "1", 0, 10, ok), op(2, 0, W, "a", "2", 20, 30, ok),
		op(3, 2, W, "a", "1", 35, -1, info), op(4, 1, R, "a", "1", 60, 70, ok), op(5, 1, R, "a", "1", 80, 90, ok))
	r = (&Linearizable{SpanOps: 1}).Check(context.Background(), NewInput(evs, ""))
	if r.Verdict != Valid || r.Stats["shortcuts_skipped_unknown_write_cap"] != 1 || r.Stats["shortcuts_skipped_span_cut_ops"] != 3 ||
		!strings.Contains(r.Summary, "1 unknown writes left open") {
		t.Errorf("%s: stats %v, summary %q", r.Verdict, r.Stats, r.Summary)
	}
	// The same with a stale read at the end: invalid, and the explanation
	// says the write was left open.
	evs = append(evs, op(6, 0, W, "a", "3", 100, 110, ok)...)
	evs = append(evs, op(7, 1, R, "a", "1", 120, 130, ok)...)
	r = (&Linearizable{}).Check(context.Background(), NewInput(evs, ""))
	if r.Verdict != Invalid || !strings.Contains(r.Explanation, "written more than once") {
		t.Errorf("%s: %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
	t.Logf("%s\n%s", r.Summary, r.Explanation)

	// Unique values take the fast path: nothing skipped.
	r = (&Linearizable{}).Check(context.Background(), NewInput(table[0].evs, ""))
	if _, ok := r.Stats["shortcuts_skipped_unknown_write_cap"]; ok || r.Stats["repeated_values"] != 0 || strings.Contains(r.Summary, "more than once") {
		t.Errorf("unique values: stats %v, summary %q", r.Stats, r.Summary)
	}
}

// A lost write names the fault window it was acknowledged in: where a
// failover discards writes is what the reader wants to see.
func TestLostWriteNamesItsFaultWindow(t *testing.T) {
	evs := hist(
		op(1, 0, W, "a", "1", 0, 10e6, ok),
		op(2, 1, W, "a", "2", 20e6, 30e6, ok), // acknowledged by a cut-off primary
		op(3, 0, W, "b", "9", 60e6, 70e6, ok),
		final(4, 2, "a", "1", 200e6, 210e6, ok),
		final(5, 2, "b", "9", 200e6, 210e6, ok),
	)
	evs = append(evs,
		history.Event{Time: 15e6, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: "partition-leader", Nodes: []string{"n1"}}},
		history.Event{Time: 55e6, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition-leader"}})
	r := (&LostWrites{}).Check(context.Background(), NewInput(evs, ""))
	if r.Verdict != Invalid || r.Stats["lost_writes"] != 1 || r.Stats["lost_during_partition-leader"] != 1 {
		t.Fatalf("verdict %s, stats %v", r.Verdict, r.Stats)
	}
	lost := r.Details.(LostDetails).Lost
	if len(lost) != 1 || !strings.HasPrefix(lost[0].During, "partition-leader 0.0-0.1s") || !strings.Contains(r.Explanation, "during partition-leader") {
		t.Errorf("lost %+v\n%s", lost, r.Explanation)
	}
	// Acknowledged after the heal (a restarted primary not yet demoted):
	// named after the window.
	evs = hist(op(1, 0, W, "a", "1", 0, 10e6, ok), op(2, 1, W, "a", "2", 60e6, 70e6, ok), final(4, 2, "a", "1", 200e6, 210e6, ok))
	evs = append(evs,
		history.Event{Time: 15e6, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: "kill-leader", Nodes: []string{"n1"}}},
		history.Event{Time: 55e6, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "kill-leader"}})
	r = (&LostWrites{}).Check(context.Background(), NewInput(evs, ""))
	if r.Stats["lost_after_kill-leader"] != 1 || !strings.Contains(r.Explanation, "(after kill-leader 0.0-0.1s)") {
		t.Errorf("stats %v\n%s", r.Stats, r.Explanation)
	}
}
