package elle

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// hb builds histories by hand: each transaction an invoke and (unless it
// never completed) a completion, at the times given.
type hb struct {
	evs []history.Event
	id  uint64
}

var nullReads = regexp.MustCompile(`\["r",("[^"]*"|\d+),(\[[^\]]*\]|-?\d+|null)\]`)

// tx adds a transaction whose completion carries value; its invoke carries
// the same micro-operations with reads null, as a client records them. A
// completion type of Invoke means it never completed.
func (h *hb) tx(p int, call, ret int64, typ history.Type, value string) *hb {
	h.id++
	inv := nullReads.ReplaceAllString(value, `["r",$1,null]`)
	h.evs = append(h.evs, history.Event{Time: call, Type: history.Invoke, Process: history.Process(p), F: FTxn, ID: h.id, Data: json.RawMessage(inv), Node: "n1"})
	if typ != history.Invoke {
		d := value
		if typ != history.OK {
			d = inv
		}
		h.evs = append(h.evs, history.Event{Time: ret, Type: typ, Process: history.Process(p), F: FTxn, ID: h.id, Data: json.RawMessage(d), Node: "n1"})
	}
	return h
}

// ok adds a committed transaction that overlaps every other (call 0,
// return 1000): no real-time order between them.
func (h *hb) ok(p int, value string) *hb { return h.tx(p, 0, 1000, history.OK, value) }

func (h *hb) sorted() []history.Event {
	evs := append([]history.Event(nil), h.evs...)
	// Invokes before completions at equal times; stable otherwise.
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].Time < evs[j-1].Time; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	return evs
}

// withEdge adds a write and its read on a key of their own: with no
// dependency at all, a history is unknown, not valid.
func withEdge(h *hb, w Workload) *hb {
	if w == ListAppend {
		return h.ok(98, `[["append","zz",1]]`).ok(99, `[["r","zz",[1]]]`)
	}
	return h.ok(98, `[["w","zz",1]]`).ok(99, `[["r","zz",1]]`)
}

func check(t *testing.T, w Workload, m Model, evs []history.Event, dir string) checkers.Result {
	t.Helper()
	c, err := New(w, WithModel(m))
	if err != nil {
		t.Fatal(err)
	}
	return c.Check(context.Background(), checkers.NewInput(evs, dir))
}

// expectAnomaly checks a history under every model: invalid exactly under
// the models that forbid the anomaly, which it must name, else valid.
func expectAnomaly(t *testing.T, w Workload, anomaly string, h *hb) {
	t.Helper()
	evs := withEdge(h, w).sorted()
	for _, m := range Models {
		r := check(t, w, m, evs, "")
		want := checkers.Valid
		if Forbids(m, anomaly) {
			want = checkers.Invalid
		}
		if r.Verdict != want {
			t.Errorf("%s under %s: %s, want %s: %s\n%s", anomaly, m, r.Verdict, want, r.Summary, r.Explanation)
			continue
		}
		if want == checkers.Invalid && r.Stats["anomaly_"+anomaly] == 0 {
			t.Errorf("%s under %s: not named: %s\n%s", anomaly, m, r.Summary, r.Explanation)
		}
	}
}

func TestListAppendAnomalies(t *testing.T) {
	cases := []struct {
		anomaly string
		h       *hb
	}{
		{G0, new(hb).ok(1, `[["append","x",1],["append","y",1]]`).ok(2, `[["append","x",2],["append","y",2]]`).
			ok(3, `[["r","x",[1,2]],["r","y",[2,1]]]`)},
		{G1a, new(hb).tx(1, 0, 10, history.Fail, `[["append","x",1]]`).ok(2, `[["r","x",[1]]]`)},
		{G1b, new(hb).ok(1, `[["append","x",1],["append","x",2]]`).ok(2, `[["r","x",[1]]]`)},
		{G1c, new(hb).ok(1, `[["append","x",1],["r","y",[1]]]`).ok(2, `[["append","y",1],["r","x",[1]]]`)},
		{GSingle, new(hb).ok(1, `[["r","x",[]],["r","y",[1]]]`).ok(2, `[["append","x",1],["append","y",1]]`).ok(3, `[["r","x",[1]]]`)},
		{G2Item, new(hb).ok(1, `[["r","x",[]],["append","y",1]]`).ok(2, `[["r","y",[]],["append","x",1]]`).ok(3, `[["r","x",[1]],["r","y",[1]]]`)},
		{GNonadjacent, new(hb).ok(1, `[["r","d",[1]],["r","a",[]]]`).ok(2, `[["append","a",1],["append","b",1]]`).
			ok(3, `[["r","b",[1]],["r","c",[]]]`).ok(4, `[["append","c",1],["append","d",1]]`).ok(5, `[["r","a",[1]],["r","c",[1]]]`)},
		{LostUpdate, new(hb).ok(1, `[["r","x",[]],["append","x",1]]`).ok(2, `[["r","x",[]],["append","x",2]]`).ok(3, `[["r","x",[1,2]]]`)},
		{Internal, new(hb).ok(1, `[["append","x",1],["r","x",[]]]`)},
		{DuplicateElements, new(hb).ok(1, `[["append","x",1]]`).ok(2, `[["r","x",[1,1]]]`)},
		{IncompatibleOrder, new(hb).ok(1, `[["append","x",1]]`).ok(2, `[["append","x",2]]`).ok(3, `[["r","x",[1,2]]]`).ok(4, `[["r","x",[2,1]]]`)},
		{GarbageRead, new(hb).ok(1, `[["r","x",[7]]]`)},
		// T1 appended and completed before T2 began, yet T2 missed it.
		{GSingle + realtimeSuffix, new(hb).tx(1, 0, 10, history.OK, `[["append","x",1]]`).tx(2, 20, 30, history.OK, `[["r","x",[]]]`).
			tx(3, 40, 50, history.OK, `[["r","x",[1]]]`)},
	}
	for _, c := range cases {
		t.Run(c.anomaly, func(t *testing.T) { expectAnomaly(t, ListAppend, c.anomaly, c.h) })
	}
}

func TestRegisterAnomalies(t *testing.T) {
	cases := []struct {
		anomaly string
		h       *hb
	}{
		{G1a, new(hb).tx(1, 0, 10, history.Fail, `[["w","x",1]]`).ok(2, `[["r","x",1]]`)},
		{G1b, new(hb).ok(1, `[["w","x",1],["w","x",2]]`).ok(2, `[["r","x",1]]`)},
		{G1c, new(hb).ok(1, `[["w","x",1],["r","y",1]]`).ok(2, `[["w","y",1],["r","x",1]]`)},
		{GSingle, new(hb).ok(1, `[["r","x",null],["r","y",1]]`).ok(2, `[["w","x",1],["w","y",1]]`)},
		{G2Item, new(hb).ok(1, `[["r","x",null],["w","y",1]]`).ok(2, `[["r","y",null],["w","x",1]]`)},
		{LostUpdate, new(hb).ok(1, `[["r","x",null],["w","x",1]]`).ok(2, `[["r","x",null],["w","x",2]]`)},
		{Internal, new(hb).ok(1, `[["w","x",1],["r","x",2]]`).ok(2, `[["w","x",2]]`)},
		{GarbageRead, new(hb).ok(1, `[["r","x",9]]`)},
		// wfr orders 3 before 4 (T2) and 4 before 5 (T3): T1 read 3 and
		// T3 read 4, each missing the next: G-single through wfr edges.
		{GSingle, new(hb).ok(1, `[["w","x",3],["w","y",1]]`).ok(2, `[["r","x",3],["w","x",4]]`).
			ok(3, `[["r","y",1],["r","x",4],["w","x",5],["w","y",2]]`).ok(4, `[["r","y",2],["r","x",3]]`)},
		{GSingle + realtimeSuffix, new(hb).tx(1, 0, 10, history.OK, `[["w","x",1]]`).tx(2, 20, 30, history.OK, `[["r","x",null]]`)},
	}
	for _, c := range cases {
		t.Run(c.anomaly, func(t *testing.T) { expectAnomaly(t, RWRegister, c.anomaly, c.h) })
	}
}

// With an unknown initial state (imported histories), a value nobody in
// the history wrote is, as in Elle, no anomaly: elle-cli's rw-register.edn
// (write 2, then read 3, then read 2, one process) is valid under strict
// serializability, and says so in a note. With the default (keys start
// empty, every write recorded) it is a garbage read.
func TestUnknownInitialState(t *testing.T) {
	for _, c := range []struct {
		w Workload
		h *hb
	}{
		{RWRegister, new(hb).tx(1, 0, 10, history.OK, `[["w","x",2]]`).tx(2, 20, 30, history.OK, `[["r","x",3]]`).tx(3, 40, 50, history.OK, `[["r","x",2]]`)},
		{ListAppend, new(hb).tx(1, 0, 10, history.OK, `[["append","x",2]]`).tx(2, 20, 30, history.OK, `[["r","x",[2,3]]]`).tx(3, 40, 50, history.OK, `[["r","x",[2,3]]]`)},
	} {
		t.Run(c.w.String(), func(t *testing.T) {
			evs := c.h.sorted()
			for _, unknown := range []bool{false, true} {
				ch, err := New(c.w, WithUnknownInitialState(unknown))
				if err != nil {
					t.Fatal(err)
				}
				r := ch.Check(context.Background(), checkers.NewInput(evs, ""))
				switch {
				case !unknown && (r.Verdict != checkers.Invalid || r.Stats["anomaly_"+GarbageRead] == 0):
					t.Errorf("empty initial state: want a garbage read, got %s: %s", r.Verdict, r.Summary)
				case unknown && (r.Verdict != checkers.Valid || r.Stats["unwritten_reads"] == 0 || !strings.Contains(r.Summary, "no transaction in the history wrote")):
					t.Errorf("unknown initial state: want valid with a note, got %s: %s", r.Verdict, r.Summary)
				}
			}
		})
	}
	// An unknown value gives no dependency but hides no other anomaly: a
	// G-single beside it is still found.
	evs := new(hb).ok(1, `[["r","x",null],["r","y",1],["r","z",7]]`).ok(2, `[["w","x",1],["w","y",1]]`).sorted()
	ch, _ := New(RWRegister, WithUnknownInitialState(true))
	if r := ch.Check(context.Background(), checkers.NewInput(evs, "")); r.Verdict != checkers.Invalid || r.Stats["anomaly_"+GSingle] == 0 {
		t.Fatalf("want G-single, got %s: %s", r.Verdict, r.Summary)
	}
}

// Writes-follow-reads is assumed only where G1 is forbidden: there, two
// transactions that each read the other's write and overwrote it order
// the versions in a cycle (and form a G1c).
func TestCyclicVersions(t *testing.T) {
	evs := new(hb).ok(1, `[["r","x",1],["w","x",2]]`).ok(2, `[["r","x",2],["w","x",1]]`).sorted()
	r := check(t, RWRegister, ReadCommitted, evs, "")
	if r.Verdict != checkers.Invalid || r.Stats["anomaly_"+CyclicVersions] == 0 || r.Stats["anomaly_"+G1c] == 0 {
		t.Fatalf("%s: %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
	if r := check(t, RWRegister, ReadUncommitted, evs, ""); r.Verdict != checkers.Valid {
		t.Fatalf("read uncommitted: %s: %s", r.Verdict, r.Summary)
	}
}

// Indeterminate transactions: they may or may not have committed.
func TestInfoTransactions(t *testing.T) {
	for _, c := range []struct {
		name string
		w    Workload
		h    *hb
		want checkers.Verdict
	}{
		{"unobserved info append", ListAppend, new(hb).tx(1, 0, -1, history.Invoke, `[["append","x",1]]`).tx(2, 20, 30, history.OK, `[["r","x",[]]]`), checkers.Valid},
		{"observed info append", ListAppend, new(hb).tx(1, 0, 5, history.Info, `[["append","x",1],["append","y",1]]`).tx(2, 20, 30, history.OK, `[["r","x",[1]],["r","y",[1]]]`), checkers.Valid},
		// An info txn that never completed may take effect after a later
		// read, even under strict serializability.
		{"info after a later read", ListAppend, new(hb).tx(1, 0, 10, history.Info, `[["append","x",1]]`).tx(2, 20, 30, history.OK, `[["r","x",[]]]`).
			tx(3, 40, 50, history.OK, `[["r","x",[1]]]`), checkers.Valid},
		// The same with the append acknowledged: a stale read.
		{"ok before a later read", ListAppend, new(hb).tx(1, 0, 10, history.OK, `[["append","x",1]]`).tx(2, 20, 30, history.OK, `[["r","x",[]]]`).
			tx(3, 40, 50, history.OK, `[["r","x",[1]]]`), checkers.Invalid},
		{"unobserved failed append", ListAppend, new(hb).tx(1, 0, 10, history.Fail, `[["append","x",1]]`).tx(2, 20, 30, history.OK, `[["r","x",[]]]`), checkers.Valid},
		{"info register writes", RWRegister, new(hb).tx(1, 0, 10, history.Info, `[["w","x",1]]`).tx(2, 20, 30, history.OK, `[["r","x",null]]`).
			tx(3, 40, 50, history.Info, `[["w","x",2]]`).tx(4, 60, 70, history.OK, `[["r","x",2]]`), checkers.Valid},
	} {
		r := check(t, c.w, StrictSerializable, withEdge(c.h, c.w).sorted(), "")
		if r.Verdict != c.want {
			t.Errorf("%s: %s, want %s: %s\n%s", c.name, r.Verdict, c.want, r.Summary, r.Explanation)
		}
	}
}

func TestExplanationAndPicture(t *testing.T) {
	dir := t.TempDir()
	evs := new(hb).ok(1, `[["r","x",[]],["r","y",[1]]]`).ok(2, `[["append","x",1],["append","y",1]]`).ok(3, `[["r","x",[1]]]`).sorted()
	r := check(t, ListAppend, Serializable, evs, dir)
	if r.Verdict != checkers.Invalid {
		t.Fatalf("%s: %s", r.Verdict, r.Summary)
	}
	for _, want := range []string{"G-single #1", "read x = [] without", "append of 1", "op 3 (process 3) read x = [1]", "rules out snapshot-isolation and repeatable-read"} {
		if !strings.Contains(r.Explanation, want) {
			t.Errorf("explanation lacks %q:\n%s", want, r.Explanation)
		}
	}
	if !strings.Contains(r.Summary, "G-single ×1") {
		t.Errorf("summary %q", r.Summary)
	}
	if len(r.Artifacts) != 1 || r.Artifacts[0] != "elle-G-single-1.svg" {
		t.Fatalf("artifacts %v", r.Artifacts)
	}
	svg, err := os.ReadFile(filepath.Join(dir, r.Artifacts[0]))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "T1", "T2", "rw x", "wr y", "</svg>"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("svg lacks %q", want)
		}
	}
	d := r.Details.(*Details)
	if len(d.Anomalies) != 1 || len(d.Anomalies[0].Edges) != 2 || !d.Anomalies[0].Forbidden || d.Anomalies[0].Picture == "" {
		t.Fatalf("details %+v", d)
	}
	if got := strings.Join(d.RuledOut, ","); got != "strict-serializable,serializable,snapshot-isolation,repeatable-read" {
		t.Errorf("ruled out %s", got)
	}
	if r.Stats["txns"] != 3 || r.Stats["edges_rw"] != 1 || r.Stats["sccs"] != 1 || r.Stats["keys"] != 2 {
		t.Errorf("stats %v", r.Stats)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(ListAppend, WithConsistency("linearizable")); err == nil {
		t.Error("unknown model accepted")
	}
	if c, err := New(RWRegister, WithConsistency("Snapshot-Isolation")); err != nil || c.Model() != SnapshotIsolation || c.Name() != "elle-rw-register" {
		t.Errorf("model %v, %v", c, err)
	}
	if w, err := ParseWorkload("list-append"); err != nil || w != ListAppend {
		t.Errorf("workload %v %v", w, err)
	}
	if _, err := ParseWorkload("bank"); err == nil {
		t.Error("unknown workload accepted")
	}
	evs := new(hb).ok(1, `[["append","x",1]]`).ok(2, `[["append","x",1]]`).sorted()
	if r := check(t, ListAppend, Serializable, evs, ""); r.Verdict != checkers.Unknown {
		t.Errorf("duplicate appends: %s", r.Verdict)
	}
	evs = new(hb).ok(1, `[["frob","x",1]]`).sorted()
	if r := check(t, ListAppend, Serializable, evs, ""); r.Verdict != checkers.Unknown {
		t.Errorf("bad micro-op: %s", r.Verdict)
	}
	if r := check(t, ListAppend, Serializable, nil, ""); r.Verdict != checkers.Skipped {
		t.Errorf("empty: %s", r.Verdict)
	}
	// No dependency between any two transactions: nothing was checked.
	evs = new(hb).ok(1, `[["append","x",1]]`).ok(2, `[["append","y",1]]`).sorted()
	if r := check(t, ListAppend, Serializable, evs, ""); r.Verdict != checkers.Unknown {
		t.Errorf("no dependencies: %s %s", r.Verdict, r.Summary)
	}
	// Integer keys, as Jepsen's histories have.
	evs = new(hb).ok(1, `[["append",3,1]]`).ok(2, `[["r",3,[1]]]`).sorted()
	if r := check(t, ListAppend, Serializable, evs, ""); r.Verdict != checkers.Valid {
		t.Errorf("integer keys: %s %s", r.Verdict, r.Summary)
	}
}

// With linearizable keys, real time orders register versions: T3 read 1
// after T2 overwrote it in real time, so 1 < 2 < 1.
func TestLinearizableKeys(t *testing.T) {
	evs := new(hb).tx(1, 0, 10, history.OK, `[["w","x",1]]`).tx(2, 20, 30, history.OK, `[["w","x",2]]`).tx(3, 40, 50, history.OK, `[["r","x",1]]`).sorted()
	if r := check(t, RWRegister, StrictSerializable, evs, ""); r.Verdict != checkers.Valid {
		t.Fatalf("without linearizable keys: %s: %s", r.Verdict, r.Summary)
	}
	c, err := New(RWRegister, WithModel(StrictSerializable), WithLinearizableKeys(true))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Check(context.Background(), checkers.NewInput(evs, ""))
	if r.Verdict != checkers.Invalid || r.Stats["anomaly_cyclic-versions-realtime"] == 0 {
		t.Fatalf("with linearizable keys: %s: %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
	if !strings.Contains(r.Explanation, "linearizable keys") {
		t.Errorf("explanation:\n%s", r.Explanation)
	}
	// Only under strict serializability.
	c, _ = New(RWRegister, WithModel(Serializable), WithLinearizableKeys(true))
	if r := c.Check(context.Background(), checkers.NewInput(evs, "")); r.Verdict != checkers.Valid {
		t.Fatalf("serializable: %s: %s", r.Verdict, r.Summary)
	}
}

func TestLinearizableKeysGSingle(t *testing.T) {
	// T1 left x = 1 before T2 wrote x = 2; R saw T2's y but T1's x.
	evs := new(hb).tx(1, 0, 10, history.OK, `[["w","x",1]]`).tx(2, 20, 30, history.OK, `[["w","x",2],["w","y",5]]`).
		tx(3, 5, 100, history.OK, `[["r","x",1],["r","y",5]]`).sorted()
	if r := check(t, RWRegister, StrictSerializable, evs, ""); r.Verdict != checkers.Valid {
		t.Fatalf("without linearizable keys: %s: %s", r.Verdict, r.Summary)
	}
	c, _ := New(RWRegister, WithModel(StrictSerializable), WithLinearizableKeys(true))
	r := c.Check(context.Background(), checkers.NewInput(evs, ""))
	if r.Verdict != checkers.Invalid || r.Stats["anomaly_"+GSingle] == 0 || !strings.Contains(r.Explanation, "(linearizable keys)") {
		t.Fatalf("with linearizable keys: %s: %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
	t.Log(r.Explanation)
}

// Elle's histories/si-without-g-single.edn (its
// intermediate-sequential-extension-test expects exactly G2-item, ruling
// out repeatable read and not snapshot isolation): appends no read shows
// come after every element read.
func TestElleSIWithoutGSingle(t *testing.T) {
	evs := new(hb).ok(2, `[["append",9,2]]`).ok(4, `[["append",8,1],["r",9,null]]`).
		ok(7, `[["r",6,null],["r",8,null],["append",9,5]]`).ok(9, `[["append",6,2],["r",9,[2]]]`).sorted()
	for m, want := range map[Model]checkers.Verdict{SnapshotIsolation: checkers.Valid, RepeatableRead: checkers.Invalid, Serializable: checkers.Invalid} {
		r := check(t, ListAppend, m, evs, "")
		if r.Verdict != want {
			t.Errorf("%s: %s, want %s: %s\n%s", m, r.Verdict, want, r.Summary, r.Explanation)
		}
		d := r.Details.(*Details)
		if len(d.Counts) != 1 || d.Counts[G2Item] == 0 {
			t.Errorf("%s: anomalies %v, want G2-item only", m, d.Counts)
		}
		if got := strings.Join(d.RuledOut, ","); got != "strict-serializable,serializable,repeatable-read" {
			t.Errorf("%s: ruled out %s", m, got)
		}
	}
	if r := check(t, ListAppend, Serializable, evs, ""); r.Stats["edges_rw"] != 4 || r.Stats["edges_ww"] != 1 || r.Stats["edges_wr"] != 1 {
		t.Errorf("edges %v (Elle: T1 ww T3, T1 wr T4, T2 rw T1, T3 rw T2, T3 rw T4, T4 rw T3)", r.Stats)
	}
}

// Histories from Elle's own tests (test/elle/list_append_test.clj), with
// the anomalies and the models Elle says they rule out.
func TestElleListAppendCases(t *testing.T) {
	for _, c := range []struct {
		name  string
		h     *hb
		types []string // exactly the anomaly types found
		model Model    // checked under
		want  checkers.Verdict
	}{
		// lost-update-test: both read [0] and append; neither is seen,
		// so each also anti-depends on the other (G2-item).
		{"lost-update", new(hb).ok(0, `[["append","x",0]]`).ok(1, `[["r","x",[0]],["append","x",1]]`).ok(2, `[["r","x",[0]],["append","x",2]]`),
			[]string{LostUpdate, G2Item}, StrictSerializable, checkers.Invalid},
		{"one txn, double write", new(hb).ok(0, `[["r","x",[]],["append","x",1],["append","x",2]]`).ok(1, `[["r","x",[1,2]]]`),
			nil, StrictSerializable, checkers.Valid},
		// unobserved-write-test: G-single and G0.
		{"unobserved write", new(hb).ok(1, `[["append","x",1],["append","y",1]]`).ok(2, `[["append","x",2],["append","y",2]]`).
			ok(3, `[["append","x",3],["append","y",3]]`).ok(4, `[["r","x",[1,2]]]`).ok(5, `[["r","y",[2]]]`),
			[]string{G0, GSingle}, Serializable, checkers.Invalid},
		// repeatable-read-test: G2-item, valid under read committed.
		{"repeatable read", new(hb).ok(1, `[["r","x",null],["append","y",1]]`).ok(2, `[["r","y",null],["append","x",1]]`),
			[]string{G2Item}, ReadCommitted, checkers.Valid},
		// G-nonadjacent-test.
		{"G-nonadjacent", new(hb).ok(1, `[["append","x",1]]`).ok(2, `[["r","x",[1]],["r","y",null]]`).ok(3, `[["append","y",1]]`).
			ok(4, `[["r","y",[1]],["r","x",null]]`), []string{GNonadjacent}, StrictSerializable, checkers.Invalid},
		// ... and Elle's rw rw wr rw wr case is valid under snapshot
		// isolation.
		{"rw rw wr rw wr", new(hb).ok(1, `[["r","x",[5]],["append","y",1]]`).ok(2, `[["r","y",null],["append","z",2]]`).
			ok(3, `[["r","z",null],["append","t",3]]`).ok(4, `[["r","t",[3]],["append","u",4]]`).ok(5, `[["r","u",null],["append","x",5]]`),
			nil, SnapshotIsolation, checkers.Valid},
		// rr-g-single-item-test: rules out consistent view (so snapshot
		// isolation) and repeatable read.
		{"G-single-item", new(hb).ok(1, `[["append","x",1],["append","y",1]]`).ok(2, `[["r","x",[1]],["r","y",null]]`),
			[]string{GSingle}, RepeatableRead, checkers.Invalid},
		// future-read-test.
		{"future read", new(hb).ok(0, `[["r","x",[1]],["append","x",1]]`), []string{FutureRead}, ReadCommitted, checkers.Invalid},
	} {
		r := check(t, ListAppend, c.model, c.h.sorted(), "")
		var got []string
		for typ := range r.Details.(*Details).Counts {
			got = append(got, typ)
		}
		slices.Sort(got)
		want := slices.Clone(c.types)
		slices.Sort(want)
		if r.Verdict != c.want || !slices.Equal(got, want) {
			t.Errorf("%s: %s with %v, want %s with %v: %s\n%s", c.name, r.Verdict, got, c.want, want, r.Summary, r.Explanation)
		}
	}
}

// A search cut short by its budget cannot pass a history whose model
// forbids what it may have missed.
func TestSearchBudgetCut(t *testing.T) {
	evs := withEdge(new(hb).ok(1, `[["r","x",[]],["append","y",1]]`).ok(2, `[["r","y",[]],["append","x",1]]`).
		ok(3, `[["r","x",[1]],["r","y",[1]]]`), ListAppend).sorted()
	if r := check(t, ListAppend, SnapshotIsolation, evs, ""); r.Verdict != checkers.Valid {
		t.Fatalf("full search: %s: %s", r.Verdict, r.Summary)
	}
	c, _ := New(ListAppend, WithModel(SnapshotIsolation), WithSearchBudget(1))
	r := c.Check(context.Background(), checkers.NewInput(evs, ""))
	if r.Verdict != checkers.Unknown || !strings.Contains(r.Summary, "ran out of budget") {
		t.Fatalf("cut search: %s: %s", r.Verdict, r.Summary)
	}
	// Under read committed nothing it forbids could have been missed.
	c, _ = New(ListAppend, WithModel(ReadCommitted), WithSearchBudget(1))
	if r := c.Check(context.Background(), checkers.NewInput(evs, "")); r.Verdict != checkers.Valid {
		t.Fatalf("read committed: %s: %s", r.Verdict, r.Summary)
	}
}

// Elle's histories/paper-example.edn, the paper's example: T2 -wr-> T3
// (255 ends with 8), T3 -ww-> T4 (T4's unobserved append to 256 follows
// T3's 4), T4 -rw-> T2 (T4 read 255 without 8): a G-single.
func TestEllePaperExample(t *testing.T) {
	evs := new(hb).ok(0, `[["append",253,1],["append",253,3],["append",253,4],["append",255,2],["append",255,3],["append",255,4],["append",255,5],["append",256,1],["append",256,2]]`).
		ok(1, `[["append",255,8],["r",253,[1,3,4]]]`).
		ok(2, `[["append",256,4],["r",255,[2,3,4,5,8]],["r",256,[1,2,4]],["r",253,[1,3,4]]]`).
		ok(3, `[["append",250,10],["r",253,[1,3,4]],["r",255,[2,3,4,5]],["append",256,3]]`).sorted()
	r := check(t, ListAppend, Serializable, evs, "")
	if r.Verdict != checkers.Invalid || len(r.Details.(*Details).Counts) != 1 || r.Stats["anomaly_"+GSingle] != 1 {
		t.Fatalf("%s: %s\n%s", r.Verdict, r.Summary, r.Explanation)
	}
	if r := check(t, ListAppend, ReadCommitted, evs, ""); r.Verdict != checkers.Valid {
		t.Fatalf("read committed: %s: %s", r.Verdict, r.Summary)
	}
}
