package queue

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

// hist builds a history by hand: each op is invoked and completed at the
// next ticks of a 1 ms clock, unless placed explicitly.
type hist struct {
	events []history.Event
	id     uint64
	now    int64
}

// op appends an operation; inv and done are its values as JSON ("" none).
func (h *hist) op(p int, f, key, inv string, t history.Type, done string) {
	h.at(p, f, key, inv, t, done, h.now+1e6, h.now+2e6)
	h.now += 2e6
}

func (h *hist) at(p int, f, key, inv string, t history.Type, done string, call, ret int64) {
	h.id++
	final := f == FDrain
	h.events = append(h.events, history.Event{Time: call, Type: history.Invoke, Process: history.Process(p), F: f, ID: h.id, Key: key, Data: raw(inv), Final: final})
	if t != history.Invoke { // Invoke: never completed
		h.events = append(h.events, history.Event{Time: ret, Type: t, Process: history.Process(p), F: f, ID: h.id, Key: key, Data: raw(done), Final: final})
	}
}

func raw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func (h *hist) fault(start, end int64) {
	h.events = append(h.events,
		history.Event{Time: start, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1 << 40, Fault: &history.Fault{Kind: "partition"}},
		history.Event{Time: end, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1 << 40})
}

func (h *hist) check(t *testing.T, c *Checker) checkers.Result {
	t.Helper()
	slices.SortStableFunc(h.events, func(a, b history.Event) int { return int(a.Time - b.Time) })
	// Through the JSON encoding, as a stored run is checked.
	var b strings.Builder
	for _, e := range h.events {
		line, _ := json.Marshal(e)
		b.Write(line)
		b.WriteByte('\n')
	}
	evs, _, err := history.Read(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return c.Check(context.Background(), checkers.NewInput(evs, ""))
}

const ok, fail, info = history.OK, history.Fail, history.Info

func want(t *testing.T, r checkers.Result, v checkers.Verdict, stats map[string]int, says ...string) {
	t.Helper()
	if r.Verdict != v {
		t.Fatalf("verdict %s, want %s: %s\n%s", r.Verdict, v, r.Summary, r.Explanation)
	}
	for k, n := range stats {
		if r.Stats[k] != n {
			t.Errorf("stats[%s] = %d, want %d (%v)", k, r.Stats[k], n, r.Stats)
		}
	}
	for _, s := range says {
		if !strings.Contains(r.Summary+"\n"+r.Explanation, s) {
			t.Errorf("result does not say %q:\n%s\n%s", s, r.Summary, r.Explanation)
		}
	}
}

func TestValidWithUnknownOutcomes(t *testing.T) {
	var h hist
	h.op(1, FEnqueue, "q", "1", ok, "")
	h.op(2, FEnqueue, "q", "2", info, "") // unknown, delivered: recovered
	h.op(3, FEnqueue, "q", "3", info, "") // unknown, never delivered: fine
	h.op(4, FEnqueue, "q", "4", fail, "")
	h.op(5, FEnqueue, "q", `"5"`, ok, "") // string form
	h.op(1, FDequeue, "q", "", ok, "1")
	h.op(1, FDequeue, "q", "", ok, "null") // empty queue
	h.op(1, FDequeue, "q", "", ok, "")
	h.op(6, FDequeue, "q", "", info, "") // unknown dequeue that took nothing
	h.op(7, FDequeue, "q", "", fail, "")
	h.op(1, FDequeue, "q", "", ok, "[2]")
	h.op(8, FDrain, "q", "", ok, "[5]")
	r := h.check(t, &Checker{})
	want(t, r, checkers.Valid, map[string]int{"lost": 0, "recovered": 1, "messages_acknowledged": 2, "enqueues_unknown": 2, "delivered": 1},
		"all 2 acknowledged messages", "1 enqueues with unknown outcome were delivered")
	d := r.Details.(Details)
	if len(d.Recovered) != 1 || d.Recovered[0].Message != 2 {
		t.Errorf("recovered %+v, want message 2", d.Recovered)
	}
	if d.Delivery.FinalOnly != 1 || d.Delivery.Undelivered != 1 {
		t.Errorf("delivery %+v: want message 5 delivered by the drain only", d.Delivery)
	}
}

func TestLost(t *testing.T) {
	var h hist
	h.op(1, FEnqueue, "q", "1", ok, "")
	h.op(1, FEnqueue, "q", "2", ok, "")
	h.op(1, FEnqueue, "r", "3", ok, "")
	h.op(2, FDequeue, "q", "", ok, "1")
	h.op(3, FDrain, "q", "", ok, "[]")
	h.op(3, FDrain, "r", "", ok, "[3]")
	r := h.check(t, &Checker{})
	want(t, r, checkers.Invalid, map[string]int{"lost": 1}, "1 lost (2)", "queue q: message 2 was acknowledged by enqueue op 2")
	if d := r.Details.(Details); len(d.Lost) != 1 || d.Lost[0].Queue != "q" || d.Lost[0].Enqueue.ID != 2 {
		t.Errorf("lost %+v", d.Lost)
	}
}

// A message enqueued in one queue and dequeued from another is lost from
// the first and unexpected in the second.
func TestWrongQueue(t *testing.T) {
	var h hist
	h.op(1, FEnqueue, "a", "1", ok, "")
	h.op(2, FDequeue, "b", "", ok, "1")
	h.op(3, FDrain, "a", "", ok, "[]")
	h.op(3, FDrain, "b", "", ok, "[]")
	want(t, h.check(t, &Checker{}), checkers.Invalid, map[string]int{"lost": 1, "unexpected": 1},
		"queue a: message 1 was acknowledged", "queue b: message 1 was delivered by dequeue op 2 (process 2, 0.003-0.004s, ok) but never enqueued")
}

func TestNoDrainIsUnknownNotValid(t *testing.T) {
	var h hist
	h.op(1, FEnqueue, "q", "1", ok, "")
	h.op(1, FEnqueue, "q", "2", ok, "")
	h.op(2, FDequeue, "q", "", ok, "1")
	want(t, h.check(t, &Checker{}), checkers.Unknown, map[string]int{"queues_not_drained": 1, "acknowledged_unverified": 1, "lost": 0},
		"lost messages cannot be looked for")

	// Every message delivered: still nothing to say about loss... but
	// nothing is missing either, which needs no drain.
	var g hist
	g.op(1, FEnqueue, "q", "1", ok, "")
	g.op(2, FDequeue, "q", "", ok, "1")
	want(t, g.check(t, &Checker{}), checkers.Valid, nil)

	// A failed drain is no drain.
	h.op(3, FDrain, "q", "", fail, "")
	want(t, h.check(t, &Checker{}), checkers.Unknown, map[string]int{"queues_not_drained": 1})
}

func TestDuplicated(t *testing.T) {
	var h hist
	h.op(1, FEnqueue, "q", "1", ok, "")
	h.op(1, FEnqueue, "q", "2", ok, "")
	h.op(2, FDequeue, "q", "", ok, "[1,2]")
	h.op(3, FDequeue, "q", "", ok, "2")
	h.op(4, FDrain, "q", "", ok, "[]")
	want(t, h.check(t, &Checker{}), checkers.Invalid, map[string]int{"duplicated": 1, "lost": 0},
		"1 duplicated (2)", "message 2 was delivered 2 times: dequeue op 3", "dequeue op 4")
	// At least once: duplicates are counted, not an anomaly.
	want(t, h.check(t, &Checker{AtLeastOnce: true}), checkers.Valid, map[string]int{"duplicated": 1}, "allowed: at least once")

	// The drain counts as a delivery.
	var g hist
	g.op(1, FEnqueue, "q", "1", ok, "")
	g.op(2, FDequeue, "q", "", ok, "1")
	g.op(4, FDrain, "q", "", ok, "[1]")
	want(t, g.check(t, &Checker{}), checkers.Invalid, map[string]int{"duplicated": 1}, "drain op 3")
}

func TestUnexpected(t *testing.T) {
	var h hist
	h.op(1, FEnqueue, "q", "1", fail, "")
	h.op(2, FDequeue, "q", "", ok, "[1,99]")
	h.op(4, FDrain, "q", "", ok, "[]")
	r := h.check(t, &Checker{})
	want(t, r, checkers.Invalid, map[string]int{"unexpected": 2},
		"message 1 was delivered by dequeue op 2 (process 2, 0.003-0.004s, ok) but its enqueue failed: enqueue op 1 (process 1, 0.001-0.002s, fail)", "message 99 was delivered by dequeue op 2 (process 2, 0.003-0.004s, ok) but never enqueued")
}

// An info dequeue that reported nothing may have taken a message: the
// missing message is then possibly taken (unknown), unless more are
// missing than such dequeues could take, or taken messages come back.
func TestUnknownDequeues(t *testing.T) {
	var h hist
	h.op(1, FEnqueue, "q", "1", ok, "")
	h.op(1, FEnqueue, "q", "2", ok, "")
	h.op(1, FEnqueue, "q", "3", ok, "")
	h.op(2, FDequeue, "q", "", info, "")
	h.op(3, FDequeue, "q", "", info, "[3]") // received, ack in doubt: a delivery
	h.op(4, FDrain, "q", "", ok, "[]")
	want(t, h.check(t, &Checker{}), checkers.Invalid, map[string]int{"lost": 2}, "more messages are missing than the dequeues with unknown outcome could have taken (1)",
		"up to 1 of the lost may have been taken by dequeues with unknown outcome")
	want(t, h.check(t, &Checker{Batch: 2}), checkers.Unknown, map[string]int{"possibly_taken_by_unknown_dequeues": 2, "lost": 0}, "may have taken them")
	want(t, h.check(t, &Checker{Batch: 2, Redelivers: true}), checkers.Invalid, map[string]int{"lost": 2})

	// A drain of unknown outcome may have taken anything.
	var g hist
	g.op(1, FEnqueue, "q", "1", ok, "")
	g.op(4, FDrain, "q", "", info, "")
	g.op(5, FDrain, "q", "", ok, "[]")
	want(t, g.check(t, &Checker{}), checkers.Unknown, map[string]int{"possibly_taken_by_unknown_dequeues": 1})
}

func TestMalformedAndEmpty(t *testing.T) {
	var h hist
	want(t, h.check(t, &Checker{}), checkers.Skipped, nil)
	h.op(1, FEnqueue, "q", `{"x":1}`, ok, "")
	h.op(1, FEnqueue, "q", "2", ok, "")
	h.op(1, FEnqueue, "q", "2", ok, "") // a reused value says nothing
	h.op(2, FDequeue, "q", "", ok, "2")
	h.op(4, FDrain, "q", "", ok, "[]")
	want(t, h.check(t, &Checker{}), checkers.Unknown, map[string]int{"malformed_ops": 2}, "2 operations carried no readable message")
}

// Delivery latency is split by whether the wait overlapped a fault, and
// plotted into the run directory.
func TestDeliveryLatency(t *testing.T) {
	var h hist
	ms := int64(1e6)
	h.at(1, FEnqueue, "q", "1", ok, "", 0, 1*ms)      // delivered at 11 ms: outside
	h.at(1, FEnqueue, "q", "2", ok, "", 2*ms, 3*ms)   // delivered at 503 ms: through the fault
	h.at(2, FDequeue, "q", "", ok, "1", 10*ms, 11*ms) //
	h.at(2, FDequeue, "q", "", ok, "2", 500*ms, 503*ms)
	h.fault(100*ms, 400*ms)
	h.at(3, FDrain, "q", "", ok, "[]", 600*ms, 601*ms)
	slices.SortStableFunc(h.events, func(a, b history.Event) int { return int(a.Time - b.Time) })
	dir := t.TempDir()
	r := (&Checker{}).Check(context.Background(), checkers.NewInput(h.events, dir))
	want(t, r, checkers.Valid, map[string]int{"delivered_outside_faults": 1, "delivered_during_faults": 1,
		"delivery_p50_us_outside_faults": 10000, "delivery_max_us_during_faults": 500000})
	if got := (&Checker{}).Deliveries(context.Background(), checkers.NewInput(h.events, dir)); len(got) != 2 || got[0].Delivered-got[0].Ack != 10*ms {
		t.Errorf("Deliveries = %+v", got)
	}
	if len(r.Artifacts) != 2 {
		t.Fatalf("artifacts %v", r.Artifacts)
	}
	for _, f := range r.Artifacts {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("artifact %s: %v", f, err)
		}
	}
}
