package delivery

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/faultline/faultline/history"
)

func TestInts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int64
		ok   bool
	}{
		{"", nil, true}, {"null", nil, true}, {" null ", nil, true}, {"[]", nil, true}, {" [ ] ", nil, true},
		{"7", []int64{7}, true}, {"-3", []int64{-3}, true}, {"[7,9]", []int64{7, 9}, true}, {"[ 7 , 9 ]", []int64{7, 9}, true},
		{`"7"`, nil, false}, {"7.5", nil, false}, {"1e3", nil, false}, {"[7,", nil, false}, {"[7 9]", nil, false},
		{"[7]x", nil, false}, {"{}", nil, false}, {"99999999999999999999", nil, false}, {"[[1,2]]", nil, false},
	} {
		got, ok := Ints([]byte(c.in), nil)
		if ok != c.ok || (ok && !slices.Equal(got, c.want)) {
			t.Errorf("Ints(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestPairs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Pair
		ok   bool
	}{
		{"", nil, true}, {"null", nil, true}, {"[]", nil, true},
		{"[[0,7]]", []Pair{{0, 7}}, true}, {"[[0, 7], [3,9]]", []Pair{{0, 7}, {3, 9}}, true},
		{"[0,7]", nil, false}, {"[[0]]", nil, false}, {"[[0,7,1]]", nil, false}, {`[[0,"7"]]`, nil, false}, {"[[0,7]", nil, false},
	} {
		got, ok := Pairs([]byte(c.in), nil)
		if ok != c.ok || (ok && !slices.Equal(got, c.want)) {
			t.Errorf("Pairs(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
	if p, ok := PairOf([]byte(" [4,5] ")); !ok || p != (Pair{4, 5}) {
		t.Errorf("PairOf = %v %v", p, ok)
	}
	m, ok := StreamPairs([]byte(`{"a":[[0,1],[1,2]],"b":[]}`))
	if !ok || !slices.Equal(m["a"], []Pair{{0, 1}, {1, 2}}) || len(m["b"]) != 0 {
		t.Errorf("StreamPairs = %v %v", m, ok)
	}
	if _, ok := StreamPairs([]byte(`{"a":[[0,1.5]]}`)); ok {
		t.Error("StreamPairs accepted a fraction")
	}
}

func TestMessage(t *testing.T) {
	for _, c := range []struct {
		op   history.Op
		want int64
		ok   bool
	}{
		{history.Op{Value: "12"}, 12, true}, {history.Op{Data: []byte("12")}, 12, true}, {history.Op{Data: []byte(`"12"`)}, 12, true},
		{history.Op{Value: "x"}, 0, false}, {history.Op{}, 0, false}, {history.Op{Data: []byte("[1]")}, 0, false},
	} {
		got, ok := Message(&c.op)
		if ok != c.ok || got != c.want {
			t.Errorf("Message(%+v) = %d %v", c.op, got, ok)
		}
	}
}

func TestMeasure(t *testing.T) {
	ms := int64(1e6)
	faults := []history.Window{{Kind: "kill", Start: 100 * ms, End: 200 * ms}}
	samples := []Sample{
		{Ack: 0, Delivered: 10 * ms},         // outside
		{Ack: 20 * ms, Delivered: 40 * ms},   // outside
		{Ack: 90 * ms, Delivered: 300 * ms},  // waited through the fault
		{Ack: 150 * ms, Delivered: 160 * ms}, // inside
		{Ack: 250 * ms, Delivered: 249 * ms}, // delivered before its ack: 0
	}
	m := Measure(samples, faults)
	if m.Overall.Count != 5 || m.Outside.Count != 3 || m.During.Count != 2 || m.BeforeAck != 1 {
		t.Fatalf("%+v", m)
	}
	if m.Outside.P50 != 10 || m.Outside.Max != 20 || m.During.P50 != 10 || m.During.Max != 210 || m.Overall.P90 != 210 {
		t.Errorf("%+v", m)
	}
	st := map[string]int{}
	m.AddStats(st)
	if st["delivery_p50_us_outside_faults"] != 10000 || st["delivery_max_us_during_faults"] != 210000 || st["delivered"] != 5 || st["delivered_before_ack"] != 1 {
		t.Errorf("stats %v", st)
	}
	if got := Millis(samples); !slices.Equal(got, []float64{10, 20, 210, 10, 0}) {
		t.Errorf("Millis = %v", got)
	}
	if z := Measure(nil, faults); z.Overall.Count != 0 {
		t.Errorf("empty: %+v", z)
	}
	if !Overlaps(300*ms, 90*ms, faults) || Overlaps(201*ms, 300*ms, faults) || !Overlaps(200*ms, 300*ms, faults) {
		t.Error("Overlaps")
	}
}

func TestWritePlot(t *testing.T) {
	dir := t.TempDir()
	ms := int64(1e6)
	var samples []Sample
	for i := range int64(3000) {
		samples = append(samples, Sample{Ack: i * ms, Delivered: i*ms + (1+i%50)*ms})
	}
	files, err := WritePlot(dir, "d", "delivery", samples, []history.Window{{Kind: "partition", Start: 1000 * ms, End: 2000 * ms}})
	if err != nil || !slices.Equal(files, []string{"d.png", "d.svg"}) {
		t.Fatalf("%v %v", files, err)
	}
	for _, f := range files {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := WritePlot(dir, "e", "empty", nil, nil); err != nil {
		t.Errorf("no samples: %v", err)
	}
}

// The series is p50 and p99 per second of acknowledgement, empty seconds
// left out; a run longer than maxBuckets seconds gets wider buckets.
func TestSeries(t *testing.T) {
	ms, sec := int64(1e6), int64(1e9)
	samples := []Sample{
		{Ack: 100 * ms, Delivered: 110 * ms}, // second 0: 10 ms
		{Ack: 900 * ms, Delivered: 930 * ms}, // second 0: 30 ms
		{Ack: 2*sec + 0, Delivered: 2*sec + 500*ms},
	}
	m := Measure(samples, nil)
	want := []Second{{StartS: 0, Count: 2, P50: 10, P99: 30}, {StartS: 2, Count: 1, P50: 500, P99: 500}}
	if m.BucketS != 1 || !slices.Equal(m.Series, want) {
		t.Errorf("bucket %v series %+v, want %+v", m.BucketS, m.Series, want)
	}
	p50, p99 := Lines(m.Series, m.BucketS)
	if len(p50) != 2 || p50[1].X != 2.5 || p99[0].Y != 30 {
		t.Errorf("lines %v %v", p50, p99)
	}
	long := Measure([]Sample{{Ack: 0, Delivered: ms}, {Ack: 1800 * sec, Delivered: 1800*sec + ms}}, nil)
	if long.BucketS != 3 || len(long.Series) != 2 || long.Series[1].StartS != 1800 {
		t.Errorf("an 1800 s run: bucket %v series %+v", long.BucketS, long.Series)
	}
}
