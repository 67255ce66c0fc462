// Package queue checks the history of a queue workload: was every
// acknowledged message delivered, exactly once (or at least once, when the
// system promises no more), and nothing delivered that was never sent?
// It is Jepsen's total-queue checker, with unknown outcomes kept apart from
// violations, and a delivery-latency measurement.
//
// The operations it reads (Key is the queue's name; several queues are
// checked apart, a message belonging to the queue it was enqueued in):
//
//	f "enqueue"  invoke value 7 (an integer, unique in its queue; a JSON
//	             number, or a string holding one); ok: the message is in
//	             the queue; fail: it certainly is not; info: unknown.
//	f "dequeue"  invoke without a value; completion value the message
//	             received (7), a batch ([7, 9]), or none / null / [] when the
//	             queue was empty. An info dequeue may carry what it received
//	             (the receive worked, the acknowledgement is in doubt): those
//	             count as deliveries.
//	f "drain"    the final phase (final: true), after the faults healed:
//	             completion value the list of every message still in the
//	             queue ([] when empty); several drains of a queue add up.
//
// Findings, each naming its messages (Details lists at most 1000 of each
// kind, Stats has the totals):
//   - lost: an acknowledged enqueue that no dequeue and no drain delivered.
//     It needs an ok drain of its queue: without one, loss cannot be proven
//     and the verdict is at best unknown, never valid by absence. An info
//     dequeue that reported nothing may have taken up to Batch messages; as
//     long as those could account for every missing message the queue's
//     loss is unknown, not invalid (unless Redelivers says such a message
//     comes back).
//   - duplicated: a message delivered more than once (an anomaly unless
//     AtLeastOnce).
//   - unexpected: a message delivered that was never enqueued in that queue,
//     or whose enqueue failed.
//   - recovered: an enqueue with an unknown outcome whose message was
//     delivered: counted, not an error.
package queue

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/delivery"
	"github.com/faultline/faultline/history"
)

// Operation functions of the queue workload.
const (
	FEnqueue = "enqueue"
	FDequeue = "dequeue"
	FDrain   = "drain"
)

// Checker is the queue checker.
type Checker struct {
	// AtLeastOnce says the system promises at-least-once delivery:
	// duplicates are counted, not an anomaly.
	AtLeastOnce bool
	// Batch is the most messages one dequeue can take (default 1): an info
	// dequeue that reported nothing may have taken that many.
	Batch int
	// Redelivers says a message taken by a dequeue whose outcome is unknown
	// comes back to the queue (consumers acknowledge after recording what
	// they received), so such dequeues cannot explain a missing message.
	Redelivers bool
	// MaxExamples caps the findings explained in text (default 10).
	MaxExamples int
}

var _ checkers.Checker = (*Checker)(nil)

func (c *Checker) Name() string { return "queue" }

// maxListed caps each list of findings in Details.
const maxListed = 1000

// Details is the queue checker's finding.
type Details struct {
	Lost       []Finding `json:"lost,omitempty"`
	Duplicated []Finding `json:"duplicated,omitempty"`
	Unexpected []Finding `json:"unexpected,omitempty"`
	Recovered  []Finding `json:"recovered,omitempty"`
	// PossiblyTaken are acknowledged messages missing from a queue whose
	// dequeues with unknown outcomes may have taken them.
	PossiblyTaken []Finding `json:"possibly_taken,omitempty"`
	// NotDrained are queues with acknowledged enqueues and no ok drain:
	// their losses could not be looked for.
	NotDrained []string `json:"not_drained,omitempty"`
	// Malformed are operations whose value is not a message.
	Malformed []delivery.Op        `json:"malformed,omitempty"`
	Delivery  delivery.Measurement `json:"delivery_latency"`
}

// Finding is one message and the operations that show what happened to it.
type Finding struct {
	Queue   string `json:"queue"`
	Message int64  `json:"message"`
	// Enqueue is absent for a message never enqueued.
	Enqueue *delivery.Op `json:"enqueue,omitempty"`
	// Deliveries are the first few operations that delivered it.
	Deliveries []delivery.Op `json:"deliveries,omitempty"`
	Times      int           `json:"times_delivered,omitempty"`
	Reason     string        `json:"reason,omitempty"`
}

// msg is what the history says of one message.
type msg struct {
	enq      int32 // op index of its enqueue, -1 when none
	times    int32 // deliveries, final ones included
	first    int64 // completion of its first non-final delivery, -1 none
	dels     [2]int32
	finalDel bool
}

type queueState struct {
	name    string
	idx     map[int64]int32 // message -> msgs index
	drained bool
	// unknownTake is how many messages dequeues of unknown outcome may have
	// taken without saying (math.MaxInt: an info drain, anything).
	unknownTake int
}

// Check runs the check; Deliveries gives its delivery-latency samples.
func (c *Checker) Check(ctx context.Context, in *checkers.Input) checkers.Result {
	r, _ := c.check(ctx, in)
	return r
}

// Deliveries are the samples of the delivery-latency measurement, one per
// acknowledged message delivered during the load (enqueue acknowledged ->
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
	batch := max(c.Batch, 1)
	maxEx := c.MaxExamples
	if maxEx <= 0 {
		maxEx = 10
	}
	r := checkers.Result{Checker: c.Name(), Stats: map[string]int{}}
	queues := map[string]*queueState{}
	var order []*queueState
	qOf := func(k string) *queueState {
		q := queues[k]
		if q == nil {
			q = &queueState{name: k, idx: map[int64]int32{}}
			queues[k] = q
			order = append(order, q)
		}
		return q
	}
	msgs := make([]msg, 0, len(in.Ops)/2)
	var d Details
	malformed := 0
	bad := func(op *history.Op) {
		malformed++
		if len(d.Malformed) < maxListed {
			d.Malformed = append(d.Malformed, delivery.OpOf(op))
		}
	}
	get := func(q *queueState, v int64) *msg {
		i, ok := q.idx[v]
		if !ok {
			i = int32(len(msgs))
			q.idx[v] = i
			msgs = append(msgs, msg{enq: -1, first: -1, dels: [2]int32{-1, -1}})
		}
		return &msgs[i]
	}
	var buf []int64
	ops := 0
	for i := range in.Ops {
		op := &in.Ops[i]
		switch op.F {
		case FEnqueue:
			ops++
			v, ok := delivery.Message(op)
			if !ok {
				bad(op)
				continue
			}
			m := get(qOf(op.Key), v)
			if m.enq >= 0 {
				bad(op) // values must be unique: this one says nothing
				continue
			}
			m.enq = int32(i)
		case FDequeue, FDrain:
			ops++
			q := qOf(op.Key)
			if op.Type == history.Fail {
				continue
			}
			var ok bool
			buf, ok = delivery.Ints(op.Data, buf[:0])
			if !ok {
				bad(op)
				continue
			}
			final := op.F == FDrain || op.Final
			if op.Type != history.OK && len(buf) == 0 {
				if op.F == FDrain {
					q.unknownTake = math.MaxInt
				} else if q.unknownTake < math.MaxInt-batch {
					q.unknownTake += batch
				}
				continue
			}
			if op.F == FDrain && op.Type == history.OK {
				q.drained = true
			}
			for _, v := range buf {
				m := get(q, v)
				if m.times < 2 {
					m.dels[m.times] = int32(i)
				}
				m.times++
				if final {
					m.finalDel = true
				} else if op.Return >= 0 && (m.first < 0 || op.Return < m.first) {
					m.first = op.Return
				}
			}
		}
	}
	if ops == 0 {
		r.Verdict, r.Summary = checkers.Skipped, "the history has no enqueue, dequeue or drain operations"
		return r, nil
	}

	// Findings, queue by queue.
	var lost, dup, unexpected, recovered, possibly, explainable int
	var acked, unknownEnq, failedEnq, deliveredN, notDrainedMsgs int
	var samples []delivery.Sample
	find := func(q *queueState, v int64, m *msg, reason string) Finding {
		f := Finding{Queue: q.name, Message: v, Times: int(m.times), Reason: reason}
		if m.enq >= 0 {
			o := delivery.OpOf(&in.Ops[m.enq])
			f.Enqueue = &o
		}
		for _, j := range m.dels {
			if j >= 0 {
				f.Deliveries = append(f.Deliveries, delivery.OpOf(&in.Ops[j]))
			}
		}
		return f
	}
	add := func(list *[]Finding, n *int, f func() Finding) {
		*n++
		if len(*list) < maxListed {
			*list = append(*list, f())
		}
	}
	for _, q := range order {
		if ctx.Err() != nil {
			break
		}
		var missing []int64
		for v, i := range q.idx {
			m := &msgs[i]
			var et history.Type
			if m.enq >= 0 {
				et = in.Ops[m.enq].Type
			}
			switch et {
			case history.OK:
				acked++
			case history.Info:
				unknownEnq++
			case history.Fail:
				failedEnq++
			}
			if m.times > 0 {
				deliveredN++
			}
			switch {
			case m.times > 0 && m.enq < 0:
				add(&d.Unexpected, &unexpected, func() Finding { return find(q, v, m, "never enqueued in this queue") })
			case m.times > 0 && et == history.Fail:
				add(&d.Unexpected, &unexpected, func() Finding { return find(q, v, m, "its enqueue failed") })
			case m.times > 0 && et == history.Info:
				add(&d.Recovered, &recovered, func() Finding { return find(q, v, m, "") })
			case m.times == 0 && et == history.OK:
				missing = append(missing, v)
			}
			if m.times > 1 {
				add(&d.Duplicated, &dup, func() Finding { return find(q, v, m, "") })
			}
			if et == history.OK && m.first >= 0 {
				samples = append(samples, delivery.Sample{Ack: in.Ops[m.enq].Return, Delivered: m.first})
			}
		}
		if len(missing) == 0 {
			continue
		}
		slices.Sort(missing)
		take := q.unknownTake
		if c.Redelivers {
			take = 0
		}
		switch {
		case !q.drained:
			notDrainedMsgs += len(missing)
			d.NotDrained = append(d.NotDrained, q.name)
		case len(missing) > take:
			explainable += take
			for _, v := range missing {
				m := &msgs[q.idx[v]]
				add(&d.Lost, &lost, func() Finding { return find(q, v, m, lostReason(take)) })
			}
		default:
			for _, v := range missing {
				m := &msgs[q.idx[v]]
				add(&d.PossiblyTaken, &possibly, func() Finding {
					return find(q, v, m, "a dequeue with an unknown outcome may have taken it")
				})
			}
		}
	}
	for _, l := range []*[]Finding{&d.Lost, &d.Duplicated, &d.Unexpected, &d.Recovered, &d.PossiblyTaken} {
		slices.SortFunc(*l, func(a, b Finding) int {
			return cmp.Or(cmp.Compare(a.Queue, b.Queue), cmp.Compare(a.Message, b.Message))
		})
	}
	slices.Sort(d.NotDrained)
	undelivered := 0
	for _, q := range order {
		for _, i := range q.idx {
			m := &msgs[i]
			if m.enq >= 0 && in.Ops[m.enq].Type == history.OK && m.first < 0 {
				undelivered++
				if m.finalDel {
					d.Delivery.FinalOnly++
				}
			}
		}
	}
	final := d.Delivery.FinalOnly
	slices.SortFunc(samples, func(a, b delivery.Sample) int {
		return cmp.Or(cmp.Compare(a.Ack, b.Ack), cmp.Compare(a.Delivered, b.Delivered))
	})
	d.Delivery = delivery.Measure(samples, in.Faults)
	d.Delivery.Undelivered, d.Delivery.FinalOnly = undelivered, final
	d.Delivery.AddStats(r.Stats)
	r.Details = d
	st := r.Stats
	st["queues"], st["messages_acknowledged"], st["enqueues_unknown"], st["enqueues_failed"] = len(order), acked, unknownEnq, failedEnq
	st["messages_delivered"], st["lost"], st["duplicated"], st["unexpected"], st["recovered"] = deliveredN, lost, dup, unexpected, recovered
	if possibly > 0 {
		st["possibly_taken_by_unknown_dequeues"] = possibly
	}
	if len(d.NotDrained) > 0 {
		st["queues_not_drained"], st["acknowledged_unverified"] = len(d.NotDrained), notDrainedMsgs
	}
	if malformed > 0 {
		st["malformed_ops"] = malformed
	}
	if in.Dir != "" && len(samples) > 0 {
		files, err := delivery.WritePlot(in.Dir, "queue-delivery-latency", "queue: delivery latency (enqueue acknowledged -> first dequeue)", samples, in.Faults)
		r.Artifacts = files
		if err != nil {
			r.Explanation = "delivery plot: " + err.Error() + "\n"
		}
	}

	dupBad := dup > 0 && !c.AtLeastOnce
	var problems, lines []string
	explain := func(kind string, fs []Finding, total int, say func(Finding) string) {
		if total == 0 {
			return
		}
		problems = append(problems, fmt.Sprintf("%d %s (%s)", total, kind, delivery.List(messages(fs), 10)))
		for _, f := range fs[:min(len(fs), maxEx)] {
			lines = append(lines, fmt.Sprintf("queue %s: message %d %s", f.Queue, f.Message, say(f)))
		}
		if total > maxEx {
			lines = append(lines, fmt.Sprintf("... and %d more %s", total-maxEx, kind))
		}
	}
	explain("lost", d.Lost, lost, func(f Finding) string {
		s := fmt.Sprintf("was acknowledged by %s and never delivered, not even by the final drain", f.Enqueue)
		if f.Reason != "" {
			s += " (" + f.Reason + ")"
		}
		return s
	})
	if dupBad {
		explain("duplicated", d.Duplicated, dup, func(f Finding) string {
			return fmt.Sprintf("was delivered %d times: %s", f.Times, delivery.List(f.Deliveries, 2))
		})
	}
	explain("unexpected", d.Unexpected, unexpected, func(f Finding) string {
		s := fmt.Sprintf("was delivered by %s but %s", f.Deliveries[0], f.Reason)
		if f.Enqueue != nil {
			s += ": " + f.Enqueue.String()
		}
		return s
	})
	var notes []string
	if explainable > 0 {
		notes = append(notes, fmt.Sprintf("up to %d of the lost may have been taken by dequeues with unknown outcome", explainable))
	}
	if recovered > 0 {
		notes = append(notes, fmt.Sprintf("%d enqueues with unknown outcome were delivered", recovered))
	}
	if dup > 0 && !dupBad {
		notes = append(notes, fmt.Sprintf("%d messages delivered more than once (allowed: at least once)", dup))
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
	case len(d.NotDrained) > 0:
		r.Verdict = checkers.Unknown
		r.Summary = fmt.Sprintf("lost messages cannot be looked for: %d queues with acknowledged enqueues had no successful final drain (%s), %d acknowledged messages not delivered there; no duplicate or unexpected delivery%s",
			len(d.NotDrained), delivery.List(d.NotDrained, 5), notDrainedMsgs, note)
	case possibly > 0:
		r.Verdict = checkers.Unknown
		r.Summary = fmt.Sprintf("%d acknowledged messages never delivered (%s), but dequeues with an unknown outcome may have taken them%s",
			possibly, delivery.List(messages(d.PossiblyTaken), 10), note)
	case malformed > 0:
		r.Verdict = checkers.Unknown
		r.Summary = fmt.Sprintf("no anomaly among the readable operations%s", note)
	case acked == 0 && deliveredN == 0:
		r.Verdict = checkers.Unknown
		r.Summary = "no enqueue was acknowledged and nothing was delivered: nothing to check"
	default:
		r.Verdict = checkers.Valid
		r.Summary = fmt.Sprintf("all %d acknowledged messages in %d queues delivered, none twice, none unexpected%s; delivery p50 %.1f ms, p99 %.1f ms",
			acked, len(order), note, d.Delivery.Overall.P50, d.Delivery.Overall.P99)
	}
	if ctx.Err() != nil {
		r.Verdict, r.Summary = checkers.Unknown, "cancelled: "+ctx.Err().Error()
	}
	r.ElapsedMS = time.Since(start).Milliseconds()
	return r, samples
}

func lostReason(take int) string {
	if take == 0 {
		return ""
	}
	return fmt.Sprintf("more messages are missing than the dequeues with unknown outcome could have taken (%d)", take)
}

func messages(fs []Finding) []int64 {
	out := make([]int64, len(fs))
	for i, f := range fs {
		out[i] = f.Message
	}
	return out
}
