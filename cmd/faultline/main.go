// Command faultline launches a real cluster, drives load while injecting
// faults, checks the history for linearizability and writes a report.
//
//	faultline run   --target etcd --nodes 3 --nemesis partition --duration 30s --rate 200
//	faultline suite [--suite file] [--out results] [--only pattern]
//	faultline check results/<run>
//	faultline cluster up --target etcd --nodes 3   (and: cluster down, cluster ls)
//	faultline clean --run <id> | --all
//
// Exit codes: 0 every check passed, 1 a check failed, 2 verdict unknown,
// 3 bad usage or configuration (nothing launched), 4 infrastructure error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/report"
)

const usage = `usage: faultline <command> [flags]

commands:
  run      launch a cluster, load it while injecting faults, check and report
  suite    run a suite of scenarios, each against its expected verdict (make bench)
  check    re-run the checkers on a stored run directory
  compare  write one report that overlays several runs
  cluster  start a cluster and keep it for poking at by hand (up, down, ls)
  clean    remove what killed runs left: containers, networks, namespaces, processes

Run "faultline <command> -h" for the flags of a command.
`

func main() {
	// testcontainers prints a banner through its package logger; the CLI
	// speaks for itself.
	tclog.SetDefault(tclog.NewNoopLogger())
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return faultline.ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "run":
		return cmdRun(ctx, args[1:], stdout, stderr)
	case "suite":
		return cmdSuite(ctx, args[1:], stdout, stderr)
	case "check":
		return cmdCheck(ctx, args[1:], stdout, stderr)
	case "clean":
		return cmdClean(ctx, args[1:], stdout, stderr)
	case "compare":
		return cmdCompare(ctx, args[1:], stdout, stderr)
	case "cluster":
		return cmdCluster(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return faultline.ExitPass
	}
	fmt.Fprintf(stderr, "faultline: unknown command %q (known: run, suite, check, compare, cluster, clean)\n", args[0])
	return faultline.ExitUsage
}

// usageErr prints one line and returns the usage exit code.
func usageErr(stderr io.Writer, err error) int {
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	fmt.Fprintf(stderr, "faultline: %s\n", msg)
	return faultline.ExitUsage
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	fs.Usage = func() {}
	_ = stderr
	return fs
}

func parse(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (int, bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fmt.Fprintf(stdout, "usage: faultline %s [flags]\n", fs.Name())
		fs.PrintDefaults()
		return faultline.ExitPass, false
	}
	if err != nil {
		return usageErr(stderr, err), false
	}
	return 0, true
}

// scenarioFlags binds the flags of `faultline run` to a scenario; each
// concern registers its own (flags_*.go). The returned function finishes
// what flags cannot express directly (lists, defaults that depend on others).
func scenarioFlags(fs *flag.FlagSet, sc *bench.Scenario) (finish func()) {
	fs.StringVar(&sc.Name, "name", sc.Name, "name of the run (default: target and nemesis)")
	fs.StringVar(&sc.Out, "out", sc.Out, "directory that receives the run directory")
	fs.Uint64Var(&sc.Seed, "seed", sc.Seed, "seed of every random choice (default: from the clock, recorded in scenario.json)")
	fs.BoolVar(&sc.Cluster.KeepData, "keep-data", sc.Cluster.KeepData, "copy every node's data directory into the run directory (data/) whatever the verdict (a failed run keeps it anyway)")
	finishers := []func(){
		clusterFlags(fs, &sc.Cluster),
		loadFlags(fs, &sc.Load),
		chaosFlags(fs, &sc.Chaos),
		checkFlags(fs, &sc.Check),
	}
	return func() {
		seeded := false
		fs.Visit(func(f *flag.Flag) { seeded = seeded || f.Name == "seed" })
		if !seeded {
			sc.Seed = uint64(time.Now().UnixNano())
		}
		for _, f := range finishers {
			f()
		}
	}
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// A scenario file is read first, so that flags override what it says.
	sc, fileSeeded, err := scenarioFromArgs(args)
	if err != nil {
		return usageErr(stderr, err)
	}
	fileSeed := sc.Seed
	fs := newFlagSet("run", stderr)
	finish := scenarioFlags(fs, &sc)
	fs.String("scenario", "", "scenario file, YAML or JSON (keys of scenario.json; chaos.timeline for explicit faults); flags override it")
	quiet := fs.Bool("quiet", false, "print only the verdict line")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageErr(stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	finish()
	if fileSeeded && !flagSet(fs, "seed") {
		sc.Seed = fileSeed
	}
	disp := newDisplay(stderr, *quiet)
	opts := []faultline.Option{faultline.WithLog(disp.Logf)}
	if disp.tty {
		opts = append(opts, faultline.WithProgress(progressEvery, disp.Progress))
	}
	out, err := faultline.RunContext(ctx, sc, opts...)
	disp.Close()
	code := faultline.ExitCode(out, err)
	if code == faultline.ExitUsage {
		return usageErr(stderr, err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
	}
	if out != nil && out.Summary.Verdict != "" {
		fmt.Fprintln(stdout, report.VerdictLine(out.Summary, out.Dir))
	}
	return code
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("check", stderr)
	var cc bench.CheckConfig
	finish := checkFlags(fs, &cc)
	quiet := fs.Bool("quiet", false, "print only the verdict line")
	if code, ok := parse(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() != 1 {
		return usageErr(stderr, errors.New("check wants one run directory, e.g. faultline check results/latest"))
	}
	finish()
	// Flags given here replace the stored run's check settings; the others
	// keep what the run used.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	override := func(c *bench.CheckConfig) {
		if set["check-timeout"] {
			c.Timeout = cc.Timeout
		}
		if set["check-memory-mb"] {
			c.MemoryMB = cc.MemoryMB
		}
		if set["threshold"] {
			c.Thresholds = cc.Thresholds
		}
	}
	logf := func(format string, args ...any) {
		if !*quiet {
			fmt.Fprintf(stderr, "faultline: "+format+"\n", args...)
		}
	}
	out, err := faultline.Check(ctx, fs.Arg(0), faultline.WithCheckConfig(override), faultline.WithLog(logf))
	if out == nil {
		return usageErr(stderr, err)
	}
	if err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
	}
	fmt.Fprintln(stdout, report.VerdictLine(out.Summary, out.Dir))
	return faultline.ExitCode(out, nil)
}

// scenarioFromArgs is the scenario --scenario names among args (read before
// the flags are parsed, so that flags override it), or the default one; seeded
// says the file fixed the seed.
func scenarioFromArgs(args []string) (sc bench.Scenario, seeded bool, err error) {
	sc = bench.Default()
	if path := scenarioPath(args); path != "" {
		seeded, err = bench.LoadFile(path, &sc)
	}
	return sc, seeded, err
}

// scenarioPath finds --scenario among args before the flags are parsed.
func scenarioPath(args []string) string {
	for i, a := range args {
		if a == "--" {
			return ""
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "scenario" {
			continue
		}
		if hasVal {
			return val
		}
		if i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func joinList(l []string) string { return strings.Join(l, ",") }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
