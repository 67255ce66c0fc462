package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/runtime"
)

// writtenKeys wraps the workload and remembers every key a write or cas was
// invoked on, and the largest op id and process it saw, so that the final
// reads can read those keys back with ids and processes of their own.
type writtenKeys struct {
	Workload
	mu      sync.Mutex
	seen    map[string]bool
	keys    []string
	maxID   uint64
	maxProc history.Process
}

func trackWrites(w Workload) *writtenKeys { return &writtenKeys{Workload: w, seen: map[string]bool{}} }

func (w *writtenKeys) Next(op *history.Event) {
	w.Workload.Next(op)
	w.mu.Lock()
	defer w.mu.Unlock()
	if op.F != history.FRead && !w.seen[op.Key] {
		w.seen[op.Key] = true
		w.keys = append(w.keys, op.Key)
	}
	w.maxID = max(w.maxID, op.ID)
	w.maxProc = max(w.maxProc, op.Process)
}

func (w *writtenKeys) snapshot() (keys []string, maxID uint64, maxProc history.Process) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.keys...), w.maxID, w.maxProc
}

// FinalStats counts the final reads.
type FinalStats struct {
	Keys     int `json:"keys"`
	Read     int `json:"read"`
	Attempts int `json:"attempts"`
}

// finalReads reads every key once the cluster is healed and quiet. Each read
// is an ordinary operation of the history, marked Final on its invoke and its
// completion; a read that fails is retried (as a new operation, on the next
// node) until one succeeds or the deadline passes. A process whose read
// ended in info is retired, as during the load.
type finalReads struct {
	client   targets.Client
	nodes    []runtime.Node
	rec      *history.Writer
	timeout  time.Duration // per request
	deadline time.Duration // for all of them
	workers  int
}

func (f *finalReads) run(ctx context.Context, keys []string, firstID uint64, firstProc history.Process) FinalStats {
	ctx, cancel := context.WithTimeout(ctx, f.deadline)
	defer cancel()
	hc := httpx.NewClient(f.timeout, httpx.WithAllow(nodeHosts(f.nodes)))
	defer hc.CloseIdleConnections()
	var nextID atomic.Uint64
	nextID.Store(firstID)
	var nextProc atomic.Int64
	nextProc.Store(int64(firstProc))
	var read, attempts atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(1, f.workers) {
		wg.Go(func() {
			proc := history.Process(nextProc.Add(1) - 1)
			for k := range work {
				for try := 0; ctx.Err() == nil; try++ {
					attempts.Add(1)
					node := f.nodes[(k+try)%len(f.nodes)]
					out, sent := f.read(ctx, hc, node, keys[k], proc, nextID.Add(1)-1)
					if !sent {
						break // the client cannot even build the request: a bug, not a fault
					}
					if out == history.OK {
						read.Add(1)
						break
					}
					if out == history.Info {
						proc = history.Process(nextProc.Add(1) - 1)
					}
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
		})
	}
	for k := range keys {
		select {
		case work <- k:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return FinalStats{Keys: len(keys), Read: int(read.Load()), Attempts: int(attempts.Load())}
}

// read performs one final read and records it; it returns its outcome, and
// false if the request could not even be built.
func (f *finalReads) read(ctx context.Context, hc *http.Client, node runtime.Node, key string, proc history.Process, id uint64) (history.Type, bool) {
	op := history.Event{Type: history.Invoke, Process: proc, F: history.FRead, ID: id, Key: key, Node: node.Name(), Final: true}
	var t vegeta.Target
	base := node.Endpoint(targets.ClientPort)
	if err := f.client.Request(&op, base, &t); err != nil || httpx.CheckURL(t.URL, base) != nil {
		return history.Fail, false
	}
	req, err := t.Request()
	if err != nil {
		return history.Fail, false
	}
	req = req.WithContext(ctx)
	op.Time = f.rec.Now()
	f.rec.Append(op)
	start := time.Now()
	res := vegeta.Result{Attack: "final", Method: t.Method, URL: t.URL, Timestamp: start}
	resp, err := hc.Do(req)
	if err != nil {
		res.Error = err.Error()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			res.Error = "final read deadline: " + res.Error
		}
	} else {
		res.Body, err = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		res.Code = uint16(resp.StatusCode)
		if res.Code < 200 || res.Code >= 400 {
			res.Error = resp.Status
		} else if err != nil {
			res.Error, res.Code = err.Error(), 0
		}
	}
	res.Latency = time.Since(start)
	out := f.client.Classify(&op, &res)
	done := op
	done.Type, done.Error, done.Time = out.Type, out.Error, f.rec.Now()
	if out.Type == history.OK {
		done.Value = out.Value
	}
	f.rec.Append(done)
	return out.Type, true
}

// finalClient is the client of the final reads: linearizable reads where the
// target names them, otherwise its default.
func finalClient(t targets.Target) (targets.Client, error) {
	if c, err := t.Client(targets.ClientConfig{ReadMode: "linearizable"}); err == nil {
		return c, nil
	}
	return t.Client(targets.ClientConfig{})
}

// quietPeriod waits d, or until ctx ends.
func quietPeriod(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// finish heals everything, leaves the cluster a quiet period, then reads
// every key the run wrote (bench/final.go).
func (r *Run) finish(ctx context.Context, p *prepared, cfg runConfig, cluster runtime.Cluster, env *chaos.Env,
	rec *history.Writer, written *writtenKeys) error {
	sc := p.sc
	if err := healAndVerify(ctx, env, cfg.log); err != nil {
		return err
	}
	if !sc.Chaos.FinalReads {
		return nil
	}
	if len(p.nemesis.faults) > 0 {
		cfg.log("quiet period: %v", sc.Chaos.Quiet)
		if !quietPeriod(ctx, time.Duration(sc.Chaos.Quiet)) {
			return nil
		}
		if err := runtime.WaitHealthy(ctx, p.target, cluster.Nodes(), time.Duration(sc.Cluster.HealthTimeout)); err != nil {
			cfg.log("not every node is healthy after healing; reading anyway: %v", err)
		}
	}
	client, err := finalClient(p.target)
	if err != nil {
		return fmt.Errorf("final reads: %w", err)
	}
	keys, maxID, maxProc := written.snapshot()
	fr := &finalReads{client: client, nodes: cluster.Nodes(), rec: rec, timeout: time.Duration(sc.Load.Timeout),
		deadline: time.Duration(sc.Chaos.FinalTimeout), workers: 8}
	st := fr.run(ctx, keys, maxID+1, maxProc+1)
	r.Info.FinalReads = &st
	cfg.log("final reads: %d of %d written keys read (%d attempts)", st.Read, st.Keys, st.Attempts)
	return nil
}
