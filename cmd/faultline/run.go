package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/bench/load"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/chaos/nemesis"
	"github.com/faultline/faultline/history/jepsen"
	"github.com/faultline/faultline/report/live"
	"github.com/faultline/faultline/targets/runtime"
)

// scenarioFlags binds the flags of `faultline run` to a scenario; each
// concern registers its own (flags.go). The returned function finishes what
// flags cannot express directly (lists, shorthands).
func scenarioFlags(fs *pflag.FlagSet, sc *scenario.Scenario) (finish func() error) {
	inGroup(fs, groupScenario, func() {
		fs.StringVar(&sc.Name, "name", sc.Name, "name of the run (default: target and nemesis)")
		fs.Uint64VarP(&sc.Seed, "seed", "s", sc.Seed, "seed of every random choice (default: from the clock, recorded in scenario.json)")
	})
	inGroup(fs, groupOutput, func() {
		fs.StringVar(&sc.Out, "out", sc.Out, "directory that receives the run directory")
		fs.BoolVar(&sc.Cluster.KeepData, "keep-data", sc.Cluster.KeepData, "copy every node's data directory into the run directory (data/) whatever the verdict (a failed run keeps it anyway)")
	})
	finishers := []func() error{
		clusterFlags(fs, &sc.Cluster),
		loadFlags(fs, &sc.Load),
		chaosFlags(fs, &sc.Chaos),
		checkFlags(fs, &sc.Check),
	}
	return func() error {
		for _, f := range finishers {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}
}

// scenarioFileFlag adds --scenario (-f) to a command that reads one.
func scenarioFileFlag(fs *pflag.FlagSet, usage string) {
	inGroup(fs, groupScenario, func() { fs.StringP("scenario", "f", "", usage) })
}

// loadScenario is the scenario a command runs: the file --scenario names
// (read first) with the command's flags over it, or the defaults with the
// flags over them. bind is how the command binds its flags to a scenario;
// sc and finish are what it bound when the tree was built (over the
// defaults). file is what was learnt of the file (nil without one).
func (a *app) loadScenario(cmd *cobra.Command, bind func(*pflag.FlagSet, *scenario.Scenario) func() error, sc *scenario.Scenario, finish func() error) (scenario.Scenario, *scenario.SourceFile, error) {
	if !cmd.Flags().Changed("scenario") {
		return *sc, nil, finish()
	}
	path, _ := cmd.Flags().GetString("scenario")
	fresh := scenario.Default()
	file, err := scenario.ReadFile(path, &fresh)
	if err != nil {
		return fresh, nil, err
	}
	// The same arguments parsed again, over the file's values this time;
	// cobra has already refused any that are wrong.
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	finish = bind(fs, &fresh)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if fs.Lookup(f.Name) == nil {
			fs.AddFlag(f)
		}
	})
	if err := fs.Parse(a.args); err != nil {
		return fresh, nil, err
	}
	return fresh, file, finish()
}

// noArgs refuses positional arguments in one line.
func noArgs(hint string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("unexpected argument %q%s", args[0], hint)
		}
		return nil
	}
}

func (a *app) runCmd() *cobra.Command {
	sc := scenario.Default()
	cmd := &cobra.Command{
		Use:   "run [flags]",
		Short: "launch a cluster, load it while injecting faults, check and report",
		Long: `Launch a cluster of the target, drive load at it while injecting faults, heal, read
back, tear down, check the history and write the run directory (report.html,
summary.json, history.jsonl, ...). A scenario file (--scenario) is read first;
flags given with it override what it says.`,
		Example: `  faultline run --target etcd --nodes 3 --nemesis partition --duration 30s --rate 200
  faultline run -t raftkv --bug stale-reads -N partition -d 20s
  faultline run --scenario examples/raftkv.yaml --seed 7
  faultline run --threshold 'p99 < 500ms outside faults' --output json`,
		Args: noArgs(""),
	}
	fs := cmd.Flags()
	bind := func(fs *pflag.FlagSet, sc *scenario.Scenario) func() error { return scenarioFlags(fs, sc) }
	finish := bind(fs, &sc)
	scenarioFileFlag(fs, "scenario file, YAML or JSON (keys of scenario.json; chaos.timeline for explicit faults); flags override it")
	var o runOptions
	o.output = "text"
	inGroup(fs, groupOutput, func() {
		fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only the verdict line")
		fs.VarP(&o.output, "output", "o", "how the verdict is printed: text (one line) or json (one object, for scripts)")
		fs.BoolVar(&o.dryRun, "dry-run", false, "validate everything (the target's version included) and print the plan; launch nothing")
		fs.StringVar(&o.serve, "serve", "", "serve the live page of the run at this address while it runs, e.g. :8080 (a port alone binds 127.0.0.1)")
	})
	keys := flagKeys(fs, &sc)
	cmd.RunE = a.do(func(cmd *cobra.Command, _ []string) int {
		sc, file, err := a.loadScenario(cmd, bind, &sc, finish)
		if err != nil {
			return usageErr(a.stderr, err)
		}
		if (file == nil || !file.Seeded) && !cmd.Flags().Changed("seed") {
			sc.Seed = uint64(time.Now().UnixNano())
		}
		plan, err := a.preflight(cmd.Flags(), sc, file, keys)
		if err != nil {
			return usageErr(a.stderr, err)
		}
		if o.dryRun {
			printPlan(a.stdout, sc, plan, o.serve)
			return faultline.ExitPass
		}
		return a.cmdRun(sc, o)
	})
	return cmd
}

// runOptions are the flags of run that are not the scenario's.
type runOptions struct {
	quiet, dryRun bool
	output        outputFlag
	serve         string
}

// preflight checks everything that can be checked before anything is built
// or launched, and returns the faults the run will inject.
func (a *app) preflight(fs *pflag.FlagSet, sc scenario.Scenario, file *scenario.SourceFile, keys map[string]string) ([]nemesis.Planned, error) {
	if err := contradictions(fs, sc); err != nil {
		return nil, err
	}
	if addr, _ := fs.GetString("serve"); addr != "" {
		if _, err := live.ListenAddr(addr); err != nil {
			return nil, fmt.Errorf("--serve %v", err)
		}
	}
	plan, err := bench.Plan(sc)
	if err == nil {
		_, err = faultline.CheckNames(sc)
	}
	if err != nil {
		return nil, fileKeyError(err, fs, keys, file)
	}
	if err := checkVersion(a.ctx, sc.Cluster); err != nil {
		return nil, fileKeyError(err, fs, keys, file)
	}
	return plan, nil
}

func (a *app) cmdRun(sc scenario.Scenario, o runOptions) int {
	disp := newDisplay(a.stderr, o.quiet || o.output == "json")
	opts := []faultline.Option{faultline.WithLog(disp.Logf)}
	if disp.tty {
		opts = append(opts, faultline.WithProgress(progressEvery, disp.Progress))
	}
	if o.serve != "" {
		runID := runtime.NewRunID()
		view, url, err := startLive(a.ctx, o.serve, sc.Out, runID)
		if err != nil {
			disp.Close()
			return usageErr(a.stderr, err)
		}
		disp.Logf("live view: %s", url)
		logf := func(format string, args ...any) {
			disp.Logf(format, args...)
			view.phase(fmt.Sprintf(format, args...))
		}
		progress := func(p load.Progress) {
			if disp.tty {
				disp.Progress(p)
			}
			view.progress(p)
		}
		every := liveEvery
		if disp.tty {
			every = min(every, progressEvery)
		}
		opts = []faultline.Option{faultline.WithLog(logf), faultline.WithProgress(every, progress), faultline.WithRunID(runID)}
	}
	out, err := faultline.RunContext(a.ctx, sc, opts...)
	disp.Close()
	if o.serve != "" && out != nil && out.Dir != "" && !o.quiet && o.output != "json" {
		fmt.Fprintf(a.stderr, "faultline: to see the page again: faultline serve %s\n", out.Dir)
	}
	code := faultline.ExitCode(out, err)
	if code == faultline.ExitUsage {
		return usageErr(a.stderr, err)
	}
	if err != nil {
		fmt.Fprintf(a.stderr, "faultline: %v\n", err)
	}
	if out != nil && out.Summary.Verdict != "" {
		printVerdict(a.stdout, o.output, out, code)
	}
	return code
}

func (a *app) checkCmd() *cobra.Command {
	var cc scenario.CheckConfig
	var quiet bool
	output := outputFlag("text")
	cmd := &cobra.Command{
		Use:   "check [flags] RUN_DIR",
		Short: "re-run the checkers on a stored run directory",
		Long: `Re-run every checker on a stored run directory (also one a crashed run left) and
rewrite its summary, report and plots. Flags given here replace the run's own
check settings; the others keep what the run used.`,
		Example: `  faultline check results/latest
  faultline check results/etcd-partition-20260101-120000 --check-timeout 5m
  faultline check --threshold 'availability > 0.99 outside faults' results/latest
  faultline check --import jepsen history.edn --consistency serializable`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("check wants one run directory, e.g. faultline check results/latest (or, with --import jepsen, one history file)")
			}
			return nil
		},
	}
	fs := cmd.Flags()
	finish := checkFlags(fs, &cc)
	var importFrom, importFormat, importWorkload, importOut string
	inGroup(fs, groupChecks, func() {
		fs.StringVar(&importFrom, "import", "", "check a history recorded elsewhere: jepsen (a Jepsen / Knossos / Elle history: EDN, JSON or jepsen.log); the argument is the file, imported into a new run directory under --out")
		fs.StringVar(&importFormat, "import-format", "auto", "with --import jepsen: auto, edn, json or log")
		fs.StringVar(&importWorkload, "import-workload", "auto", "with --import jepsen: auto, cas-register, list-append or rw-register")
	})
	inGroup(fs, groupOutput, func() {
		fs.StringVar(&importOut, "out", "results", "with --import: where the imported run directory goes")
	})
	inGroup(fs, groupOutput, func() {
		fs.BoolVarP(&quiet, "quiet", "q", false, "print only the verdict line")
		fs.VarP(&output, "output", "o", "how the verdict is printed: text (one line) or json (one object, for scripts)")
	})
	cmd.RunE = a.do(func(cmd *cobra.Command, args []string) int {
		_ = finish()
		set := cmd.Flags().Changed
		if importFrom != "" {
			dir, err := importHistory(args[0], importFrom, importFormat, importWorkload, importOut, cc.Consistency)
			if err != nil {
				return usageErr(a.stderr, err)
			}
			args = []string{dir}
		} else if set("import-format") || set("import-workload") || set("out") {
			return usageErr(a.stderr, errors.New("--import-format, --import-workload and --out go with --import jepsen"))
		}
		override := func(c *scenario.CheckConfig) {
			if set("check-timeout") {
				c.Timeout = cc.Timeout
			}
			if set("check-memory-mb") {
				c.MemoryMB = cc.MemoryMB
			}
			if set("threshold") {
				c.Thresholds = cc.Thresholds
			}
			if set("consistency") {
				c.Consistency = cc.Consistency
			}
			if set("check-opt") {
				c.Options = cc.Options
			}
		}
		logf := func(format string, args ...any) {
			if !quiet && output != "json" {
				fmt.Fprintf(a.stderr, "faultline: "+format+"\n", args...)
			}
		}
		out, err := faultline.Check(a.ctx, args[0], faultline.WithCheckConfig(override), faultline.WithLog(logf))
		if out == nil {
			return usageErr(a.stderr, err)
		}
		if err != nil {
			fmt.Fprintf(a.stderr, "faultline: %v\n", err)
		}
		code := faultline.ExitCode(out, nil)
		printVerdict(a.stdout, output, out, code)
		return code
	})
	return cmd
}

// importHistory turns a history recorded elsewhere into a run directory
// under out that faultline.Check can check (history/jepsen), and returns it.
func importHistory(src, kind, format, wl, out, consistency string) (string, error) {
	if kind != "jepsen" {
		return "", fmt.Errorf("--import %q: want jepsen", kind)
	}
	f, err := jepsen.ParseFormat(format)
	if err != nil {
		return "", fmt.Errorf("--import-format: %w", err)
	}
	w, err := jepsen.ParseWorkload(wl)
	if err != nil {
		return "", fmt.Errorf("--import-workload: %w", err)
	}
	if _, err := os.Stat(src); err != nil {
		return "", fmt.Errorf("--import jepsen %s: %w", src, err)
	}
	name := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
	dir := filepath.Join(out, time.Now().Format("20060102-150405")+"-import-"+sanitizeName(name)+"-"+runtime.NewRunID())
	opts := []jepsen.Option{jepsen.WithFormat(f), jepsen.WithWorkload(w)}
	if consistency != "" {
		opts = append(opts, jepsen.WithConsistency(consistency))
	}
	if err := jepsen.Import(src, dir, opts...); err != nil {
		return "", fmt.Errorf("--import jepsen %s: %w", src, err)
	}
	return dir, nil
}

// sanitizeName keeps a file name usable as part of a directory name.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
