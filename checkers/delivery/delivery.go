// Package delivery holds what the queue and log checkers share: reading the
// integer messages their operations carry, and the delivery-latency
// measurement (a message's acknowledgement to its first delivery to a
// consumer), split inside and outside fault windows and plotted.
package delivery

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline/faultline/history"
)

// Sample is one delivered message: when its send was acknowledged and when a
// consumer first received it (the completion of the receiving operation),
// both in history time (ns).
type Sample struct {
	Ack       int64
	Delivered int64
}

// Latency is a set of delivery latencies in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

// Measurement is the delivery latency of a run. A message is during faults
// when the stretch from its acknowledgement to its delivery overlaps a fault
// window: it is the waiting through a partition or a restart that matters,
// not where the acknowledgement fell.
type Measurement struct {
	Overall Latency `json:"overall"`
	Outside Latency `json:"outside_faults"`
	During  Latency `json:"during_faults"`
	// Acknowledged messages no consumer received during the load (some may
	// have been read only by the final drain / read-all: FinalOnly).
	Undelivered int `json:"undelivered,omitempty"`
	FinalOnly   int `json:"final_only,omitempty"`
	// BeforeAck counts messages delivered before their acknowledgement
	// reached the producer (latency counted as 0).
	BeforeAck int `json:"delivered_before_ack,omitempty"`
	// Series is p50 and p99 per BucketS seconds of acknowledgement (1 s, wider
	// for runs over maxBuckets seconds), for a report that plots delivery
	// latency over time from summary.json alone.
	BucketS float64  `json:"bucket_s,omitempty"`
	Series  []Second `json:"series,omitempty"`
}

// Second is the delivery latency of the messages acknowledged in one bucket
// of time, [StartS, StartS+width).
type Second struct {
	StartS float64 `json:"start_s"`
	Count  int     `json:"count"`
	P50    float64 `json:"p50_ms"`
	P99    float64 `json:"p99_ms"`
}

// maxBuckets bounds Series: a run of an hour gets buckets of 6 s, not 3600
// entries in summary.json.
const maxBuckets = 600

// PerSecond is the p50 and p99 of the samples' latencies per width seconds
// of acknowledgement, buckets with no sample left out.
func PerSecond(samples []Sample, width float64) []Second {
	width = math.Max(width, 1e-3)
	per := map[int][]float64{}
	hi := -1
	for _, s := range samples {
		b := int(float64(s.Ack) / 1e9 / width)
		if b < 0 {
			continue
		}
		per[b] = append(per[b], math.Max(float64(s.Delivered-s.Ack)/1e6, 0))
		hi = max(hi, b)
	}
	var out []Second
	for b := 0; b <= hi; b++ {
		if ls := per[b]; len(ls) > 0 {
			l := Percentiles(ls)
			out = append(out, Second{StartS: round(float64(b) * width), Count: l.Count, P50: l.P50, P99: l.P99})
		}
	}
	return out
}

// Measure computes the delivery latency of samples around faults.
func Measure(samples []Sample, faults []history.Window) Measurement {
	var m Measurement
	all := make([]float64, 0, len(samples))
	var in, out []float64
	for _, s := range samples {
		ms := float64(s.Delivered-s.Ack) / 1e6
		if ms < 0 {
			m.BeforeAck++
			ms = 0
		}
		all = append(all, ms)
		if Overlaps(s.Ack, s.Delivered, faults) {
			in = append(in, ms)
		} else {
			out = append(out, ms)
		}
	}
	m.Overall, m.Outside, m.During = Percentiles(all), Percentiles(out), Percentiles(in)
	if len(samples) > 0 {
		last := 0.0
		for _, s := range samples {
			last = math.Max(last, float64(s.Ack)/1e9)
		}
		m.BucketS = math.Max(1, math.Ceil(last/maxBuckets))
		m.Series = PerSecond(samples, m.BucketS)
	}
	return m
}

// Overlaps reports whether [a, b] meets one of the windows.
func Overlaps(a, b int64, faults []history.Window) bool {
	if b < a {
		a, b = b, a
	}
	for _, w := range faults {
		if a <= w.End && b >= w.Start {
			return true
		}
	}
	return false
}

// Percentiles summarises ms (sorted in place), nearest rank.
func Percentiles(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	slices.Sort(ms)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ms)))) - 1
		return round(ms[max(0, min(i, len(ms)-1))])
	}
	return Latency{Count: len(ms), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: round(ms[len(ms)-1])}
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

// AddStats puts the measurement into a checker's Stats, in microseconds
// (Stats holds integers): delivery_p50_us, delivery_p50_us_outside_faults,
// delivery_p50_us_during_faults, ... and the counts.
func (m Measurement) AddStats(stats map[string]int) {
	for _, s := range []struct {
		suffix string
		l      Latency
	}{{"", m.Overall}, {"_outside_faults", m.Outside}, {"_during_faults", m.During}} {
		stats["delivered"+s.suffix] = s.l.Count
		if s.l.Count == 0 {
			continue
		}
		for _, p := range []struct {
			name string
			v    float64
		}{{"p50", s.l.P50}, {"p90", s.l.P90}, {"p99", s.l.P99}, {"max", s.l.Max}} {
			stats["delivery_"+p.name+"_us"+s.suffix] = int(math.Round(p.v * 1000))
		}
	}
	if m.Undelivered > 0 {
		stats["acknowledged_not_delivered_during_load"] = m.Undelivered
	}
	if m.BeforeAck > 0 {
		stats["delivered_before_ack"] = m.BeforeAck
	}
}

// Int reads a message: a JSON integer, or a JSON string holding one (the
// string form is Event.Value). ok is false for anything else.
func Int(b []byte) (int64, bool) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

// Ints reads a received value: null or nothing (no message), one integer, or
// an array of integers (a batch). ok is false when it is none of these.
func Ints(b []byte, dst []int64) ([]int64, bool) {
	s := scanner{b: b}
	s.space()
	if s.eof() || s.lit("null") {
		s.space()
		return dst, s.eof()
	}
	if s.peek() != '[' {
		n, ok := s.int()
		s.space()
		return append(dst, n), ok && s.eof()
	}
	s.i++
	s.space()
	if s.peek() == ']' {
		s.i++
		s.space()
		return dst, s.eof()
	}
	for {
		s.space()
		n, ok := s.int()
		if !ok {
			return dst, false
		}
		dst = append(dst, n)
		s.space()
		switch s.next() {
		case ',':
		case ']':
			s.space()
			return dst, s.eof()
		default:
			return dst, false
		}
	}
}

// Pair is one record of a log: an offset and the message stored there.
type Pair struct{ Offset, Value int64 }

// Pairs reads a poll's records, [[offset, value], ...]; null or nothing is
// no record. ok is false for anything else.
func Pairs(b []byte, dst []Pair) ([]Pair, bool) {
	s := scanner{b: b}
	s.space()
	if s.eof() || s.lit("null") {
		s.space()
		return dst, s.eof()
	}
	if s.next() != '[' {
		return dst, false
	}
	s.space()
	if s.peek() == ']' {
		s.i++
		s.space()
		return dst, s.eof()
	}
	for {
		s.space()
		p, ok := s.pair()
		if !ok {
			return dst, false
		}
		dst = append(dst, p)
		s.space()
		switch s.next() {
		case ',':
		case ']':
			s.space()
			return dst, s.eof()
		default:
			return dst, false
		}
	}
}

// PairOf reads one [offset, value] record.
func PairOf(b []byte) (Pair, bool) {
	s := scanner{b: b}
	s.space()
	p, ok := s.pair()
	s.space()
	return p, ok && s.eof()
}

// StreamPairs reads a poll over several streams, {"stream": [[offset,
// value], ...], ...}. It is the rare shape, so encoding/json reads it.
func StreamPairs(b []byte) (map[string][]Pair, bool) {
	var raw map[string][][2]json.Number
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, false
	}
	out := make(map[string][]Pair, len(raw))
	for k, ps := range raw {
		for _, p := range ps {
			o, err1 := p[0].Int64()
			v, err2 := p[1].Int64()
			if err1 != nil || err2 != nil {
				return nil, false
			}
			out[k] = append(out[k], Pair{o, v})
		}
	}
	return out, true
}

// scanner reads the few JSON shapes above without encoding/json: a checker
// of a million messages parses every operation.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) eof() bool { return s.i >= len(s.b) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) next() byte {
	c := s.peek()
	s.i++
	return c
}

func (s *scanner) space() {
	for !s.eof() && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *scanner) lit(l string) bool {
	if len(s.b)-s.i >= len(l) && string(s.b[s.i:s.i+len(l)]) == l {
		s.i += len(l)
		return true
	}
	return false
}

func (s *scanner) int() (int64, bool) {
	neg := false
	if s.peek() == '-' {
		neg = true
		s.i++
	}
	start := s.i
	var n int64
	for !s.eof() && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if n > (math.MaxInt64-9)/10 {
			return 0, false
		}
		n = n*10 + int64(s.b[s.i]-'0')
		s.i++
	}
	if s.i == start {
		return 0, false
	}
	if c := s.peek(); c == '.' || c == 'e' || c == 'E' {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func (s *scanner) pair() (Pair, bool) {
	if s.next() != '[' {
		return Pair{}, false
	}
	s.space()
	o, ok := s.int()
	if !ok {
		return Pair{}, false
	}
	s.space()
	if s.next() != ',' {
		return Pair{}, false
	}
	s.space()
	v, ok := s.int()
	if !ok {
		return Pair{}, false
	}
	s.space()
	if s.next() != ']' {
		return Pair{}, false
	}
	return Pair{o, v}, true
}

// Message reads the message an enqueue or send carries: Value when it is a
// string, else Data (a JSON integer).
func Message(op *history.Op) (int64, bool) {
	if op.Value != "" {
		return Int([]byte(op.Value))
	}
	return Int(op.Data)
}

// Op names an operation in a finding.
type Op struct {
	ID      uint64          `json:"id"`
	Process history.Process `json:"process"`
	F       string          `json:"f"`
	Type    history.Type    `json:"type"`
	Node    string          `json:"node,omitempty"`
	CallS   float64         `json:"call_s"`
	ReturnS float64         `json:"return_s"` // -1: never completed
}

// OpOf describes op for a finding.
func OpOf(op *history.Op) Op {
	r := -1.0
	if op.Return >= 0 {
		r = Seconds(op.Return)
	}
	return Op{ID: op.ID, Process: op.Process, F: op.F, Type: op.Type, Node: op.Node, CallS: Seconds(op.Call), ReturnS: r}
}

func (o Op) String() string {
	node := ""
	if o.Node != "" {
		node = " on node " + o.Node
	}
	if o.ReturnS < 0 {
		return fmt.Sprintf("%s op %d (process %s%s, %.3fs, never completed)", o.F, o.ID, o.Process, node, o.CallS)
	}
	return fmt.Sprintf("%s op %d (process %s%s, %.3f-%.3fs, %s)", o.F, o.ID, o.Process, node, o.CallS, o.ReturnS, o.Type)
}

// Seconds is a history time in seconds, to the millisecond.
func Seconds(ns int64) float64 { return float64(ns/1e6) / 1e3 }

// List shows at most n of xs, and how many more there are.
func List[T any](xs []T, n int) string {
	var b strings.Builder
	for i, x := range xs {
		if i == n {
			fmt.Fprintf(&b, " ... (%d more)", len(xs)-n)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, x)
	}
	return b.String()
}

// Millis are the samples' latencies in milliseconds (a negative one, a
// delivery before the acknowledgement arrived, as 0).
func Millis(samples []Sample) []float64 {
	out := make([]float64, len(samples))
	for i, s := range samples {
		out[i] = max(float64(s.Delivered-s.Ack)/1e6, 0)
	}
	return out
}
