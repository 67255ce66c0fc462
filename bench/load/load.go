package load

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/runtime"
)

// Node is what the load needs of a node: its name and its client endpoint,
// asked for every operation because it may change when the node restarts.
type Node interface {
	Name() string
	Endpoint(port string) string
}

// Nodes adapts a cluster's nodes.
func Nodes(ns []runtime.Node) []Node {
	out := make([]Node, len(ns))
	for i, n := range ns {
		out[i] = n
	}
	return out
}

// Load drives one vegeta attack against every node and records each
// operation's invoke and completion in the history.
//
// Open loop (a Schedule pacer): requests leave on the pacer's schedule
// whatever the target does, up to MaxInFlight at once; every invoke carries
// its intended send time. Closed loop (ClosedLoop): a fixed number of
// processes, each sending its next operation when the previous one ended.
type Load struct {
	// Client performs the operations; vegeta sends its Requester form
	// (targets.ForLoad).
	Client   targets.Client
	Nodes    []Node
	Workload workload.Generator
	Rec      *history.Writer
	Pacer    vegeta.Pacer
	Duration time.Duration
	// MaxInFlight bounds vegeta's workers, so a stalled cluster cannot make
	// the generator pile up goroutines: the pacer falls behind instead, and
	// the requests it could not send on time are counted late or dropped.
	MaxInFlight int
	// DropAfter, when positive, skips requests that could not be sent within
	// DropAfter of their intended time instead of sending them in a burst.
	DropAfter time.Duration
	// Timeout is the client's per-request timeout.
	Timeout time.Duration
	// Results, when set, receives every vegeta result in vegeta's own
	// encoding, readable by `vegeta report`.
	Results vegeta.Encoder
	// Live, when set, counts operations as they are invoked and completed,
	// for a progress display (progress.go).
	Live *LiveCounts
}

// Stats counts what the attack did.
type Stats struct {
	// Mode is "open" (paced) or "closed" (fixed processes).
	Mode string `json:"mode"`
	// Scheduled is how many requests the pacer meant to send in the run.
	Scheduled int64 `json:"scheduled,omitempty"`
	Invoked   int64 `json:"invoked"`
	Completed int64 `json:"completed"`
	// Late requests were sent more than history.LateAfter after their
	// intended time: the generator could not keep up.
	Late int64 `json:"late"`
	// Dropped requests were scheduled but never sent: skipped by DropAfter,
	// or still waiting for a worker when the run ended.
	Dropped int64 `json:"dropped"`
	// PeakInFlight is the most requests in flight at once; equal to
	// max_in_flight means the workers were all busy at some point.
	PeakInFlight int64 `json:"peak_in_flight"`
	// Unmatched counts results whose op id could not be found; it must be 0.
	Unmatched int64 `json:"unmatched"`
}

// pending holds the invoked operations awaiting their result, sharded to keep
// the targeter and the result loop off one lock. Operations live in a pool:
// the targeter takes one, the result loop turns it into the completion and
// gives it back, so that the hot path allocates no event.
type pending struct {
	shards [64]struct {
		sync.Mutex
		m map[uint64]*pendingOp
		_ [40]byte // keep shards on separate cache lines
	}
	pool sync.Pool
}

type pendingOp struct {
	history.Event
	node int
}

func newPending() *pending {
	p := &pending{}
	for i := range p.shards {
		p.shards[i].m = make(map[uint64]*pendingOp)
	}
	p.pool.New = func() any { return new(pendingOp) }
	return p
}

func (p *pending) get() *pendingOp { return p.pool.Get().(*pendingOp) }

func (p *pending) free(op *pendingOp) {
	// The Version buffer is kept (empty): a client appends the next
	// operation's version into it (the history has copied this one).
	v := op.Version[:0]
	*op = pendingOp{}
	op.Version = v
	p.pool.Put(op)
}

func (p *pending) put(op *pendingOp) {
	s := &p.shards[op.ID%uint64(len(p.shards))]
	s.Lock()
	s.m[op.ID] = op
	s.Unlock()
}

func (p *pending) take(id uint64) (*pendingOp, bool) {
	s := &p.shards[id%uint64(len(p.shards))]
	s.Lock()
	op, ok := s.m[id]
	delete(s.m, id)
	s.Unlock()
	return op, ok
}

// attack is the state of one Run: what the targeter (vegeta's workers) and
// the result loop share.
type attack struct {
	l       *Load
	req     targets.Requester // what vegeta sends (targets.ForLoad)
	maxw    uint64
	procs   processPool
	pace    *pacing
	pend    *pending
	start   time.Time
	nextID  atomic.Uint64
	invoked atomic.Int64
	// inFlight and peak count requests between the targeter and the result
	// loop.
	inFlight, peak atomic.Int64
	// Only the result loop touches these.
	stats  Stats
	encErr error
	// buildErr is the first request that could not be built (it stopped
	// the attack).
	buildErr atomic.Pointer[error]
}

func (l *Load) newAttack() *attack {
	a := &attack{l: l, req: targets.ForLoad(l.Client), maxw: uint64(l.MaxInFlight), pend: newPending(), start: l.Rec.Start()}
	a.stats.Mode = "open"
	if a.maxw == 0 {
		a.maxw = 1024
	}
	a.procs = newOpenProcesses(len(l.Nodes))
	if c, ok := l.Pacer.(ClosedLoop); ok {
		a.stats.Mode = "closed"
		a.maxw = uint64(c.Processes)
		a.procs = newClosedProcesses(c.Processes, len(l.Nodes))
	}
	a.pace = newPacing(l.Pacer, l.DropAfter, l.Rec.Now, int(a.maxw))
	return a
}

// target is vegeta's Targeter: an operation is born, recorded as invoked and
// turned into the request.
func (a *attack) target(t *vegeta.Target) error {
	l := a.l
	intended := a.pace.next()
	p := a.pend.get()
	op := &p.Event
	op.Type, op.ID = history.Invoke, a.nextID.Add(1)
	ni, proc := a.procs.acquire(op.ID)
	node := l.Nodes[ni]
	p.node, op.Process, op.Node = ni, proc, node.Name()
	l.Workload.Next(op)
	base := node.Endpoint(targets.ClientPort)
	err := a.req.Request(op, base, t)
	if err == nil {
		// Every request goes to its node and nowhere else, whatever a
		// template rendered for this operation.
		err = httpx.CheckURL(t.URL, base)
	}
	if err != nil {
		// Returning an error stops the attack: a request we cannot even
		// build is a bug, not a fault to measure.
		l.Workload.Done(op)
		a.procs.release(ni, op.Process, false)
		defer a.pend.free(p)
		// A variable of its own: taking err's address would move it to
		// the heap on every operation.
		berr := fmt.Errorf("build the request of %s %s: %w", op.F, op.Key, err)
		a.buildErr.CompareAndSwap(nil, &berr)
		return berr
	}
	op.Time = l.Rec.Now()
	if intended > 0 {
		op.Intended = min(intended, op.Time)
	}
	// Recorded before it is published: once in pend, the result loop may
	// complete and reuse it.
	l.Rec.Append(*op)
	a.invoked.Add(1)
	if l.Live != nil {
		l.Live.Invoked.Add(1)
	}
	if n := a.inFlight.Add(1); n > a.peak.Load() {
		peakMax(&a.peak, n)
	}
	a.pend.put(p)
	return nil
}

// complete records the completion of the operation res answers.
func (a *attack) complete(res *vegeta.Result) {
	l := a.l
	id, ok := opID(res.URL)
	var p *pendingOp
	if ok {
		p, ok = a.pend.take(id)
	}
	if !ok {
		a.stats.Unmatched++
		return
	}
	a.inFlight.Add(-1)
	a.stats.Completed++
	op := &p.Event
	if op.Intended > 0 && op.Time-op.Intended > int64(history.LateAfter) {
		a.stats.Late++
	}
	out := a.req.Classify(op, res)
	// The invoke becomes its completion in place.
	op.Type, op.Error, op.Intended = out.Type, out.Error, 0
	op.Time = int64(res.Timestamp.Add(res.Latency).Sub(a.start))
	if op.F == history.FRead {
		op.Value = out.Value
	}
	if len(out.Data) > 0 {
		op.Data = out.Data
	}
	op.Version = out.Version
	l.Rec.Append(*op)
	if l.Live != nil {
		l.Live.completed(out.Type)
	}
	l.Workload.Done(op)
	a.procs.release(p.node, op.Process, out.Type == history.Info)
	a.pend.free(p)
	if l.Results != nil && a.encErr == nil {
		// Bodies are in the history and headers are not reported: keep the
		// file small and the encoding cheap.
		res.Body, res.Headers = nil, nil
		a.encErr = l.Results.Encode(res)
	}
}

// Run attacks until Duration elapses or ctx ends, then waits for the requests
// in flight to finish (bounded by Timeout).
func (l *Load) Run(ctx context.Context) (Stats, error) {
	if len(l.Nodes) == 0 {
		return Stats{}, fmt.Errorf("load: no nodes")
	}
	a := l.newAttack()
	workers := min(a.maxw, 16) // vegeta adds workers as requests wait, up to maxw
	if a.stats.Mode == "closed" {
		workers = a.maxw
	}
	opts := []func(*vegeta.Attacker){
		vegeta.Workers(workers),
		vegeta.MaxWorkers(a.maxw),
		vegeta.KeepAlive(true),
		vegeta.Connections(int(a.maxw)),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.MaxBody(64 << 10),
		vegeta.Timeout(l.Timeout),
	}
	// Last: vegeta's other options assume its own *http.Transport, whose
	// proxy comes from the environment. Ours has none, follows no redirect
	// and sends only to the nodes (targets/httpx).
	// The transport is a plain *http.Transport (see httpx.NewHTTPTransport):
	// every request's URL was checked against its node in target.
	hc := &http.Client{Transport: httpx.NewHTTPTransport(httpx.WithConnections(int(a.maxw))), Timeout: l.Timeout, CheckRedirect: httpx.NoRedirect}
	defer hc.CloseIdleConnections()
	if tr, ok := a.req.(targets.Transporter); ok {
		hc = &http.Client{Transport: tr.Transport(), Timeout: l.Timeout, CheckRedirect: httpx.NoRedirect}
	}
	opts = append(opts, vegeta.Client(hc))
	atk := vegeta.NewAttacker(opts...)
	results := atk.Attack(a.target, a.pace, l.Duration, "faultline")
	var stoppedAt atomic.Int64
	stop := context.AfterFunc(ctx, func() {
		stoppedAt.Store(l.Rec.Now())
		atk.Stop()
	})
	defer stop()
	for res := range results {
		a.complete(res)
	}
	stats := a.stats
	stats.Invoked = a.invoked.Load()
	// The count runs up to one ahead: a worker may take its next tick while
	// the result loop is still counting its last result. vegeta never runs
	// more than maxw requests at once.
	stats.PeakInFlight = min(a.peak.Load(), int64(a.maxw))
	end := l.Duration
	if s := stoppedAt.Load(); s > 0 && time.Duration(s-a.pace.offset) < end {
		end = time.Duration(s - a.pace.offset)
	}
	if a.pace.sched != nil {
		stats.Scheduled = int64(a.pace.sched.DueBy(end))
	}
	stats.Dropped = a.pace.dropped.Load() + a.pace.unsent(end, history.LateAfter)
	if n := a.pace.overrun.Load(); n > 0 {
		return stats, fmt.Errorf("load: %d intended send times were lost (a bug)", n)
	}
	if a.encErr != nil {
		return stats, fmt.Errorf("write vegeta results: %w", a.encErr)
	}
	if err := a.buildErr.Load(); err != nil {
		return stats, fmt.Errorf("load stopped: %w", *err)
	}
	return stats, nil
}

func peakMax(peak *atomic.Int64, n int64) {
	for {
		p := peak.Load()
		if n <= p || peak.CompareAndSwap(p, n) {
			return
		}
	}
}

// opID extracts the op id from a request URL ending in "op=<id>".
func opID(url string) (uint64, bool) {
	i := strings.LastIndex(url, "op=")
	if i < 0 {
		return 0, false
	}
	s := url[i+3:]
	if j := strings.IndexByte(s, '&'); j >= 0 {
		s = s[:j]
	}
	id, err := strconv.ParseUint(s, 10, 64)
	return id, err == nil
}
