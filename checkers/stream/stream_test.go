package stream

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
func (h *hist) op(p int, f, key, inv string, t history.Type, done string) *history.Event {
	h.at(p, f, key, inv, t, done, h.now+1e6, h.now+2e6)
	h.now += 2e6
	return &h.events[len(h.events)-1]
}

func (h *hist) at(p int, f, key, inv string, t history.Type, done string, call, ret int64) {
	h.id++
	final := f == FReadAll
	h.events = append(h.events, history.Event{Time: call, Type: history.Invoke, Process: history.Process(p), F: f, ID: h.id, Key: key, Data: raw(inv), Final: final})
	if t != history.Invoke {
		h.events = append(h.events, history.Event{Time: ret, Type: t, Process: history.Process(p), F: f, ID: h.id, Key: key, Data: raw(done), Final: final})
	}
}

func raw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func (h *hist) check(t *testing.T, c *Checker) checkers.Result {
	t.Helper()
	slices.SortStableFunc(h.events, func(a, b history.Event) int { return int(a.Time - b.Time) })
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

// base: producer 1 sends 1, 2, 3 to stream s at offsets 0, 1, 2 (3 with its
// offset as the version), consumer 10 polls them in two polls.
func base() *hist {
	h := &hist{}
	h.op(1, FSend, "s", "1", ok, "[0,1]")
	h.op(1, FSend, "s", "2", ok, "[1,2]")
	h.op(1, FSend, "s", "3", ok, "").Version = json.RawMessage("2")
	h.op(10, FPoll, "s", "", ok, "[[0,1],[1,2]]")
	h.op(10, FPoll, "s", "", ok, "[[2,3]]")
	h.op(10, FPoll, "s", "", ok, "[]")
	return h
}

func TestValid(t *testing.T) {
	h := base()
	h.op(2, FSend, "s", "4", info, "") // unknown, read: recovered
	h.op(3, FSend, "s", "5", info, "") // unknown, never read
	h.op(4, FSend, "s", "6", fail, "") // failed, never read
	h.op(5, FSend, "s", "7", ok, "")   // acknowledged without an offset
	h.op(11, FPoll, "s", "", info, "") // unknown poll
	h.op(12, FPoll, "s", "", fail, "") // failed poll
	h.op(10, FAssign, "s", "", ok, "") // consumer 10 moves back
	h.op(10, FPoll, "s", "", ok, "[[1,2],[2,3],[3,4],[4,7]]")
	h.op(13, FPoll, "t", "", ok, "null") // an empty stream
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3],[3,4],[4,7]]")
	r := h.check(t, &Checker{})
	want(t, r, checkers.Valid, map[string]int{"sends_acknowledged": 4, "recovered": 1, "sends_unknown": 2, "sends_failed": 1, "delivered": 4},
		"all 4 acknowledged sends in 2 streams", "1 sends with unknown outcome were read")
}

func TestLost(t *testing.T) {
	h := base()
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[2,3]]")
	r := h.check(t, &Checker{})
	want(t, r, checkers.Invalid, map[string]int{"lost": 1}, "1 lost (2)", "stream s: message 2 was acknowledged by send op 2")
	if d := r.Details.(Details); len(d.Lost) != 1 || d.Lost[0].Value != 2 || !slices.Equal(d.Lost[0].Offsets, []int64{1}) {
		t.Errorf("lost %+v", d.Lost)
	}
}

func TestNoReadAllIsUnknown(t *testing.T) {
	want(t, base().check(t, &Checker{}), checkers.Unknown, map[string]int{"streams_not_read_at_the_end": 1, "acknowledged_unverified": 3},
		"lost messages cannot be looked for")
	h := base()
	h.op(20, FReadAll, "s", "", info, "")
	want(t, h.check(t, &Checker{}), checkers.Unknown, nil, "no successful final read-all (s)")
}

func TestDuplicate(t *testing.T) {
	h := base()
	h.op(11, FPoll, "s", "", ok, "[[0,1],[1,2],[2,3],[3,2]]")
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3],[3,2]]")
	want(t, h.check(t, &Checker{}), checkers.Invalid, map[string]int{"duplicates": 1, "inconsistent_offsets": 0},
		"1 duplicates (2)", "message 2 is stored at offsets 1, 3")
	want(t, h.check(t, &Checker{AtLeastOnce: true}), checkers.Valid, map[string]int{"duplicates": 1}, "allowed: at least once")
}

func TestReordered(t *testing.T) {
	var h hist
	h.op(1, FSend, "s", "1", ok, "")
	h.op(1, FSend, "s", "2", ok, "")
	h.op(2, FSend, "s", "3", ok, "")
	h.op(20, FReadAll, "s", "", ok, "[[0,2],[1,3],[2,1]]")
	r := h.check(t, &Checker{})
	// 3 was sent by another producer: only 1 and 2 are one producer's.
	want(t, r, checkers.Invalid, map[string]int{"reordered": 1}, "1 reordered (2 after 1)",
		"message 1 (send op 1 (process 1, 0.001-0.002s, ok)) was acknowledged before message 2 (send op 2 (process 1, 0.003-0.004s, ok)) was sent, but is stored after it: offset 2 > 0")

	// Concurrent sends (the second began before the first was acknowledged)
	// may be stored in either order.
	var g hist
	g.at(1, FSend, "s", "1", ok, "", 1e6, 5e6)
	g.at(1, FSend, "s", "2", ok, "", 2e6, 6e6)
	g.at(20, FReadAll, "s", "", ok, "[[0,2],[1,1]]", 7e6, 8e6)
	want(t, g.check(t, &Checker{}), checkers.Valid, nil)
}

func TestInconsistentOffsets(t *testing.T) {
	// Two consumers disagree on offset 1.
	h := base()
	h.op(11, FPoll, "s", "", ok, "[[0,1],[1,9],[2,3]]")
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	r := h.check(t, &Checker{})
	want(t, r, checkers.Invalid, map[string]int{"inconsistent_offsets": 1}, "stream s: offset 1 holds messages 2, 9")

	// An acknowledgement disagrees with the reads: offset 2 holds 3 by its
	// ack, 4 by the read, and 3 is read at 3.
	var g hist
	g.op(1, FSend, "s", "3", ok, "[2,3]")
	g.op(1, FSend, "s", "4", info, "")
	g.op(20, FReadAll, "s", "", ok, "[[2,4],[3,3]]")
	want(t, g.check(t, &Checker{}), checkers.Invalid, map[string]int{"inconsistent_offsets": 2},
		"offset 2 holds messages 3, 4", "message 3 was acknowledged at offset 2 but read at 3")
}

func TestPollSkip(t *testing.T) {
	h := base()
	h.op(11, FPoll, "s", "", ok, "[[0,1]]")
	h.op(11, FPoll, "s", "", ok, "[[2,3]]") // jumps over offset 1, never reads it
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	r := h.check(t, &Checker{})
	want(t, r, checkers.Invalid, map[string]int{"poll_skips": 1, "nonmonotonic_polls": 0},
		"stream s: process 11 read offset 0 then 2 (poll op 8", "skipping 1 offsets it never read: 1 holding 2")
	want(t, h.check(t, &Checker{SharedConsumers: true}), checkers.Valid, nil, "poll order not checked")

	// A skipped offset read later (out of order) is no skip, but the read
	// going back is non-monotonic.
	g := base()
	g.op(11, FPoll, "s", "", ok, "[[0,1],[2,3]]")
	g.op(11, FPoll, "s", "", ok, "[[1,2]]")
	g.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	want(t, g.check(t, &Checker{}), checkers.Invalid, map[string]int{"poll_skips": 0, "nonmonotonic_polls": 1})

	// Sparse offsets (never held a message) are no skip.
	var s hist
	s.op(1, FSend, "s", "1", ok, "[0,1]")
	s.op(1, FSend, "s", "2", ok, "[5,2]")
	s.op(10, FPoll, "s", "", ok, "[[0,1]]")
	s.op(10, FPoll, "s", "", ok, "[[5,2]]")
	s.op(20, FReadAll, "s", "", ok, "[[0,1],[5,2]]")
	want(t, s.check(t, &Checker{}), checkers.Valid, nil)

	// An unknown poll between two reads may have received the gap.
	u := base()
	u.op(11, FPoll, "s", "", ok, "[[0,1]]")
	u.op(11, FPoll, "s", "", info, "")
	u.op(11, FPoll, "s", "", ok, "[[2,3]]")
	u.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	want(t, u.check(t, &Checker{}), checkers.Valid, nil)
}

func TestNonMonotonic(t *testing.T) {
	h := base()
	h.op(10, FPoll, "s", "", ok, "[[1,2]]") // consumer 10 had read up to 2
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	want(t, h.check(t, &Checker{}), checkers.Invalid, map[string]int{"nonmonotonic_polls": 1},
		"1 non-monotonic polls (process 10 2 -> 1)", "process 10 read offset 1 after 2 (poll op 7")
	// Within one poll too.
	g := base()
	g.op(11, FPoll, "s", "", ok, "[[1,2],[0,1]]")
	g.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	want(t, g.check(t, &Checker{}), checkers.Invalid, map[string]int{"nonmonotonic_polls": 1})
	// After a seek it is fine, and the read-all is a fresh consumer.
	k := base()
	k.op(10, FSeek, "", "", ok, "")
	k.op(10, FPoll, "s", "", ok, "[[1,2]]")
	k.op(10, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	want(t, k.check(t, &Checker{}), checkers.Valid, nil)
}

func TestUnexpected(t *testing.T) {
	h := base()
	h.op(2, FSend, "s", "4", fail, "")
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3],[3,4],[4,99]]")
	want(t, h.check(t, &Checker{}), checkers.Invalid, map[string]int{"unexpected": 2},
		"message 4 was read at offset 3 but its send failed", "message 99 was read at offset 4 but never sent to this stream")
}

// A poll over several streams at once.
func TestMultiStreamPoll(t *testing.T) {
	var h hist
	h.op(1, FSend, "a", "1", ok, "[0,1]")
	h.op(1, FSend, "b", "2", ok, "[0,2]")
	h.op(1, FSend, "b", "3", ok, "[1,3]")
	h.op(10, FPoll, "", "", ok, `{"a":[[0,1]],"b":[[1,3]]}`)
	h.op(20, FReadAll, "a", "", ok, "[[0,1]]")
	h.op(20, FReadAll, "b", "", ok, "[[0,2],[1,3]]")
	want(t, h.check(t, &Checker{}), checkers.Valid, map[string]int{"streams": 2, "delivered": 2})
}

func TestMalformedAndEmpty(t *testing.T) {
	var h hist
	want(t, h.check(t, &Checker{}), checkers.Skipped, nil)
	h = *base()
	h.op(10, FPoll, "s", "", ok, `[[0,"x"]]`)
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	want(t, h.check(t, &Checker{}), checkers.Unknown, map[string]int{"malformed_ops": 1}, "1 operations carried no readable message")
}

func TestDeliveryPlot(t *testing.T) {
	h := base()
	h.op(20, FReadAll, "s", "", ok, "[[0,1],[1,2],[2,3]]")
	slices.SortStableFunc(h.events, func(a, b history.Event) int { return int(a.Time - b.Time) })
	dir := t.TempDir()
	r := (&Checker{}).Check(context.Background(), checkers.NewInput(h.events, dir))
	// Sent at 2, 4, 6 ms, polled at 8 and 10 ms.
	want(t, r, checkers.Valid, map[string]int{"delivered": 3, "delivered_outside_faults": 3, "delivery_p50_us": 4000, "delivery_max_us": 6000})
	if len(r.Artifacts) != 2 {
		t.Fatalf("artifacts %v", r.Artifacts)
	}
	for _, f := range r.Artifacts {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("artifact %s: %v", f, err)
		}
	}
}
