package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
)

// Load drives one open-loop vegeta attack against every node and records each
// operation's invoke and completion in the history.
type Load struct {
	Client   targets.Client
	Nodes    []runtime.Node
	Workload Workload
	Rec      *history.Writer
	Pacer    vegeta.Pacer
	Duration time.Duration
	// MaxInFlight bounds vegeta's workers, so a stalled cluster cannot make
	// the generator pile up goroutines.
	MaxInFlight int
	// Timeout is the client's per-request timeout.
	Timeout time.Duration
	// Results, when set, receives every vegeta result in vegeta's own
	// encoding, readable by `vegeta report`.
	Results vegeta.Encoder
}

// LoadStats counts what the attack did.
type LoadStats struct {
	Invoked   int64 `json:"invoked"`
	Completed int64 `json:"completed"`
	// Unmatched counts results whose op id could not be found; it must be 0.
	Unmatched int64 `json:"unmatched"`
}

// pending holds the invoked operations awaiting their result, sharded to keep
// the targeter and the result loop off one lock.
type pending struct {
	shards [64]struct {
		sync.Mutex
		m map[uint64]history.Event
	}
}

func newPending() *pending {
	p := &pending{}
	for i := range p.shards {
		p.shards[i].m = make(map[uint64]history.Event)
	}
	return p
}

func (p *pending) put(e history.Event) {
	s := &p.shards[e.ID%uint64(len(p.shards))]
	s.Lock()
	s.m[e.ID] = e
	s.Unlock()
}

func (p *pending) take(id uint64) (history.Event, bool) {
	s := &p.shards[id%uint64(len(p.shards))]
	s.Lock()
	e, ok := s.m[id]
	delete(s.m, id)
	s.Unlock()
	return e, ok
}

// Run attacks until Duration elapses or ctx ends, then waits for the requests
// in flight to finish (bounded by Timeout).
func (l *Load) Run(ctx context.Context) (LoadStats, error) {
	var stats LoadStats
	if len(l.Nodes) == 0 {
		return stats, fmt.Errorf("load: no nodes")
	}
	procs := newProcesses(len(l.Nodes))
	nodeIndex := map[string]int{}
	for i, n := range l.Nodes {
		nodeIndex[n.Name()] = i
	}
	pend := newPending()
	var nextID atomic.Uint64
	var invoked atomic.Int64
	targeter := func(t *vegeta.Target) error {
		op := history.Event{Type: history.Invoke, ID: nextID.Add(1)}
		ni := int(op.ID % uint64(len(l.Nodes)))
		node := l.Nodes[ni]
		op.Process = procs.acquire(ni)
		op.Node = node.Name()
		l.Workload.Next(&op)
		if err := l.Client.Request(&op, node.Endpoint(targets.ClientPort), t); err != nil {
			// Returning an error stops the attack: a request we cannot even
			// build is a bug, not a fault to measure.
			l.Workload.Done(&op)
			procs.release(ni, op.Process, false)
			return err
		}
		op.Time = l.Rec.Now()
		pend.put(op)
		l.Rec.Append(op)
		invoked.Add(1)
		return nil
	}
	maxw := uint64(l.MaxInFlight)
	if maxw == 0 {
		maxw = 512
	}
	workers := min(maxw, 16)
	atk := vegeta.NewAttacker(
		vegeta.Workers(workers),
		vegeta.MaxWorkers(maxw),
		vegeta.Timeout(l.Timeout),
		vegeta.KeepAlive(true),
		vegeta.Connections(int(maxw)),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.MaxBody(64<<10),
	)
	start := l.Rec.Start()
	results := atk.Attack(targeter, l.Pacer, l.Duration, "faultline")
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var encErr error
	for res := range results {
		id, ok := opID(res.URL)
		var op history.Event
		if ok {
			op, ok = pend.take(id)
		}
		if !ok {
			stats.Unmatched++
			continue
		}
		stats.Completed++
		out := l.Client.Classify(&op, res)
		done := op
		done.Type, done.Error = out.Type, out.Error
		done.Time = int64(res.Timestamp.Add(res.Latency).Sub(start))
		if op.F == history.FRead {
			done.Value = out.Value
		}
		l.Rec.Append(done)
		l.Workload.Done(&op)
		procs.release(nodeIndex[op.Node], op.Process, out.Type == history.Info)
		if l.Results != nil && encErr == nil {
			res.Body = nil // bodies are in the history; keep the file small
			encErr = l.Results.Encode(res)
		}
	}
	stats.Invoked = invoked.Load()
	if encErr != nil {
		return stats, fmt.Errorf("write vegeta results: %w", encErr)
	}
	return stats, nil
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
