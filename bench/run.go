// Package bench runs a scenario: the run's lifecycle. Prepare resolves and
// refuses everything that needs no launching; Execute builds and launches
// the cluster (targets/runtime/pick), drives the load (bench/load) while
// the nemesis plan (chaos/nemesis) injects faults, heals, runs the
// workload's final phase and tears down, recording every operation into
// the run directory. The scenario is bench/scenario's; checking and
// reporting come after, in other packages.
package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/chaos/nemesis"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/image"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/pick"

	"github.com/faultline/faultline/bench/load"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/internal/safefile"
)

// Run is a finished (or interrupted) run.
type Run struct {
	Info scenario.RunInfo
	Dir  string
}

// Option configures Execute.
type Option func(*runConfig)

type runConfig struct {
	log   func(format string, args ...any)
	runID string
	// progress receives snapshots of the load (WithProgress).
	progress      func(load.Progress)
	progressEvery time.Duration
}

// WithLog receives progress lines.
func WithLog(f func(format string, args ...any)) Option { return func(c *runConfig) { c.log = f } }

// WithRunID fixes the run id (by default random).
func WithRunID(id string) Option { return func(c *runConfig) { c.runID = id } }

// prepared is a scenario whose every part was resolved without launching.
type prepared struct {
	sc       scenario.Scenario
	target   targets.Target
	client   targets.Client
	workload workload.Workload
	// nemesis is the faults and their schedule (chaos/nemesis).
	nemesis *nemesis.Plan
	pacer   vegeta.Pacer
}

// Prepare validates sc completely without launching anything; every error is
// a *scenario.ConfigError.
func Prepare(sc scenario.Scenario) (*prepared, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	t, err := sc.Cluster.LookupTarget()
	if err != nil {
		return nil, err
	}
	cl, err := t.Client(targets.ClientConfig{ReadMode: sc.Load.ReadMode, Workload: sc.Load.Workload, WorkloadOptions: sc.Load.WorkloadOptions})
	if err != nil {
		return nil, &scenario.ConfigError{Err: err}
	}
	wl, err := workload.Lookup(sc.Load.Workload)
	if err != nil {
		return nil, &scenario.ConfigError{Err: err}
	}
	if err := scenario.CheckOps(t, cl, sc.Load); err != nil {
		return nil, &scenario.ConfigError{Err: err}
	}
	if err := pick.Check(sc.Cluster.RuntimeConfig()); err != nil {
		return nil, &scenario.ConfigError{Err: err}
	}
	np, err := planNemesis(sc, t)
	if err != nil {
		return nil, err
	}
	pacer, _ := load.ParseRate(sc.Load.Rate, time.Duration(sc.Load.Duration))
	return &prepared{sc: sc, target: t, client: cl, workload: wl, nemesis: np, pacer: pacer}, nil
}

// Execute runs sc: build, launch, load with faults, heal, tear down. The run
// directory holds scenario.json, history.jsonl (streamed as it happens),
// results.bin and node logs. When an error happens after the history was
// opened, the Run is returned with the error so what was recorded can still
// be checked.
func Execute(ctx context.Context, sc scenario.Scenario, opts ...Option) (*Run, error) {
	cfg := runConfig{log: func(string, ...any) {}}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := Prepare(sc)
	if err != nil {
		return nil, err
	}
	if cfg.runID == "" {
		cfg.runID = runtime.NewRunID()
	} else if err := runtime.ValidateRunID(cfg.runID); err != nil {
		return nil, &scenario.ConfigError{Err: err}
	}
	now := time.Now()
	name := fmt.Sprintf("%s-%s-%s-%s", now.Format("20060102-150405"), sc.Cluster.Target, sanitize(nemesisLabel(sc.Chaos)), cfg.runID)
	if sc.Name != "" {
		name = fmt.Sprintf("%s-%s-%s", now.Format("20060102-150405"), sanitize(sc.Name), cfg.runID)
	}
	dir := filepath.Join(sc.Out, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	run := &Run{Dir: dir, Info: scenario.RunInfo{Scenario: sc, RunID: cfg.runID, Started: now, GoVersion: goruntime.Version()}}
	if sc.Cluster.Version == "" {
		run.Info.Cluster.Version = p.target.DefaultVersion()
	}
	if err := run.writeInfo(); err != nil {
		return nil, err
	}
	latest := filepath.Join(sc.Out, "latest")
	os.Remove(latest)
	_ = os.Symlink(name, latest) // a convenience only

	err = run.execute(ctx, p, cfg)
	if ctx.Err() != nil {
		run.Info.Interrupted = true
	}
	return run, errors.Join(err, run.writeInfo())
}

func (r *Run) execute(ctx context.Context, p *prepared, cfg runConfig) (err error) {
	sc := p.sc
	// A client holding connections (a driver's pools) closes them when the
	// run ends.
	defer closeClient(p.client)
	rt, err := pick.New(ctx, sc.Cluster.RuntimeConfig(), cfg.log)
	if err != nil {
		return err
	}
	r.Info.Cluster.Runtime, r.Info.Cluster.Netns = rt.Name(), pick.Netns(rt)
	cfg.log("preparing %s %s", sc.Cluster.Target, r.Info.Cluster.Version)
	art, err := p.target.Prepare(ctx, r.Info.Cluster.Version, targets.PrepareOptions{Log: cfg.log})
	if errors.Is(err, image.ErrNoEngine) {
		// A target built as an image cannot run here at all: nothing was
		// launched, so it is the scenario's problem (exit 3).
		return &scenario.ConfigError{Err: fmt.Errorf("--target %s needs a Docker engine to build its image: %w", sc.Cluster.Target, err)}
	}
	if err != nil {
		return fmt.Errorf("prepare %s: %w", sc.Cluster.Target, err)
	}
	r.Info.TargetVersion = art.Version
	if err := r.writeInfo(); err != nil {
		return err
	}
	sidecarImage, err := p.nemesis.PrepareSidecar(ctx, rt, r.Info.RunID, cfg.log)
	if err != nil {
		return refused(err)
	}
	cfg.log("launching %d %s %s nodes on %s (run %s)", sc.Cluster.Nodes, sc.Cluster.Target, art.Version, rt.Name(), r.Info.RunID)
	cluster, err := rt.Launch(ctx, runtime.ClusterSpec{
		RunID: r.Info.RunID, Target: p.target, Artifact: art, Nodes: sc.Cluster.Nodes,
		LogDir: filepath.Join(r.Dir, scenario.LogsDir), DataDir: filepath.Join(r.Dir, scenario.DataDir),
		HealthTimeout: time.Duration(sc.Cluster.HealthTimeout), Log: cfg.log, LazyFS: p.nemesis.LazyFS(),
	})
	if err != nil {
		return fmt.Errorf("launch cluster: %w", err)
	}
	defer func() {
		cctx := context.WithoutCancel(ctx)
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			cfg.log("the run failed: saving node data into %s", filepath.Join(r.Dir, scenario.DataDir))
			err = errors.Join(err, cluster.SaveData(cctx, filepath.Join(r.Dir, scenario.DataDir)))
		case err == nil && sc.Cluster.KeepData:
			cfg.log("saving node data into %s (keep_data)", filepath.Join(r.Dir, scenario.DataDir))
			err = cluster.SaveData(cctx, filepath.Join(r.Dir, scenario.DataDir))
		}
		cfg.log("tearing down the cluster")
		err = errors.Join(err, cluster.Close(cctx))
	}()

	// The firewall is ready before the history's clock starts, so that
	// the schedule's offsets are offsets from the start of the load.
	env, err := p.nemesis.NewEnv(ctx, p.target, cluster, rt, r.Info.RunID, sidecarImage, cfg.log)
	if env != nil && env.Firewall != nil {
		defer func() { err = errors.Join(err, env.Firewall.Close(context.WithoutCancel(ctx))) }()
	}
	if err != nil {
		return refused(err)
	}
	// Heal on every way out, including a panic in the load or Ctrl-C.
	defer func() { err = errors.Join(err, chaos.HealAll(context.WithoutCancel(ctx), env)) }()

	// The client's setup step (a schema, a stream, a queue) comes before
	// the history's clock starts: it is not an operation under test.
	if s, ok := p.client.(targets.Setupper); ok {
		bases := make([]string, 0, len(cluster.Nodes()))
		for _, n := range cluster.Nodes() {
			bases = append(bases, n.Endpoint(targets.ClientPort))
		}
		cfg.log("setting up the %s client", sc.Cluster.Target)
		if err := s.Setup(ctx, bases); err != nil {
			return fmt.Errorf("client setup: %w", err)
		}
	}
	rec, err := history.Create(filepath.Join(r.Dir, scenario.HistoryFile))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rec.Close()) }()
	resf, err := safefile.Create(r.Dir, scenario.ResultsFile, 0o644)
	if err != nil {
		return fmt.Errorf("create results file: %w", err)
	}
	defer func() { err = errors.Join(err, resf.Close()) }()
	// vegeta's encoder writes each result with its own Write: buffer them.
	resw := bufio.NewWriterSize(resf, 256<<10)
	defer func() { err = errors.Join(err, resw.Flush()) }()

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var nemRec chaos.Recorder = rec
	var live *load.LiveCounts
	var faults *load.FaultWatch
	if cfg.progress != nil {
		live, faults = &load.LiveCounts{}, &load.FaultWatch{Recorder: rec}
		nemRec = faults
	}
	stopNemesis := p.nemesis.Start(ctx, env, nemRec, stopLoad)

	cfg.log("load: %s at rate %s for %v against %d nodes, nemesis: %s", sc.Load.Workload, sc.Load.Rate, sc.Load.Duration, sc.Cluster.Nodes, nemesisLabel(sc.Chaos))
	gen, err := p.workload.New(sc.Load.WorkloadConfig(sc.Seed)) // validated by Prepare
	if err != nil {
		return err
	}
	ids := &idTracker{Generator: gen}
	ld := &load.Load{
		Client: p.client, Nodes: load.Nodes(cluster.Nodes()), Workload: ids,
		Rec: rec, Pacer: p.pacer, Duration: time.Duration(sc.Load.Duration),
		MaxInFlight: sc.Load.MaxInFlight, DropAfter: time.Duration(sc.Load.DropAfter),
		Timeout: time.Duration(sc.Load.Timeout),
		Results: load.NewResultsEncoder(resw),
		Live:    live,
	}
	stopProgress := func() {}
	if cfg.progress != nil {
		stopProgress = load.WatchProgress(cfg.progressEvery, cfg.progress, ld.Duration, rec.Now, live, faults)
	}
	stats, lerr := ld.Run(loadCtx)
	nemErr := stopNemesis()
	stopProgress()
	r.Info.LoadStats = stats
	cfg.log("load done: %d operations invoked, %d completed, %d late, %d dropped", stats.Invoked, stats.Completed, stats.Late, stats.Dropped)
	if err := errors.Join(lerr, nemErr); err != nil || ctx.Err() != nil {
		return err
	}
	return r.finish(ctx, p, cfg, cluster, env, rec, ids)
}

func (r *Run) writeInfo() error {
	b, err := json.MarshalIndent(r.Info, "", "  ")
	if err != nil {
		return err
	}
	if err := safefile.WriteFile(r.Dir, scenario.ScenarioFile, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write scenario.json: %w", err)
	}
	return nil
}

// closeClient closes c when it holds resources (an io.Closer).
func closeClient(c targets.Client) {
	if cl, ok := c.(io.Closer); ok {
		_ = cl.Close()
	}
}

func nemesisLabel(c scenario.ChaosConfig) string {
	if f := c.Faults(); len(f) > 0 {
		return strings.Join(f, "+")
	}
	return "none"
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
