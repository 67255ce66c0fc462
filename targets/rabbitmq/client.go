package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/queue"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// queueName is the AMQP queue of the workload's queue q.
func queueName(q string) string { return "faultline." + q }

// client performs the queue workload over AMQP 0-9-1:
//
//	enqueue  publish to the queue (default exchange) on a channel in
//	         confirm mode; ok once the broker confirms it, info on a nack
//	         or no answer, fail when it could not be sent;
//	dequeue  basic.get up to batch messages, ack each, then one
//	         synchronous request on the channel (a passive declare): the
//	         broker has processed the acks when it answers;
//	drain    the same until basic.get finds the queue empty and the
//	         declare counts no message left.
//
// Channels are not shared between operations; a channel that saw an error
// or whose operation ran out of time is closed, which requeues what it
// took without acknowledging (a dequeue that received nothing took
// nothing: fail, and the checker runs with redelivers=true). Acks are
// confirmed by the request after them; one lost with its connection means
// a redelivery, so duplicates are possible (at-least-once).
type client struct {
	t      *Target
	queues []string
	batch  int

	mu    sync.Mutex
	conns map[string]*rconn
}

type rconn struct {
	mu   sync.Mutex
	c    *amqp.Connection
	free []*amqp.Channel
}

var (
	_ targets.Client     = (*client)(nil)
	_ targets.Setupper   = (*client)(nil)
	_ workload.Supporter = (*client)(nil)
	_ io.Closer          = (*client)(nil)
)

func newClient(t *Target, cfg targets.ClientConfig) (*client, error) {
	c := &client{t: t, batch: 1, conns: map[string]*rconn{}}
	if cfg.Workload == queue.Name {
		qc, err := queue.Parse(workload.Config{Options: cfg.WorkloadOptions})
		if err != nil {
			return nil, err
		}
		c.queues, c.batch = queue.Names(qc.Queues), qc.Batch
	}
	return c, nil
}

func (c *client) Supports(f string) bool {
	return f == queue.FEnqueue || f == queue.FDequeue || f == queue.FDrain
}

// channel returns a channel (confirm mode) on the connection to base.
func (c *client) channel(ctx context.Context, base string) (*rconn, *amqp.Channel, error) {
	c.mu.Lock()
	rc := c.conns[base]
	if rc == nil {
		rc = &rconn{}
		c.conns[base] = rc
	}
	c.mu.Unlock()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for len(rc.free) > 0 {
		ch := rc.free[len(rc.free)-1]
		rc.free = rc.free[:len(rc.free)-1]
		if !ch.IsClosed() {
			return rc, ch, nil
		}
	}
	if rc.c == nil || rc.c.IsClosed() {
		conn, err := dial(ctx, base)
		if err != nil {
			return nil, nil, err
		}
		rc.c = conn
	}
	ch, err := rc.c.Channel()
	if err != nil {
		rc.c.Close()
		rc.c = nil
		return nil, nil, err
	}
	if err := ch.Confirm(false); err != nil {
		ch.Close()
		return nil, nil, err
	}
	return rc, ch, nil
}

func (rc *rconn) put(ch *amqp.Channel) {
	rc.mu.Lock()
	rc.free = append(rc.free, ch)
	rc.mu.Unlock()
}

// Close closes every connection (io.Closer: the run calls it at its end).
func (c *client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rc := range c.conns {
		rc.mu.Lock()
		if rc.c != nil {
			rc.c.Close()
		}
		rc.mu.Unlock()
	}
	return nil
}

func (c *client) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	if d, ok := ctx.Deadline(); ok {
		margin := min(time.Until(d)/10, 200*time.Millisecond)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-margin))
		defer cancel()
	}
	rc, ch, err := c.channel(ctx, base)
	if err != nil {
		return fail(err) // nothing was sent
	}
	// amqp091's requests take no context: the operation runs aside, and
	// when time is up the connection is closed at once, which ends every
	// request on it (and requeues what was taken unacknowledged); the
	// operation then says what it did before that.
	done := make(chan targets.Outcome, 1)
	go func() { done <- c.do(ctx, ch, op) }()
	var out targets.Outcome
	select {
	case out = <-done:
	case <-ctx.Done():
		rc.mu.Lock()
		if rc.c != nil {
			_ = rc.c.CloseDeadline(time.Now())
		}
		rc.mu.Unlock()
		select {
		case out = <-done:
		case <-time.After(2 * time.Second):
			out = targets.Outcome{Type: history.Info, Error: "no answer in time: " + ctx.Err().Error()}
		}
	}
	if out.Type == history.OK {
		rc.put(ch)
	} else {
		go ch.Close()
	}
	return out
}

func (c *client) do(ctx context.Context, ch *amqp.Channel, op *history.Event) targets.Outcome {
	q := queueName(op.Key)
	switch op.F {
	case queue.FEnqueue:
		body := op.Value
		if body == "" {
			body = string(op.Data)
		}
		mode := amqp.Persistent
		if c.t.queueType == Classic {
			mode = amqp.Transient
		}
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q, false, false,
			amqp.Publishing{Body: []byte(body), DeliveryMode: mode, ContentType: "text/plain"})
		if err != nil {
			return fail(err) // the channel refused it before sending
		}
		acked, err := dc.WaitContext(ctx)
		switch {
		case err != nil:
			return targets.Outcome{Type: history.Info, Error: "no confirm: " + err.Error()}
		case !acked:
			return targets.Outcome{Type: history.Info, Error: "the broker nacked it"}
		}
		return targets.Outcome{Type: history.OK}
	case queue.FDequeue:
		vals, err := take(ctx, ch, q, c.batch)
		if err != nil {
			if len(vals) == 0 {
				return fail(err)
			}
			return taken(vals, err)
		}
		_, err = ch.QueueDeclarePassive(q, true, false, false, false, c.queueArgs())
		return taken(vals, err)
	case queue.FDrain:
		var vals []int64
		for ctx.Err() == nil {
			got, err := take(ctx, ch, q, 256)
			vals = append(vals, got...)
			if err != nil {
				if len(vals) == 0 {
					return fail(err)
				}
				return taken(vals, err)
			}
			if len(got) == 256 {
				continue
			}
			st, err := ch.QueueDeclarePassive(q, true, false, false, false, c.queueArgs())
			if err != nil {
				if len(vals) == 0 {
					return fail(err)
				}
				return taken(vals, err)
			}
			if st.Messages == 0 {
				return taken(vals, nil)
			}
		}
		err := fmt.Errorf("drain of %s cut short after %d messages: %w", op.Key, len(vals), ctx.Err())
		if len(vals) == 0 {
			return fail(err)
		}
		return taken(vals, err)
	}
	return fail(errors.New("rabbitmq: unsupported operation " + op.F))
}

// take gets up to n messages and acks each, while ctx lasts: a message
// got too late is not acked (nor reported); it is requeued when its
// channel closes. An ack that could not be sent is reported with the error.
func take(ctx context.Context, ch *amqp.Channel, q string, n int) ([]int64, error) {
	var vals []int64
	for len(vals) < n {
		if err := ctx.Err(); err != nil {
			return vals, err
		}
		d, ok, err := ch.Get(q, false)
		if err != nil {
			return vals, err
		}
		if !ok {
			return vals, nil
		}
		if err := ctx.Err(); err != nil {
			return vals, err
		}
		v, err := strconv.ParseInt(string(d.Body), 10, 64)
		if err != nil {
			v = -1 // not a message of the workload: reported as it is
		}
		vals = append(vals, v)
		if err := d.Ack(false); err != nil {
			return vals, err
		}
	}
	return vals, nil
}

// taken is ok with vals, or info with them when err leaves the acks in
// doubt.
func taken(vals []int64, err error) targets.Outcome {
	b := []byte{'['}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	out := targets.Outcome{Type: history.OK, Data: append(b, ']')}
	if err != nil {
		out.Type, out.Error = history.Info, err.Error()
	}
	return out
}

func fail(err error) targets.Outcome { return targets.Outcome{Type: history.Fail, Error: err.Error()} }

// queueArgs are the arguments the queues are declared with.
func (c *client) queueArgs() amqp.Table {
	if c.t.queueType == Quorum {
		return amqp.Table{"x-queue-type": "quorum"}
	}
	return amqp.Table{"x-queue-type": "classic"}
}

// Setup declares the workload's queues (durable; quorum queues span every
// node), retrying on the next node until each declare is answered.
func (c *client) Setup(ctx context.Context, bases []string) error {
	if len(c.queues) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var last error
	for try := 0; ; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("rabbitmq: declare %d %s queues: %w (last: %v)", len(c.queues), c.t.queueType, ctx.Err(), last)
			case <-time.After(500 * time.Millisecond):
			}
		}
		if last = c.declare(ctx, bases[0]); last == nil {
			return nil
		}
	}
}

// declare declares every queue through base. Classic queues live on the
// node that declares them: the first node.
func (c *client) declare(ctx context.Context, base string) error {
	conn, err := dial(ctx, base)
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	for _, q := range c.queues {
		if _, err := ch.QueueDeclare(queueName(q), true, false, false, false, c.queueArgs()); err != nil {
			return fmt.Errorf("declare %s: %w", queueName(q), err)
		}
	}
	return nil
}
