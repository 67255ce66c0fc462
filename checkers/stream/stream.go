// Package stream checks the history of a log workload (Kafka-like streams
// or partitions, NATS JetStream streams): every acknowledged send is in the
// log once, at one offset, in its producer's order, and consumers read it
// in order without skipping. It follows Jepsen's Kafka checker, one stream
// at a time, and measures delivery latency.
//
// The operations it reads (Key is the stream or partition; messages are
// integers, unique in their stream):
//
//	f "send"      invoke value 7; ok completion value [offset, 7], or the
//	              offset as the completion's version (an integer), or no
//	              offset at all when the system gives none; fail: the
//	              message is certainly not in the log; info: unknown.
//	f "poll"      invoke without a value; completion value the records the
//	              consumer (the process) received, in order:
//	              [[offset, value], ...] ([] or none: nothing new). A poll
//	              over several streams may give {"stream": [[o, v], ...]}.
//	f "assign"    (or "seek") the consumer's position in the stream (every
//	              stream when Key is empty) was moved: its next read need not
//	              follow the previous one.
//	f "read-all"  the final phase (final: true): a fresh consumer reads the
//	              whole stream from the start, value as a poll's; any ok
//	              read-all of a stream is complete, several add up.
//
// Findings, each naming its messages and offsets (Details lists at most
// 1000 of each kind, Stats has the totals):
//   - lost: an acknowledged send absent from the final read-all of its
//     stream. A stream with acknowledged sends and no ok read-all cannot
//     show loss: unknown, never valid by absence.
//   - duplicate: one message read at two offsets (the log holds it twice;
//     counted, not an anomaly, with AtLeastOnce).
//   - reordered: two acknowledged sends by one producer, the first
//     acknowledged before the second began, stored in the other order.
//   - inconsistent offset: one offset read (or acknowledged) with two
//     messages, or a message acknowledged at an offset it is never read at.
//   - poll skip: a consumer's successive reads jump over offsets that hold
//     messages, and it never reads those messages at all.
//   - non-monotonic poll: a consumer reads an offset at or below one it
//     read before, with no assign or seek in between.
//   - unexpected: a message read that was never sent there, or whose send
//     failed.
//   - recovered: a send with an unknown outcome that was read: counted.
//
// The poll-order findings assume each consumer process holds its own
// position in each stream (a Kafka assignment, a JetStream ordered
// consumer). Consumers sharing one position (a consumer group, a shared
// durable) each see part of the stream: SharedConsumers turns those
// findings off. An info poll ends the consumer's sequence (it may have
// received records nobody recorded); Faultline retires its process anyway.
package stream

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/delivery"
	"github.com/faultline/faultline/history"
)

// Operation functions of the log workload.
const (
	FSend    = "send"
	FPoll    = "poll"
	FAssign  = "assign"
	FSeek    = "seek"
	FReadAll = "read-all"
)

// Checker is the log checker.
type Checker struct {
	// AtLeastOnce says producers may write a message twice (retries
	// without idempotence): duplicates are counted, not an anomaly.
	AtLeastOnce bool
	// SharedConsumers says consumer processes share positions, so poll
	// skips and non-monotonic polls are not looked for.
	SharedConsumers bool
	// MaxExamples caps the findings explained in text (default 10).
	MaxExamples int
}

var _ checkers.Checker = (*Checker)(nil)

func (c *Checker) Name() string { return "log" }

const maxListed = 1000

// Details is the log checker's finding.
type Details struct {
	Lost         []Message      `json:"lost,omitempty"`
	Duplicates   []Message      `json:"duplicates,omitempty"`
	Unexpected   []Message      `json:"unexpected,omitempty"`
	Recovered    []Message      `json:"recovered,omitempty"`
	Reordered    []Reorder      `json:"reordered,omitempty"`
	Inconsistent []Inconsistent `json:"inconsistent_offsets,omitempty"`
	PollSkips    []Skip         `json:"poll_skips,omitempty"`
	NonMonotonic []Backwards    `json:"nonmonotonic_polls,omitempty"`
	// Unread are streams with acknowledged sends and no ok read-all.
	Unread    []string             `json:"streams_not_read_at_the_end,omitempty"`
	Malformed []delivery.Op        `json:"malformed,omitempty"`
	Delivery  delivery.Measurement `json:"delivery_latency"`
}

// Message is a finding about one message.
type Message struct {
	Stream  string       `json:"stream"`
	Value   int64        `json:"value"`
	Send    *delivery.Op `json:"send,omitempty"`
	Offsets []int64      `json:"offsets,omitempty"` // where it was read
	Reason  string       `json:"reason,omitempty"`
}

// Reorder is a pair of sends by one producer stored in the other order.
type Reorder struct {
	Stream       string      `json:"stream"`
	First        delivery.Op `json:"first"`
	FirstValue   int64       `json:"first_value"`
	FirstOffset  int64       `json:"first_offset"`
	Second       delivery.Op `json:"second"`
	SecondValue  int64       `json:"second_value"`
	SecondOffset int64       `json:"second_offset"`
}

// Inconsistent is an offset with several messages, or a message whose
// acknowledged offset is not where it was read.
type Inconsistent struct {
	Stream string  `json:"stream"`
	Offset int64   `json:"offset"`
	Values []int64 `json:"values,omitempty"`
	// Value, ReadAt: a message acknowledged at Offset and read only at
	// ReadAt.
	Value  *int64  `json:"value,omitempty"`
	ReadAt []int64 `json:"read_at,omitempty"`
}

// Skip is a consumer jumping from one offset to a later one over offsets
// it never read.
type Skip struct {
	Stream  string          `json:"stream"`
	Process history.Process `json:"process"`
	From    int64           `json:"from_offset"`
	To      int64           `json:"to_offset"`
	Poll    delivery.Op     `json:"poll"`
	Skipped []int64         `json:"skipped_offsets"`
	Values  []int64         `json:"skipped_values"`
	Count   int             `json:"skipped"`
}

// Backwards is a consumer reading an offset at or below one it read before.
type Backwards struct {
	Stream  string          `json:"stream"`
	Process history.Process `json:"process"`
	From    int64           `json:"from_offset"`
	To      int64           `json:"to_offset"`
	Poll    delivery.Op     `json:"poll"`
}

const noOffset = int64(-1) << 62

// value is what the history says of one message of a stream.
type value struct {
	send      int32 // op index of its send, -1 none
	ackOff    int64 // acknowledged offset, noOffset none
	readOff   int64 // first offset it was read at, noOffset never read
	firstDel  int64 // completion of its first non-final delivery, -1 none
	finalSeen bool
}

type streamState struct {
	name   string
	vals   map[int64]int32 // message -> index in values
	values []value
	offs   map[int64]int64   // offset -> first message seen there
	multi  map[int64][]int64 // offset -> every distinct message, when several
	dupOff map[int64][]int64 // message -> every distinct read offset, when several
	final  bool              // an ok read-all
	// cursors: per consumer process, the offsets it read in order, with
	// noOffset marking a reset (assign, seek, info poll).
	cursors map[history.Process]*cursor
}

type cursor struct {
	offs []int64
	ops  []int32 // op index of each read
}

// Check runs the check; Deliveries gives its delivery-latency samples.
func (c *Checker) Check(ctx context.Context, in *checkers.Input) checkers.Result {
	r, _ := c.check(ctx, in)
	return r
}

// Deliveries are the samples of the delivery-latency measurement, one per
// acknowledged message delivered during the load (send acknowledged ->
// first delivery), for a report that draws its own plots (delivery.Plot,
// delivery.Millis). Nothing is written.
func (c *Checker) Deliveries(ctx context.Context, in *checkers.Input) []delivery.Sample {
	cp := *in
	cp.Dir = ""
	_, s := c.check(ctx, &cp)
	return s
}

func (c *Checker) check(ctx context.Context, in *checkers.Input) (checkers.Result, []delivery.Sample) {
	start := time.Now()
	maxEx := c.MaxExamples
	if maxEx <= 0 {
		maxEx = 10
	}
	r := checkers.Result{Checker: c.Name(), Stats: map[string]int{}}
	streams := map[string]*streamState{}
	var order []*streamState
	sOf := func(k string) *streamState {
		s := streams[k]
		if s == nil {
			s = &streamState{name: k, vals: map[int64]int32{}, offs: map[int64]int64{}, multi: map[int64][]int64{},
				dupOff: map[int64][]int64{}, cursors: map[history.Process]*cursor{}}
			streams[k] = s
			order = append(order, s)
		}
		return s
	}
	var d Details
	malformed := 0
	bad := func(op *history.Op) {
		malformed++
		if len(d.Malformed) < maxListed {
			d.Malformed = append(d.Malformed, delivery.OpOf(op))
		}
	}
	var buf []delivery.Pair
	var processed int
	for i := range in.Ops {
		op := &in.Ops[i]
		switch op.F {
		case FSend:
			processed++
			s := sOf(op.Key)
			v, off, ok := sendOf(op)
			if !ok {
				bad(op)
				continue
			}
			x := s.val(v)
			if x.send >= 0 {
				bad(op) // a reused message says nothing
				continue
			}
			x.send = int32(i)
			if op.Type == history.OK && off != noOffset {
				x.ackOff = off
				s.at(off, v)
			}
		case FAssign, FSeek:
			processed++
			if op.Key != "" {
				sOf(op.Key).reset(op.Process)
				continue
			}
			for _, s := range order {
				s.reset(op.Process)
			}
		case FPoll, FReadAll:
			processed++
			if op.Type == history.Fail {
				continue
			}
			final := op.F == FReadAll
			// records takes in what the op read from stream k.
			records := func(k string, ps []delivery.Pair) {
				s := sOf(k)
				if final && op.Type == history.OK {
					s.final = true
				}
				if final {
					s.reset(op.Process) // a fresh consumer, from the start
				}
				cur := s.cursor(op.Process)
				for _, p := range ps {
					s.at(p.Offset, p.Value)
					x := s.val(p.Value)
					switch {
					case x.readOff == noOffset:
						x.readOff = p.Offset
					case x.readOff != p.Offset && !slices.Contains(s.dupOff[p.Value], p.Offset):
						if len(s.dupOff[p.Value]) == 0 {
							s.dupOff[p.Value] = []int64{x.readOff}
						}
						s.dupOff[p.Value] = append(s.dupOff[p.Value], p.Offset)
					}
					if final {
						x.finalSeen = true
					} else if !op.Final && op.Return >= 0 && (x.firstDel < 0 || op.Return < x.firstDel) {
						x.firstDel = op.Return
					}
					cur.offs = append(cur.offs, p.Offset)
					cur.ops = append(cur.ops, int32(i))
				}
				if op.Type != history.OK {
					s.reset(op.Process)
				}
			}
			if d0 := op.Data; len(d0) > 0 && d0[0] == '{' {
				m, ok := delivery.StreamPairs(d0)
				if !ok {
					bad(op)
					continue
				}
				for _, k := range slices.Sorted(maps.Keys(m)) {
					records(k, m[k])
				}
				if op.Type != history.OK && len(m) == 0 {
					for _, s := range order {
						s.reset(op.Process)
					}
				}
				continue
			}
			var ok bool
			buf, ok = delivery.Pairs(op.Data, buf[:0])
			if !ok {
				bad(op)
				continue
			}
			records(op.Key, buf)
		}
	}
	if processed == 0 {
		r.Verdict, r.Summary = checkers.Skipped, "the history has no send, poll or read-all operations"
		return r, nil
	}

	var n counts
	var samples []delivery.Sample
	for _, s := range order {
		if ctx.Err() != nil {
			break
		}
		c.checkStream(in, s, &d, &n, &samples)
	}
	sortFindings(&d)
	slices.SortFunc(samples, func(a, b delivery.Sample) int {
		return cmp.Or(cmp.Compare(a.Ack, b.Ack), cmp.Compare(a.Delivered, b.Delivered))
	})
	d.Delivery = delivery.Measure(samples, in.Faults)
	d.Delivery.Undelivered, d.Delivery.FinalOnly = n.undelivered, n.finalOnly
	d.Delivery.AddStats(r.Stats)
	r.Details = d
	st := r.Stats
	st["streams"], st["sends_acknowledged"], st["sends_unknown"], st["sends_failed"] = len(order), n.acked, n.unknown, n.failed
	st["messages_read"], st["lost"], st["duplicates"], st["reordered"] = n.read, n.lost, n.dup, n.reorder
	st["inconsistent_offsets"], st["poll_skips"], st["nonmonotonic_polls"], st["unexpected"], st["recovered"] = n.inconsistent, n.skips, n.back, n.unexpected, n.recovered
	if len(d.Unread) > 0 {
		st["streams_not_read_at_the_end"], st["acknowledged_unverified"] = n.unreadStreams, n.unverified
	}
	if malformed > 0 {
		st["malformed_ops"] = malformed
	}
	if in.Dir != "" && len(samples) > 0 {
		files, err := delivery.WritePlot(in.Dir, "log-delivery-latency", "log: delivery latency (send acknowledged -> first poll)", samples, in.Faults)
		r.Artifacts = files
		if err != nil {
			r.Explanation = "delivery plot: " + err.Error() + "\n"
		}
	}
	c.verdict(&r, &d, &n, malformed, maxEx)
	if ctx.Err() != nil {
		r.Verdict, r.Summary = checkers.Unknown, "cancelled: "+ctx.Err().Error()
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r, samples
}

type counts struct {
	acked, unknown, failed, read                   int
	lost, dup, reorder, inconsistent, skips, back  int
	unexpected, recovered, unreadStreams           int
	unverified, undelivered, finalOnly, skippedMsg int
}

func (s *streamState) val(v int64) *value {
	i, ok := s.vals[v]
	if !ok {
		i = int32(len(s.values))
		s.vals[v] = i
		s.values = append(s.values, value{send: -1, ackOff: noOffset, readOff: noOffset, firstDel: -1})
	}
	return &s.values[i]
}

// at records that offset off holds message v.
func (s *streamState) at(off, v int64) {
	w, ok := s.offs[off]
	switch {
	case !ok:
		s.offs[off] = v
	case w != v:
		m := s.multi[off]
		if len(m) == 0 {
			m = []int64{w}
		}
		if !slices.Contains(m, v) {
			m = append(m, v)
		}
		s.multi[off] = m
	}
}

func (s *streamState) cursor(p history.Process) *cursor {
	c := s.cursors[p]
	if c == nil {
		c = &cursor{}
		s.cursors[p] = c
	}
	return c
}

func (s *streamState) reset(p history.Process) {
	c := s.cursors[p]
	if c != nil && len(c.offs) > 0 && c.offs[len(c.offs)-1] != noOffset {
		c.offs = append(c.offs, noOffset)
		c.ops = append(c.ops, -1)
	}
}

// sendOf reads a send: its message and, on an ok completion, its offset.
func sendOf(op *history.Op) (v, off int64, ok bool) {
	off = noOffset
	if op.Value == "" && len(op.Data) > 0 && op.Data[0] == '[' {
		p, ok := delivery.PairOf(op.Data)
		return p.Value, p.Offset, ok
	}
	v, ok = delivery.Message(op)
	if ok && len(op.Version) > 0 {
		if o, vok := delivery.Int(op.Version); vok {
			off = o
		}
	}
	return v, off, ok
}

func (c *Checker) checkStream(in *checkers.Input, s *streamState, d *Details, n *counts, samples *[]delivery.Sample) {
	opOf := func(i int32) *delivery.Op {
		if i < 0 {
			return nil
		}
		o := delivery.OpOf(&in.Ops[i])
		return &o
	}
	readAt := func(v int64, x *value) []int64 {
		if m := s.dupOff[v]; len(m) > 0 {
			return slices.Clone(m)
		}
		if x.readOff != noOffset {
			return []int64{x.readOff}
		}
		return nil
	}
	msgFinding := func(list *[]Message, cnt *int, v int64, x *value, reason string) {
		*cnt++
		if len(*list) < maxListed {
			*list = append(*list, Message{Stream: s.name, Value: v, Send: opOf(x.send), Offsets: readAt(v, x), Reason: reason})
		}
	}
	unverified := 0
	type sent struct {
		v    int64
		off  int64
		call int64
		ret  int64
		op   int32
	}
	byProducer := map[history.Process][]sent{}
	for v, xi := range s.vals {
		x := &s.values[xi]
		var t history.Type
		if x.send >= 0 {
			t = in.Ops[x.send].Type
		}
		read := x.readOff != noOffset
		switch t {
		case history.OK:
			n.acked++
		case history.Info:
			n.unknown++
		case history.Fail:
			n.failed++
		}
		if read {
			n.read++
		}
		switch {
		case read && x.send < 0:
			msgFinding(&d.Unexpected, &n.unexpected, v, x, "never sent to this stream")
		case read && t == history.Fail:
			msgFinding(&d.Unexpected, &n.unexpected, v, x, "its send failed")
		case read && t == history.Info:
			msgFinding(&d.Recovered, &n.recovered, v, x, "")
		}
		if len(s.dupOff[v]) > 1 {
			msgFinding(&d.Duplicates, &n.dup, v, x, "")
		}
		if t != history.OK {
			continue
		}
		if !x.finalSeen {
			if s.final {
				msgFinding(&d.Lost, &n.lost, v, x, "")
			} else {
				unverified++
			}
		}
		if x.ackOff != noOffset && read && !slices.Contains(readAt(v, x), x.ackOff) {
			n.inconsistent++
			if len(d.Inconsistent) < maxListed {
				vv := v
				d.Inconsistent = append(d.Inconsistent, Inconsistent{Stream: s.name, Offset: x.ackOff, Value: &vv, ReadAt: readAt(v, x)})
			}
		}
		if x.firstDel >= 0 {
			*samples = append(*samples, delivery.Sample{Ack: in.Ops[x.send].Return, Delivered: x.firstDel})
		} else {
			n.undelivered++
			if x.finalSeen {
				n.finalOnly++
			}
		}
		// Read offsets only: a lost message's acknowledged offset may
		// have been reused, and is reported as inconsistent already.
		if off := x.readOff; off != noOffset {
			op := &in.Ops[x.send]
			byProducer[op.Process] = append(byProducer[op.Process], sent{v: v, off: off, call: op.Call, ret: op.Return, op: x.send})
		}
	}
	if unverified > 0 {
		n.unreadStreams++
		n.unverified += unverified
		d.Unread = append(d.Unread, s.name)
	}
	for off, vs := range s.multi {
		n.inconsistent++
		if len(d.Inconsistent) < maxListed {
			d.Inconsistent = append(d.Inconsistent, Inconsistent{Stream: s.name, Offset: off, Values: slices.Sorted(slices.Values(vs))})
		}
	}

	// Reordering: a producer's send acknowledged before another of its
	// sends began must be stored before it.
	for _, ss := range byProducer {
		byCall := slices.Clone(ss)
		slices.SortFunc(byCall, func(a, b sent) int { return cmp.Compare(a.call, b.call) })
		slices.SortFunc(ss, func(a, b sent) int { return cmp.Compare(a.ret, b.ret) })
		j, top := 0, -1
		for _, b := range byCall {
			for ; j < len(ss) && ss[j].ret < b.call; j++ {
				if top < 0 || ss[j].off > ss[top].off {
					top = j
				}
			}
			if top >= 0 && b.off < ss[top].off {
				a := ss[top]
				n.reorder++
				if len(d.Reordered) < maxListed {
					d.Reordered = append(d.Reordered, Reorder{Stream: s.name, First: *opOf(a.op), FirstValue: a.v, FirstOffset: a.off,
						Second: *opOf(b.op), SecondValue: b.v, SecondOffset: b.off})
				}
			}
		}
	}

	if c.SharedConsumers {
		return
	}
	known := make([]int64, 0, len(s.offs))
	for off := range s.offs {
		known = append(known, off)
	}
	slices.Sort(known)
	procs := slices.Sorted(func(yield func(history.Process) bool) {
		for p := range s.cursors {
			if !yield(p) {
				return
			}
		}
	})
	for _, p := range procs {
		cur := s.cursors[p]
		seen := make([]int64, 0, len(cur.offs))
		for _, o := range cur.offs {
			if o != noOffset {
				seen = append(seen, o)
			}
		}
		slices.Sort(seen)
		prev := noOffset
		for k, o := range cur.offs {
			if o == noOffset {
				prev = noOffset
				continue
			}
			switch {
			case prev == noOffset:
			case o <= prev:
				n.back++
				if len(d.NonMonotonic) < maxListed {
					d.NonMonotonic = append(d.NonMonotonic, Backwards{Stream: s.name, Process: p, From: prev, To: o, Poll: *opOf(cur.ops[k])})
				}
			default:
				lo, _ := slices.BinarySearch(known, prev+1)
				hi, _ := slices.BinarySearch(known, o)
				var missed []int64
				for _, m := range known[lo:hi] {
					if _, ok := slices.BinarySearch(seen, m); !ok {
						missed = append(missed, m)
					}
				}
				if len(missed) > 0 {
					n.skips++
					n.skippedMsg += len(missed)
					if len(d.PollSkips) < maxListed {
						sk := Skip{Stream: s.name, Process: p, From: prev, To: o, Poll: *opOf(cur.ops[k]), Count: len(missed)}
						for _, m := range missed[:min(len(missed), 20)] {
							sk.Skipped = append(sk.Skipped, m)
							sk.Values = append(sk.Values, s.offs[m])
						}
						d.PollSkips = append(d.PollSkips, sk)
					}
				}
			}
			prev = o
		}
	}
}

func sortFindings(d *Details) {
	for _, l := range [][]Message{d.Lost, d.Duplicates, d.Unexpected, d.Recovered} {
		slices.SortFunc(l, func(a, b Message) int { return cmp.Or(cmp.Compare(a.Stream, b.Stream), cmp.Compare(a.Value, b.Value)) })
	}
	slices.SortFunc(d.Reordered, func(a, b Reorder) int {
		return cmp.Or(cmp.Compare(a.Stream, b.Stream), cmp.Compare(a.Second.CallS, b.Second.CallS), cmp.Compare(a.SecondValue, b.SecondValue))
	})
	slices.SortFunc(d.Inconsistent, func(a, b Inconsistent) int {
		return cmp.Or(cmp.Compare(a.Stream, b.Stream), cmp.Compare(a.Offset, b.Offset), cmp.Compare(len(a.Values), len(b.Values)))
	})
	slices.Sort(d.Unread)
}

func (c *Checker) verdict(r *checkers.Result, d *Details, n *counts, malformed, maxEx int) {
	var problems, lines []string
	section := func(kind string, total int, names string, say []string) {
		if total == 0 {
			return
		}
		problems = append(problems, fmt.Sprintf("%d %s (%s)", total, kind, names))
		lines = append(lines, say[:min(len(say), maxEx)]...)
		if total > maxEx {
			lines = append(lines, fmt.Sprintf("... and %d more %s", total-min(len(say), maxEx), kind))
		}
	}
	msgs := func(ms []Message) string {
		vs := make([]int64, len(ms))
		for i, m := range ms {
			vs[i] = m.Value
		}
		return delivery.List(vs, 10)
	}
	var say []string
	for _, m := range d.Lost {
		say = append(say, fmt.Sprintf("stream %s: message %d was acknowledged by %s and is not in the final read of the stream", m.Stream, m.Value, m.Send))
	}
	section("lost", n.lost, msgs(d.Lost), say)
	if !c.AtLeastOnce {
		say = say[:0]
		for _, m := range d.Duplicates {
			say = append(say, fmt.Sprintf("stream %s: message %d is stored at offsets %s", m.Stream, m.Value, delivery.List(m.Offsets, 5)))
		}
		section("duplicates", n.dup, msgs(d.Duplicates), say)
	}
	say = say[:0]
	var names []string
	for _, x := range d.Reordered {
		names = append(names, fmt.Sprintf("%d after %d", x.SecondValue, x.FirstValue))
		say = append(say, fmt.Sprintf("stream %s: message %d (%s) was acknowledged before message %d (%s) was sent, but is stored after it: offset %d > %d",
			x.Stream, x.FirstValue, x.First, x.SecondValue, x.Second, x.FirstOffset, x.SecondOffset))
	}
	section("reordered", n.reorder, delivery.List(names, 5), say)
	say, names = say[:0], names[:0]
	for _, x := range d.Inconsistent {
		if x.Value != nil {
			names = append(names, fmt.Sprintf("message %d", *x.Value))
			say = append(say, fmt.Sprintf("stream %s: message %d was acknowledged at offset %d but read at %s", x.Stream, *x.Value, x.Offset, delivery.List(x.ReadAt, 5)))
		} else {
			names = append(names, fmt.Sprintf("offset %d", x.Offset))
			say = append(say, fmt.Sprintf("stream %s: offset %d holds messages %s", x.Stream, x.Offset, delivery.List(x.Values, 5)))
		}
	}
	section("inconsistent offsets", n.inconsistent, delivery.List(names, 5), say)
	say, names = say[:0], names[:0]
	for _, x := range d.PollSkips {
		names = append(names, fmt.Sprintf("process %s over %s", x.Process, delivery.List(x.Values, 3)))
		say = append(say, fmt.Sprintf("stream %s: process %s read offset %d then %d (%s), skipping %d offsets it never read: %s holding %s",
			x.Stream, x.Process, x.From, x.To, x.Poll, x.Count, delivery.List(x.Skipped, 5), delivery.List(x.Values, 5)))
	}
	section("poll skips", n.skips, delivery.List(names, 3), say)
	say, names = say[:0], names[:0]
	for _, x := range d.NonMonotonic {
		names = append(names, fmt.Sprintf("process %s %d -> %d", x.Process, x.From, x.To))
		say = append(say, fmt.Sprintf("stream %s: process %s read offset %d after %d (%s) with no assign or seek in between", x.Stream, x.Process, x.To, x.From, x.Poll))
	}
	section("non-monotonic polls", n.back, delivery.List(names, 3), say)
	say = say[:0]
	for _, m := range d.Unexpected {
		say = append(say, fmt.Sprintf("stream %s: message %d was read at offset %s but %s", m.Stream, m.Value, delivery.List(m.Offsets, 3), m.Reason))
	}
	section("unexpected", n.unexpected, msgs(d.Unexpected), say)

	var notes []string
	if n.recovered > 0 {
		notes = append(notes, fmt.Sprintf("%d sends with unknown outcome were read", n.recovered))
	}
	if n.dup > 0 && c.AtLeastOnce {
		notes = append(notes, fmt.Sprintf("%d messages stored more than once (allowed: at least once)", n.dup))
	}
	if c.SharedConsumers {
		notes = append(notes, "poll order not checked (consumers share positions)")
	}
	if malformed > 0 {
		notes = append(notes, fmt.Sprintf("%d operations carried no readable message", malformed))
	}
	note := ""
	if len(notes) > 0 {
		note = "; " + strings.Join(notes, "; ")
	}
	switch {
	case len(problems) > 0:
		r.Verdict = checkers.Invalid
		r.Summary = strings.Join(problems, ", ") + note
		r.Explanation += strings.Join(lines, "\n")
	case len(d.Unread) > 0:
		r.Verdict = checkers.Unknown
		r.Summary = fmt.Sprintf("lost messages cannot be looked for: %d streams with acknowledged sends had no successful final read-all (%s), %d acknowledged messages unverified; no other anomaly%s",
			len(d.Unread), delivery.List(d.Unread, 5), n.unverified, note)
	case malformed > 0:
		r.Verdict = checkers.Unknown
		r.Summary = "no anomaly among the readable operations" + note
	case n.acked == 0 && n.read == 0:
		r.Verdict = checkers.Unknown
		r.Summary = "no send was acknowledged and nothing was read: nothing to check"
	default:
		r.Verdict = checkers.Valid
		r.Summary = fmt.Sprintf("all %d acknowledged sends in %d streams are in the final reads, once, in producer order; polls in order without skips%s; delivery p50 %.1f ms, p99 %.1f ms",
			n.acked, r.Stats["streams"], note, d.Delivery.Overall.P50, d.Delivery.Overall.P99)
	}
}
