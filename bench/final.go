package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/chaos/nemesis"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
	"github.com/faultline/faultline/targets/runtime"
)

// idTracker wraps the generator and remembers the largest op id and process
// the load used, so that the final phase's operations get ids and processes
// of their own.
type idTracker struct {
	workload.Generator
	maxID   atomic.Uint64
	maxProc atomic.Int64
}

func (t *idTracker) Next(op *history.Event) {
	t.Generator.Next(op)
	for id := t.maxID.Load(); op.ID > id && !t.maxID.CompareAndSwap(id, op.ID); id = t.maxID.Load() {
	}
	for p := t.maxProc.Load(); int64(op.Process) > p && !t.maxProc.CompareAndSwap(p, int64(op.Process)); p = t.maxProc.Load() {
	}
}

// finalEnv is the workload.FinalEnv of a run: every operation is recorded,
// invoke and completion, marked final, with a per-request timeout.
type finalEnv struct {
	client  targets.Client
	nodes   []runtime.Node
	rec     *history.Writer
	timeout time.Duration
	nextID  atomic.Uint64
	nextPr  atomic.Int64
}

var _ workload.FinalEnv = (*finalEnv)(nil)

func (f *finalEnv) Nodes() int { return len(f.nodes) }

func (f *finalEnv) NewProcess() history.Process { return history.Process(f.nextPr.Add(1) - 1) }

func (f *finalEnv) Do(ctx context.Context, op *history.Event, i int) targets.Outcome {
	return f.do(ctx, f.client, op, i, "")
}

// do performs op with client on node i and records it, under the operation
// function recordAs when it is set (a member read is sent as a read).
func (f *finalEnv) do(ctx context.Context, client targets.Client, op *history.Event, i int, recordAs string) targets.Outcome {
	node := f.nodes[i]
	op.Type, op.ID, op.Node, op.Final = history.Invoke, f.nextID.Add(1)-1, node.Name(), true
	op.Time = f.rec.Now()
	sent := *op
	if recordAs != "" {
		op.F = recordAs
	}
	f.rec.Append(*op)
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	out := client.Do(rctx, &sent, node.Endpoint(targets.ClientPort))
	cancel()
	if out.Type == 0 || out.Type == history.Invoke {
		out.Type = history.Info
	}
	done := *op
	done.Type, done.Error, done.Time, done.Version = out.Type, out.Error, f.rec.Now(), out.Version
	if out.Type == history.OK && sent.F == history.FRead {
		done.Value = out.Value
	}
	if len(out.Data) > 0 {
		done.Data = out.Data
	}
	f.rec.Append(done)
	return out
}

// finalClient is the client of the final phase: the target's strongest
// reads.
func finalClient(t targets.Target, l scenario.LoadConfig) (targets.Client, error) {
	return t.Client(targets.ClientConfig{Final: true, Workload: l.Workload, WorkloadOptions: l.WorkloadOptions})
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

// finish heals everything, leaves the cluster a quiet period, then runs the
// workload's final phase, if it has one.
func (r *Run) finish(ctx context.Context, p *prepared, cfg runConfig, cluster runtime.Cluster, env *chaos.Env,
	rec *history.Writer, ids *idTracker) error {
	sc := p.sc
	if err := nemesis.HealAndVerify(ctx, env, cfg.log); err != nil {
		return err
	}
	fin, ok := p.workload.(workload.Finisher)
	if !sc.Chaos.FinalReads || !ok {
		return nil
	}
	if len(p.nemesis.Faults()) > 0 {
		cfg.log("quiet period: %v", sc.Chaos.Quiet)
		if !quietPeriod(ctx, time.Duration(sc.Chaos.Quiet)) {
			return nil
		}
		if err := runtime.WaitHealthy(ctx, p.target, cluster.Nodes(), time.Duration(sc.Cluster.HealthTimeout)); err != nil {
			cfg.log("not every node is healthy after healing; reading anyway: %v", err)
		}
	}
	client, err := finalClient(p.target, sc.Load)
	if err != nil {
		return fmt.Errorf("final reads: %w", err)
	}
	defer closeClient(client)
	fe := &finalEnv{client: client, nodes: cluster.Nodes(), rec: rec, timeout: time.Duration(sc.Load.Timeout)}
	fe.nextID.Store(ids.maxID.Load() + 1)
	fe.nextPr.Store(ids.maxProc.Load() + 1)
	env2, closeMember, err := newFinalEnv(p.target, fe)
	if err != nil {
		return err
	}
	defer closeMember()
	fctx, cancel := context.WithTimeout(ctx, time.Duration(sc.Chaos.FinalTimeout))
	defer cancel()
	st := fin.Final(fctx, ids.Generator, env2)
	r.Info.FinalReads = &st
	cfg.log("final reads: %d of %d written keys read (%d attempts)", st.Read, st.Keys, st.Attempts)
	return nil
}

// memberEnv is the finalEnv of a target with per-member reads.
type memberEnv struct {
	*finalEnv
	reader targets.MemberReader
	member targets.Client
}

var _ workload.MemberEnv = (*memberEnv)(nil)

func (m *memberEnv) MemberRead(ctx context.Context, key string, i int, proc history.Process) targets.Outcome {
	op := history.Event{F: history.FRead, Key: key, Process: proc}
	return m.do(ctx, m.member, &op, i, targets.FMemberRead)
}

// Probe records each member's probe as an operation of its own: ok with the
// probe as its value, or fail with the member's error.
func (m *memberEnv) Probe(ctx context.Context) {
	bases := make([]string, len(m.nodes))
	for i, n := range m.nodes {
		bases[i] = n.Endpoint(targets.ClientPort)
	}
	proc := m.NewProcess()
	start := m.rec.Now()
	pctx, cancel := context.WithTimeout(ctx, 4*m.timeout)
	probes, errs := m.reader.Probe(pctx, httpx.NewClient(m.timeout), bases)
	cancel()
	end := m.rec.Now()
	for i, n := range m.nodes {
		op := history.Event{Type: history.Invoke, F: targets.FMemberProbe, Process: proc, ID: m.nextID.Add(1) - 1,
			Node: n.Name(), Final: true, Time: start}
		m.rec.Append(op)
		op.Type, op.Time = history.OK, end
		if errs[i] != nil {
			op.Type, op.Error = history.Fail, errs[i].Error()
		} else {
			op.Data, _ = json.Marshal(probes[i])
		}
		m.rec.Append(op)
	}
}

// newFinalEnv returns the final phase's environment: a memberEnv when the
// target can read per member.
func newFinalEnv(t targets.Target, fe *finalEnv) (workload.FinalEnv, func(), error) {
	mr, ok := t.(targets.MemberReader)
	if !ok {
		return fe, func() {}, nil
	}
	mc, err := mr.MemberClient()
	if err != nil {
		return nil, nil, fmt.Errorf("per-member reads: %w", err)
	}
	return &memberEnv{finalEnv: fe, reader: mr, member: mc}, func() { closeClient(mc) }, nil
}
