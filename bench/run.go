package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/registry"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
)

// Files of a run directory.
const (
	ScenarioFile = "scenario.json"
	HistoryFile  = "history.jsonl"
	ResultsFile  = "results.bin" // vegeta's gob encoding: `vegeta report results.bin`
	LogsDir      = "logs"
)

// RunInfo is scenario.json: the resolved scenario and what it ran on.
type RunInfo struct {
	Scenario
	RunID         string    `json:"run_id"`
	Started       time.Time `json:"started"`
	TargetVersion string    `json:"target_version,omitempty"`
	GoVersion     string    `json:"go_version"`
	Interrupted   bool      `json:"interrupted,omitempty"`
	Load          LoadStats `json:"load"`
}

// Run is a finished (or interrupted) run.
type Run struct {
	Info RunInfo
	Dir  string
}

// Option configures Execute.
type Option func(*runConfig)

type runConfig struct {
	log   func(format string, args ...any)
	runID string
}

// WithLog receives progress lines.
func WithLog(f func(format string, args ...any)) Option { return func(c *runConfig) { c.log = f } }

// WithRunID fixes the run id (by default random).
func WithRunID(id string) Option { return func(c *runConfig) { c.runID = id } }

// prepared is a scenario whose every part was resolved without launching.
type prepared struct {
	sc     Scenario
	target targets.Target
	client targets.Client
	faults []chaos.Fault
	pacer  vegeta.Pacer
}

// Prepare validates sc completely without launching anything; every error is
// a *ConfigError.
func Prepare(sc Scenario) (*prepared, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	t, err := registry.Lookup(sc.Target)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	cl, err := t.Client(targets.ClientConfig{ReadMode: sc.ReadMode})
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	faults, err := chaos.Parse(sc.Nemesis)
	if err != nil {
		return nil, &ConfigError{Err: err}
	}
	if len(faults) > 0 && sc.Nodes < 2 {
		return nil, configErr("--nemesis %s needs at least 2 nodes (got --nodes %d)", strings.Join(sc.Nemesis, ","), sc.Nodes)
	}
	if sc.Runtime != "docker" {
		return nil, configErr("unknown runtime %q (known: docker)", sc.Runtime)
	}
	pacer, _ := ParseRate(sc.Rate)
	return &prepared{sc: sc, target: t, client: cl, faults: faults, pacer: pacer}, nil
}

// Execute runs sc: build, launch, load with faults, heal, tear down. The run
// directory holds scenario.json, history.jsonl (streamed as it happens),
// results.bin and node logs. When an error happens after the history was
// opened, the Run is returned with the error so what was recorded can still
// be checked.
func Execute(ctx context.Context, sc Scenario, opts ...Option) (*Run, error) {
	cfg := runConfig{log: func(string, ...any) {}}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := Prepare(sc)
	if err != nil {
		return nil, err
	}
	if cfg.runID == "" {
		cfg.runID = newRunID()
	}
	now := time.Now()
	name := fmt.Sprintf("%s-%s-%s-%s", now.Format("20060102-150405"), sc.Target, nemesisLabel(sc.Nemesis), cfg.runID)
	if sc.Name != "" {
		name = fmt.Sprintf("%s-%s-%s", now.Format("20060102-150405"), sanitize(sc.Name), cfg.runID)
	}
	dir := filepath.Join(sc.Out, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	run := &Run{Dir: dir, Info: RunInfo{Scenario: sc, RunID: cfg.runID, Started: now, GoVersion: goruntime.Version()}}
	if sc.Version == "" {
		run.Info.Version = p.target.DefaultVersion()
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
	rt, err := docker.New(ctx)
	if err != nil {
		return err
	}
	cfg.log("preparing %s %s", sc.Target, r.Info.Version)
	art, err := p.target.Prepare(ctx, r.Info.Version, targets.PrepareOptions{Log: cfg.log})
	if err != nil {
		return fmt.Errorf("prepare %s: %w", sc.Target, err)
	}
	r.Info.TargetVersion = art.Version
	if err := r.writeInfo(); err != nil {
		return err
	}
	cfg.log("launching %d %s %s nodes on %s (run %s)", sc.Nodes, sc.Target, art.Version, rt.Name(), r.Info.RunID)
	cluster, err := rt.Launch(ctx, runtime.ClusterSpec{
		RunID: r.Info.RunID, Target: p.target, Artifact: art, Nodes: sc.Nodes,
		LogDir: filepath.Join(r.Dir, LogsDir), Log: cfg.log,
	})
	if err != nil {
		return fmt.Errorf("launch cluster: %w", err)
	}
	defer func() {
		cfg.log("tearing down the cluster")
		err = errors.Join(err, cluster.Close(context.WithoutCancel(ctx)))
	}()

	rec, err := history.Create(filepath.Join(r.Dir, HistoryFile))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, rec.Close()) }()
	resf, err := os.Create(filepath.Join(r.Dir, ResultsFile))
	if err != nil {
		return fmt.Errorf("create results file: %w", err)
	}
	defer func() { err = errors.Join(err, resf.Close()) }()

	env := &chaos.Env{
		Nodes: cluster.Nodes(), Target: p.target, Firewall: chaos.NetlinkFirewall{},
		HTTP: &http.Client{Timeout: 2 * time.Second},
		Rand: mrand.New(mrand.NewPCG(sc.Seed, 0xfa17)),
	}
	// Heal on every way out, including a panic in the load or Ctrl-C.
	defer func() {
		if herr := chaos.HealNetwork(context.WithoutCancel(ctx), env); herr != nil {
			err = errors.Join(err, herr)
		}
	}()

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	nemCtx, stopNemesis := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var nemErr error
	if len(p.faults) > 0 {
		sched := &chaos.Schedule{Faults: p.faults, On: time.Duration(sc.NemesisInterval), Off: time.Duration(sc.NemesisInterval)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nemErr = sched.Run(nemCtx, env, rec)
			if nemErr != nil {
				stopLoad() // a fault that cannot be healed ends the run
			}
		}()
	}
	cfg.log("load: %s ops/s for %v against %d nodes, nemesis: %s", sc.Rate, sc.Duration, sc.Nodes, nemesisLabel(sc.Nemesis))
	load := &Load{
		Client: p.client, Nodes: cluster.Nodes(),
		Workload: NewRegister(RegisterConfig{Keys: sc.Keys, OpsPerKey: sc.OpsPerKey,
			KeyConcurrency: sc.KeyConcurrency, ReadFraction: sc.ReadFraction, Seed: sc.Seed}),
		Rec: rec, Pacer: p.pacer, Duration: time.Duration(sc.Duration),
		MaxInFlight: sc.MaxInFlight, Timeout: time.Duration(sc.Timeout),
		Results: vegeta.NewEncoder(resf),
	}
	stats, lerr := load.Run(loadCtx)
	stopNemesis()
	wg.Wait()
	r.Info.Load = stats
	cfg.log("load done: %d operations invoked, %d completed", stats.Invoked, stats.Completed)
	return errors.Join(lerr, nemErr)
}

func (r *Run) writeInfo() error {
	b, err := json.MarshalIndent(r.Info, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r.Dir, ScenarioFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write scenario.json: %w", err)
	}
	return nil
}

// ReadInfo reads a run directory's scenario.json.
func ReadInfo(dir string) (RunInfo, error) {
	var info RunInfo
	b, err := os.ReadFile(filepath.Join(dir, ScenarioFile))
	if err != nil {
		return info, fmt.Errorf("read run: %w", err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("read %s: %w", filepath.Join(dir, ScenarioFile), err)
	}
	return info, nil
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func nemesisLabel(ns []string) string {
	if f := faultNames(ns); len(f) > 0 {
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
