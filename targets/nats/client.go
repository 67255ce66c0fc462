package nats

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/faultline/faultline/bench/workload"
	logwl "github.com/faultline/faultline/bench/workload/log"
	"github.com/faultline/faultline/bench/workload/queue"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// Names of what the client creates. A queue q is the work-queue stream
// FAULTLINE_Q_q on subject faultline.q.q, read through the durable pull
// consumer "faultline"; a log stream s is FAULTLINE_L_s on faultline.l.s.
const (
	streamPrefix = "FAULTLINE_"
	consumerName = "faultline"
	// ackWait is how long a delivered, unacknowledged message waits before
	// JetStream redelivers it (a consumer that took it and vanished): short,
	// so the final drain gets those back within its timeout.
	ackWait = 5 * time.Second
)

func queueStream(q string) string  { return streamPrefix + "Q_" + q }
func queueSubject(q string) string { return "faultline.q." + q }
func logStream(s string) string    { return streamPrefix + "L_" + s }
func logSubject(s string) string   { return "faultline.l." + s }

// client performs the queue and log workloads on JetStream:
//
//	enqueue   publish to the queue's subject and wait for JetStream's ack;
//	dequeue   fetch up to batch messages without waiting (what is there),
//	          double-ack each (the server confirms the ack): ok with the
//	          values, info with them when an ack is in doubt;
//	drain     fetch and ack until the consumer has nothing pending or
//	          awaiting an ack: ok only then, with everything it took;
//	send      publish; the ack's stream sequence is the offset: [seq, value];
//	poll      read the stream by sequence from this consumer's position
//	          (one position per process and stream, kept here), up to batch
//	          records: [[seq, value], ...];
//	read-all  the same from sequence 1 to the end of the stream.
//
// Reads go to the stream leader (the stream's message-get API), never to a
// follower's copy. A dequeue or drain that received nothing took nothing:
// whatever the server sent it and it never saw is redelivered after ackWait,
// so it is fail, and the queue checker runs with redelivers=true.
type client struct {
	t        *Target
	workload string
	// register: the register or kv workload, on the key-value store.
	register bool
	queues   []string
	streams  []string
	batch    int

	mu    sync.Mutex
	conns map[string]*conn

	posMu sync.Mutex
	// pos is each consumer's next sequence; frontier the next sequence
	// after the last any consumer read, where a new consumer starts.
	pos      map[posKey]uint64
	frontier map[string]uint64
}

type posKey struct {
	p      history.Process
	stream string
}

var (
	_ targets.Client     = (*client)(nil)
	_ targets.Setupper   = (*client)(nil)
	_ workload.Supporter = (*client)(nil)
	_ io.Closer          = (*client)(nil)
)

func newClient(t *Target, cfg targets.ClientConfig) (*client, error) {
	c := &client{t: t, workload: cfg.Workload, batch: 1, conns: map[string]*conn{},
		pos: map[posKey]uint64{}, frontier: map[string]uint64{}}
	wc := workload.Config{Options: cfg.WorkloadOptions}
	switch cfg.Workload {
	case queue.Name:
		qc, err := queue.Parse(wc)
		if err != nil {
			return nil, err
		}
		c.queues, c.batch = queue.Names(qc.Queues), qc.Batch
	case logwl.Name:
		lc, err := logwl.Parse(wc)
		if err != nil {
			return nil, err
		}
		c.streams, c.batch = logwl.Names(lc.Streams), lc.Batch
	case "register", "kv":
		c.register = true
	}
	return c, nil
}

func (c *client) Supports(f string) bool {
	switch f {
	case queue.FEnqueue, queue.FDequeue, queue.FDrain, logwl.FSend, logwl.FPoll, logwl.FReadAll:
		return true
	}
	return isRegisterOp(f)
}

// conn is the client's connection to one node. It stays on that node
// (discovered servers are ignored) and reconnects to it after a restart
// (for 10 s; then it is closed, and the next operation dials again);
// nothing is buffered while it is down, so a publish then is refused, not
// sent later.
type conn struct {
	mu        sync.Mutex
	nc        *natsgo.Conn
	js        jetstream.JetStream
	consumers map[string]jetstream.Consumer
	kvb       jetstream.KeyValue
}

func (c *client) conn(ctx context.Context, base string) (*conn, error) {
	c.mu.Lock()
	cn := c.conns[base]
	if cn == nil {
		cn = &conn{consumers: map[string]jetstream.Consumer{}}
		c.conns[base] = cn
	}
	c.mu.Unlock()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.nc != nil && !cn.nc.IsClosed() {
		return cn, nil
	}
	timeout := 2 * time.Second
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), 10*time.Millisecond)
	}
	nc, err := natsgo.Connect(natsURL(base), natsgo.Name("faultline"), natsgo.Timeout(timeout),
		natsgo.IgnoreDiscoveredServers(), natsgo.MaxReconnects(100), natsgo.ReconnectWait(100*time.Millisecond),
		natsgo.ReconnectBufSize(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", base, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	cn.nc, cn.js, cn.kvb = nc, js, nil
	clear(cn.consumers)
	return cn, nil
}

// consumer is the queue's durable consumer, looked up once per connection.
func (cn *conn) consumer(ctx context.Context, q string) (jetstream.Consumer, error) {
	cn.mu.Lock()
	cons := cn.consumers[q]
	js := cn.js
	cn.mu.Unlock()
	if cons != nil {
		return cons, nil
	}
	cons, err := js.Consumer(ctx, queueStream(q), consumerName)
	if err != nil {
		return nil, err
	}
	cn.mu.Lock()
	cn.consumers[q] = cons
	cn.mu.Unlock()
	return cons, nil
}

// Close closes every connection (io.Closer: the run calls it at its end).
func (c *client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cn := range c.conns {
		cn.mu.Lock()
		if cn.nc != nil {
			cn.nc.Close()
		}
		cn.mu.Unlock()
	}
	return nil
}

func (c *client) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	// Answer a little before the load's own timeout: a late answer is
	// recorded as info whatever it says.
	if d, ok := ctx.Deadline(); ok {
		margin := min(time.Until(d)/10, 200*time.Millisecond)
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-margin))
		defer cancel()
	}
	cn, err := c.conn(ctx, base)
	if err != nil {
		return fail(err) // nothing was sent
	}
	if isRegisterOp(op.F) {
		return c.doKV(ctx, cn, op)
	}
	switch op.F {
	case queue.FEnqueue:
		ack, err := cn.js.Publish(ctx, queueSubject(op.Key), []byte(message(op)))
		if err != nil {
			return classifyWrite(err)
		}
		return targets.Outcome{Type: history.OK, Version: seqJSON(ack.Sequence)}
	case logwl.FSend:
		v := message(op)
		ack, err := cn.js.Publish(ctx, logSubject(op.Key), []byte(v))
		if err != nil {
			return classifyWrite(err)
		}
		return targets.Outcome{Type: history.OK, Data: json.RawMessage("[" + strconv.FormatUint(ack.Sequence, 10) + "," + v + "]"),
			Version: seqJSON(ack.Sequence)}
	case queue.FDequeue:
		return c.dequeue(ctx, cn, op.Key)
	case queue.FDrain:
		return c.drain(ctx, cn, op.Key)
	case logwl.FPoll:
		return c.poll(ctx, cn, op)
	case logwl.FReadAll:
		recs, err := readFrom(ctx, cn.nc, op.Key, 1, -1)
		if err != nil {
			return fail(err) // a read that failed says nothing
		}
		return targets.Outcome{Type: history.OK, Data: recs.json()}
	}
	return targets.Outcome{Type: history.Fail, Error: "nats: unsupported operation " + op.F}
}

// message is what an enqueue or send carries, as decimal text.
func message(op *history.Event) string {
	if op.Value != "" {
		return op.Value
	}
	return string(op.Data)
}

func seqJSON(seq uint64) json.RawMessage { return json.RawMessage(strconv.FormatUint(seq, 10)) }

func fail(err error) targets.Outcome { return targets.Outcome{Type: history.Fail, Error: err.Error()} }

// classifyWrite classifies a publish's error. Certain failures: nobody
// listens on the subject (no stream leader took it), the connection was
// down so nothing was sent (no reconnect buffer), or JetStream answered
// with an error (it did not store it). Anything else, chiefly a timeout
// waiting for the ack, may have been stored: info.
func classifyWrite(err error) targets.Outcome {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, natsgo.ErrNoResponders),
		errors.Is(err, natsgo.ErrReconnectBufExceeded), errors.Is(err, natsgo.ErrInvalidConnection),
		errors.As(err, &apiErr):
		return fail(err)
	}
	return targets.Outcome{Type: history.Info, Error: err.Error()}
}

// dequeue takes what the queue has, up to batch messages, and acks each.
func (c *client) dequeue(ctx context.Context, cn *conn, q string) targets.Outcome {
	cons, err := cn.consumer(ctx, q)
	if err != nil {
		return fail(err)
	}
	b, err := cons.FetchNoWait(c.batch)
	if err != nil {
		return fail(err)
	}
	vals, doubt := ackAll(ctx, b.Messages(), nil)
	if len(vals) == 0 {
		if err := b.Error(); err != nil {
			return fail(err)
		}
	}
	return taken(vals, doubt)
}

// ackAll double-acks every message of msgs while ctx lasts, adding its
// value to vals; doubt is the first ack that did not confirm. A message
// that arrives when time is up is neither acked nor reported: JetStream
// redelivers it after ackWait.
func ackAll(ctx context.Context, msgs <-chan jetstream.Msg, vals []int64) ([]int64, error) {
	var doubt error
	for m := range msgs {
		if ctx.Err() != nil {
			continue // drain the channel; the message comes back
		}
		v, err := strconv.ParseInt(string(m.Data()), 10, 64)
		if err != nil {
			// Not a message of the workload: report it as it is.
			v = -1
		}
		vals = append(vals, v)
		if err := m.DoubleAck(ctx); err != nil && doubt == nil {
			doubt = fmt.Errorf("ack of message %d: %w", v, err)
		}
	}
	return vals, doubt
}

// taken is the outcome of a dequeue or drain that received vals.
func taken(vals []int64, doubt error) targets.Outcome {
	b := []byte{'['}
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, v, 10)
	}
	out := targets.Outcome{Type: history.OK, Data: append(b, ']')}
	if doubt != nil {
		out.Type, out.Error = history.Info, doubt.Error()
	}
	return out
}

// drain fetches and acks until the consumer has nothing left: no message
// pending and none delivered awaiting its ack (those come back after
// ackWait). Only then is it ok; cut short, it is info with what it took
// (or fail when it took nothing).
func (c *client) drain(ctx context.Context, cn *conn, q string) targets.Outcome {
	cons, err := cn.consumer(ctx, q)
	if err != nil {
		return fail(err)
	}
	var vals []int64
	var doubt, last error
	for ctx.Err() == nil {
		wait := 500 * time.Millisecond
		if d, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(d)/2)
		}
		if wait <= 10*time.Millisecond {
			break
		}
		b, err := cons.Fetch(256, jetstream.FetchMaxWait(wait))
		if err != nil {
			last = err
			continue
		}
		n := len(vals)
		var d error
		vals, d = ackAll(ctx, b.Messages(), vals)
		doubt = cmpOr(doubt, d)
		if len(vals) > n {
			continue
		}
		if err := b.Error(); err != nil {
			last = err
			continue
		}
		info, err := cons.Info(ctx)
		if err != nil {
			last = err
			continue
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			return taken(vals, doubt)
		}
		last = fmt.Errorf("queue %s: %d pending, %d awaiting an ack", q, info.NumPending, info.NumAckPending)
	}
	if len(vals) == 0 {
		return fail(fmt.Errorf("drain of %s cut short: %v", q, cmpOr(last, ctx.Err())))
	}
	out := taken(vals, doubt)
	out.Type, out.Error = history.Info, fmt.Sprintf("drain of %s cut short after %d messages: %v", q, len(vals), cmpOr(last, ctx.Err()))
	return out
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// poll reads up to batch records from the process's position in the stream.
func (c *client) poll(ctx context.Context, cn *conn, op *history.Event) targets.Outcome {
	k := posKey{op.Process, op.Key}
	c.posMu.Lock()
	from, ok := c.pos[k]
	if !ok {
		from = max(c.frontier[op.Key], 1)
	}
	c.posMu.Unlock()
	recs, err := readFrom(ctx, cn.nc, op.Key, from, c.batch)
	if len(recs) == 0 && err != nil {
		return fail(err)
	}
	next := from
	if len(recs) > 0 {
		next = recs[len(recs)-1].seq + 1
	}
	c.posMu.Lock()
	c.pos[k] = next
	if next > c.frontier[op.Key] {
		c.frontier[op.Key] = next
	}
	c.posMu.Unlock()
	return targets.Outcome{Type: history.OK, Data: recs.json()}
}

type record struct {
	seq uint64
	v   int64
}

type records []record

func (rs records) json() json.RawMessage {
	b := make([]byte, 0, 2+len(rs)*16)
	b = append(b, '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendUint(b, r.seq, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.v, 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// notFound is the message-get API's "no message found" (nothing at or
// after the sequence asked).
const notFound = 10037

// readFrom reads log stream s from sequence seq on, up to n records (n < 0:
// to the end), by the stream leader's message-get API. It returns what it
// read and the error that stopped it early, if any.
func readFrom(ctx context.Context, nc *natsgo.Conn, s string, seq uint64, n int) (records, error) {
	var out records
	subj, stream := logSubject(s), "$JS.API.STREAM.MSG.GET."+logStream(s)
	for n < 0 || len(out) < n {
		req, _ := json.Marshal(struct {
			Seq  uint64 `json:"seq"`
			Next string `json:"next_by_subj"`
		}{seq, subj})
		var resp struct {
			Message struct {
				Seq  uint64 `json:"seq"`
				Data string `json:"data"`
			} `json:"message"`
		}
		err := apiJSON(ctx, nc, stream, req, &resp)
		var ae *apiError
		if errors.As(err, &ae) && ae.ErrCode == notFound {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		data, err := base64.StdEncoding.DecodeString(resp.Message.Data)
		if err != nil {
			return out, fmt.Errorf("stream %s sequence %d: %w", s, resp.Message.Seq, err)
		}
		v, err := strconv.ParseInt(string(data), 10, 64)
		if err != nil {
			v = -1 // not a message of the workload: reported as it is
		}
		out = append(out, record{resp.Message.Seq, v})
		seq = resp.Message.Seq + 1
	}
	return out, nil
}

// Setup creates the workload's streams (and each queue's consumer) with the
// target's replicas and storage, retrying while JetStream elects its
// metadata leader (seconds after the servers are up), and waits until each
// stream has a leader.
func (c *client) Setup(ctx context.Context, bases []string) error {
	if len(c.queues) == 0 && len(c.streams) == 0 && !c.register {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	storage := jetstream.FileStorage
	if c.t.storage == Memory {
		storage = jetstream.MemoryStorage
	}
	var cfgs []jetstream.StreamConfig
	for _, q := range c.queues {
		cfgs = append(cfgs, jetstream.StreamConfig{Name: queueStream(q), Subjects: []string{queueSubject(q)},
			Retention: jetstream.WorkQueuePolicy, Storage: storage, Replicas: c.t.replicas})
	}
	for _, s := range c.streams {
		cfgs = append(cfgs, jetstream.StreamConfig{Name: logStream(s), Subjects: []string{logSubject(s)},
			Retention: jetstream.LimitsPolicy, Storage: storage, Replicas: c.t.replicas})
	}
	var last error
	for try := 0; ; try++ {
		if try > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("nats: create %d streams (replicas=%d): %w (last: %v)", len(cfgs), c.t.replicas, ctx.Err(), last)
			case <-time.After(250 * time.Millisecond):
			}
		}
		if last = c.setupVia(ctx, bases[try%len(bases)], cfgs); last == nil {
			return nil
		}
	}
}

func (c *client) setupVia(ctx context.Context, base string, cfgs []jetstream.StreamConfig) error {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cn, err := c.conn(rctx, base)
	if err != nil {
		return err
	}
	if c.register {
		if err := c.setupKV(rctx, cn); err != nil {
			return err
		}
	}
	for _, sc := range cfgs {
		st, err := cn.js.CreateOrUpdateStream(rctx, sc)
		if err != nil {
			return fmt.Errorf("stream %s: %w", sc.Name, err)
		}
		if sc.Retention == jetstream.WorkQueuePolicy {
			if _, err := st.CreateOrUpdateConsumer(rctx, jetstream.ConsumerConfig{Durable: consumerName,
				AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, MaxDeliver: -1, MaxAckPending: -1}); err != nil {
				return fmt.Errorf("consumer of %s: %w", sc.Name, err)
			}
		}
		info, err := st.Info(rctx)
		if err != nil {
			return fmt.Errorf("stream %s: %w", sc.Name, err)
		}
		if info.Cluster != nil && info.Cluster.Leader == "" {
			return fmt.Errorf("stream %s has no leader yet", sc.Name)
		}
	}
	return nil
}
