package checkers

import (
	"context"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
)

// measured is a history with a fault window from 1 s to 2 s: outside it,
// 100 ok operations of 10 ms; inside, 10 operations of 500 ms, half failed,
// and one final read, which neither measure counts.
func measured() []history.Event {
	var parts [][]history.Event
	id := uint64(1)
	for i := range 100 {
		at := int64(i) * 30e6 // 0 to 3 s, outside [1 s, 2 s]
		if at >= 1e9 && at <= 2e9 {
			continue
		}
		parts = append(parts, op(id, 0, W, "a", "v"+string(rune('a'+i%26))+string(rune('a'+i/26)), at, at+10e6, ok))
		id++
	}
	for i := range 10 {
		at := 1e9 + int64(i)*50e6
		t := ok
		if i%2 == 1 {
			t = fail
		}
		parts = append(parts, op(id, 1, R, "b", "", at, at+500e6, t))
		id++
	}
	parts = append(parts, final(id, 2, "b", "", 5e9, 6e9, ok))
	evs := hist(parts...)
	return append(evs,
		history.Event{Time: 1e9, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: "partition"}},
		history.Event{Time: 2e9, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition"}})
}

func TestAvailability(t *testing.T) {
	in := NewInput(measured(), "")
	r := (&Availability{}).Check(context.Background(), in)
	d := r.Details.(AvailabilityDetails)
	if r.Verdict != Valid || d.Outside.Ops != 67 || *d.Outside.Availability != 1 || d.During.Ops != 10 || *d.During.Availability != 0.5 {
		t.Fatalf("%s: %+v", r.Summary, d)
	}
	if len(d.Windows) != 1 || d.Windows[0].Kind != "partition" || d.Windows[0].Fail != 5 {
		t.Errorf("windows %+v", d.Windows)
	}
	if !strings.Contains(r.Summary, "50.00% of 10 during faults") {
		t.Errorf("summary %q", r.Summary)
	}
	if r := (&Availability{}).Check(context.Background(), NewInput(nil, "")); r.Verdict != Unknown {
		t.Errorf("no operations: %s", r.Verdict)
	}
}

func TestThresholds(t *testing.T) {
	in := NewInput(measured(), "")
	th := func(text, metric, op string, v float64, scope string) Threshold {
		return Threshold{Text: text, Metric: metric, Op: op, Value: v, Scope: scope}
	}
	for _, c := range []struct {
		list []Threshold
		want Verdict
	}{
		{[]Threshold{th("p99 < 200ms outside faults", "p99", "<", 200, ScopeOutside),
			th("availability > 0.99 outside faults", "availability", ">", 0.99, ScopeOutside)}, Valid},
		{[]Threshold{th("p99 < 200ms during faults", "p99", "<", 200, ScopeDuring)}, Invalid},
		{[]Threshold{th("availability >= 0.9 during faults", "availability", ">=", 0.9, ScopeDuring)}, Invalid},
		{[]Threshold{th("availability >= 0.5 during faults", "availability", ">=", 0.5, ScopeDuring)}, Valid},
		{[]Threshold{th("max <= 500ms", "max", "<=", 500, ScopeOverall)}, Valid},
		{[]Threshold{th("p50 > 20ms", "p50", ">", 20, ScopeOverall)}, Invalid},
		{nil, Skipped},
	} {
		r := (&Thresholds{List: c.list}).Check(context.Background(), in)
		if r.Verdict != c.want {
			t.Errorf("%v: %s, want %s (%s)\n%s", c.list, r.Verdict, c.want, r.Summary, r.Explanation)
		}
	}
	// Nothing in scope: unknown, never a pass.
	noFaults := NewInput(hist(op(1, 0, W, "a", "1", 0, 10, ok)), "")
	r := (&Thresholds{List: []Threshold{th("p99 < 1s during faults", "p99", "<", 1000, ScopeDuring)}}).Check(context.Background(), noFaults)
	if r.Verdict != Unknown {
		t.Errorf("during faults without faults: %s", r.Verdict)
	}
	// The explanation says what was measured.
	r = (&Thresholds{List: []Threshold{th("p99 < 200ms during faults", "p99", "<", 200, ScopeDuring)}}).Check(context.Background(), in)
	if !strings.Contains(r.Explanation, "missed: p99 < 200ms during faults (measured 500ms over 5 operations)") {
		t.Errorf("explanation %q", r.Explanation)
	}
}
