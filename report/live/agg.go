package live

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"os"
	"slices"

	"github.com/faultline/faultline/history"
)

// Series is the load per second of the history: index i covers
// [i, i+1) seconds after the load began, by completion time.
type Series struct {
	OK   []int `json:"ok"`
	Fail []int `json:"fail"`
	Info []int `json:"info"`
	// P50MS and P99MS are the latencies of the operations that completed
	// ok in that second (null when none did).
	P50MS []*float64 `json:"p50_ms"`
	P99MS []*float64 `json:"p99_ms"`
	// Availability is ok / completed in that second (null when none
	// completed).
	Availability []*float64 `json:"availability"`
}

// Len is the number of seconds covered.
func (s Series) Len() int { return len(s.OK) }

// Window is a fault window, in seconds since the load began; End is null
// while the fault is still in place.
type Window struct {
	Kind  string   `json:"kind"`
	Nodes []string `json:"nodes,omitempty"`
	Start float64  `json:"start_s"`
	End   *float64 `json:"end_s"`
}

// aggregator reads history.jsonl incrementally: each call reads what was
// appended since the last (complete lines only) and folds it in.
type aggregator struct {
	path    string
	offset  int64
	invokes map[uint64]int64
	ok      []int
	fail    []int
	info    []int
	lat     [][]float64 // ok latencies (ms) per second, sorted when read
	faults  []Window
	open    map[uint64]int
	last    int64
}

func newAggregator() *aggregator { return &aggregator{} }

func (a *aggregator) reset(path string) {
	*a = aggregator{path: path, invokes: map[uint64]int64{}, open: map[uint64]int{}}
}

func (a *aggregator) update(path string) (Series, []Window, float64) {
	if a.path != path {
		a.reset(path)
	}
	if st, err := os.Stat(path); err != nil || st.Size() < a.offset {
		a.reset(path) // gone, or a new file: start over
	}
	if f, err := os.Open(path); err == nil {
		if _, err := f.Seek(a.offset, io.SeekStart); err == nil {
			b, _ := io.ReadAll(f)
			if end := bytes.LastIndexByte(b, '\n'); end >= 0 {
				a.fold(b[:end+1])
				a.offset += int64(end + 1)
			}
		}
		f.Close()
	}
	return a.series(), slices.Clone(a.faults), float64(a.last) / 1e9
}

func (a *aggregator) fold(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b[:i]
		b = b[i+1:]
		var e history.Event
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &e) != nil {
			continue
		}
		a.last = max(a.last, e.Time)
		if e.IsNemesis() {
			a.nemesis(&e)
			continue
		}
		if e.Type == history.Invoke {
			a.invokes[e.ID] = e.Time
			continue
		}
		call, ok := a.invokes[e.ID]
		if !ok {
			continue
		}
		delete(a.invokes, e.ID)
		sec := int(max(e.Time, 0) / 1e9)
		for len(a.ok) <= sec {
			a.ok, a.fail, a.info, a.lat = append(a.ok, 0), append(a.fail, 0), append(a.info, 0), append(a.lat, nil)
		}
		switch e.Type {
		case history.OK:
			a.ok[sec]++
			a.lat[sec] = append(a.lat[sec], float64(e.Time-call)/1e6)
		case history.Fail:
			a.fail[sec]++
		default:
			a.info[sec]++
		}
	}
}

// nemesis folds a fault event as history.Faults does: a window opens with
// the invoke of a start and closes with the completion of its stop.
func (a *aggregator) nemesis(e *history.Event) {
	t := float64(e.Time) / 1e9
	j, isOpen := a.open[e.ID]
	switch {
	case e.F == history.FStart && e.Type == history.Invoke:
		w := Window{Start: t}
		if e.Fault != nil {
			w.Kind, w.Nodes = e.Fault.Kind, e.Fault.Nodes
		}
		a.open[e.ID] = len(a.faults)
		a.faults = append(a.faults, w)
	case e.F == history.FStart && isOpen && e.Type == history.Fail:
		a.faults = slices.Delete(a.faults, j, j+1) // never took effect
		delete(a.open, e.ID)
		for id, k := range a.open {
			if k > j {
				a.open[id] = k - 1
			}
		}
	case e.F == history.FStart && isOpen && e.Fault != nil:
		a.faults[j].Kind, a.faults[j].Nodes = e.Fault.Kind, e.Fault.Nodes
	case e.F == history.FStop && isOpen && e.Type != history.Invoke:
		a.faults[j].End = &t
		delete(a.open, e.ID)
	}
}

func (a *aggregator) series() Series {
	n := len(a.ok)
	s := Series{OK: slices.Clone(a.ok), Fail: slices.Clone(a.fail), Info: slices.Clone(a.info),
		P50MS: make([]*float64, n), P99MS: make([]*float64, n), Availability: make([]*float64, n)}
	for i := range n {
		if l := a.lat[i]; len(l) > 0 {
			slices.Sort(l)
			s.P50MS[i], s.P99MS[i] = ptr(quantile(l, 0.5)), ptr(quantile(l, 0.99))
		}
		if done := a.ok[i] + a.fail[i] + a.info[i]; done > 0 {
			s.Availability[i] = ptr(float64(a.ok[i]) / float64(done))
		}
	}
	return s
}

// quantile of sorted values, nearest rank.
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ptr(f float64) *float64 { return &f }
