package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/suite"
)

func (a *app) suiteCmd() *cobra.Command {
	var o suiteOptions
	cmd := &cobra.Command{
		Use:   "suite [flags]",
		Short: "run a suite of scenarios, each against its expected verdict (make bench)",
		Long: `Run every entry of a suite one after another, each compared with its expected
verdict, then write results/index.html and suite.json. The whole suite is
resolved and validated before anything launches.`,
		Example: `  faultline suite --list
  faultline suite --only 'etcd-*,raftkv-kill' --seed 7
  faultline suite --suite my.yaml --out results`,
		Args: noArgs(" (a suite file goes in --suite)"),
	}
	fs := cmd.Flags()
	inGroup(fs, groupSuite, func() {
		fs.StringVar(&o.file, "suite", "", "suite file, YAML or JSON (default: the embedded default suite; --print shows it)")
		fs.StringVar(&o.only, "only", "", "run only the entries whose name matches one of these comma-separated globs, e.g. 'etcd-*,raftkv-kill'")
		fs.Uint64VarP(&o.seed, "seed", "s", 0, "suite seed: an entry that fixes no seed of its own derives one from it and its name (default: from the clock)")
		fs.BoolVar(&o.list, "list", false, "list the entries, resolved and validated, and run nothing")
		fs.BoolVar(&o.list, "dry-run", false, "the same as --list: validate every entry, list them, launch nothing")
		fs.BoolVar(&o.print, "print", false, "print the embedded default suite file and run nothing")
		fs.BoolVar(&o.reindex, "reindex", false, "rewrite --out's index.html from the runs its suite.json lists, with this suite's systems, faults and expectations, and run nothing")
	})
	inGroup(fs, groupOutput, func() {
		fs.StringVar(&o.out, "out", "results", "directory that receives the run directories, index.html and suite.json")
		fs.BoolVarP(&o.quiet, "quiet", "q", false, "print only one line per run and the tally")
	})
	cmd.RunE = a.do(func(cmd *cobra.Command, _ []string) int {
		if !cmd.Flags().Changed("seed") {
			o.seed = uint64(time.Now().UnixNano())
		}
		return cmdSuite(a.ctx, o, a.stdout, a.stderr)
	})
	return cmd
}

type suiteOptions struct {
	file, out, only    string
	seed               uint64
	list, print, quiet bool
	reindex            bool
}

// cmdSuite runs a suite: every entry one after another, each compared with
// its expected verdict, then results/index.html.
func cmdSuite(ctx context.Context, o suiteOptions, stdout, stderr io.Writer) int {
	file, out, only, seed, list, print, quiet := &o.file, &o.out, &o.only, &o.seed, &o.list, &o.print, &o.quiet
	if *print {
		stdout.Write(suite.DefaultYAML())
		return faultline.ExitPass
	}
	// The whole suite is resolved and validated before anything launches.
	var s *suite.Suite
	var err error
	if *file == "" || *file == suite.DefaultName {
		s, err = suite.Default(*seed)
	} else {
		s, err = suite.Load(*file, *seed)
	}
	if err == nil {
		err = s.Filter(*only)
	}
	if err != nil {
		return usageErr(stderr, err)
	}
	if *list {
		for i, e := range s.Entries {
			sc := e.Scenario
			reads := ""
			if sc.Load.ReadMode != "" {
				reads = ", " + sc.Load.ReadMode + " reads"
			}
			fmt.Fprintf(stdout, "%2d %-32s expect %-17s target %s%s%s, nemesis %s, %v at %s/s, seed %d\n", i+1, e.Name, e.Expect,
				sc.Cluster.Target, targetOptions(sc.Cluster.Options), reads, strings.Join(sc.Chaos.Nemesis, ","), sc.Load.Duration, sc.Load.Rate, sc.Seed)
		}
		return faultline.ExitPass
	}

	if o.reindex {
		rep, err := suite.Reindex(s, *out)
		if err != nil {
			fmt.Fprintf(stderr, "faultline: %v\n", err)
			if rep == nil {
				return faultline.ExitInfra
			}
		}
		fmt.Fprintf(stdout, "suite %s: index of %d runs (%d as expected) rewritten -> %s\n", rep.Suite, len(rep.Results), rep.Count(suite.Match), rep.Index)
		if err != nil {
			return faultline.ExitInfra
		}
		return rep.ExitCode()
	}

	disp := newDisplay(stderr, *quiet)
	defer disp.Close()
	var loads []time.Duration
	for _, e := range s.Entries {
		loads = append(loads, time.Duration(e.Scenario.Load.Duration))
	}
	disp.Plan(loads)
	mismatched := 0
	before := func(i, n int, e suite.Entry) []faultline.Option {
		note := ""
		if mismatched > 0 {
			note = fmt.Sprintf("%d not as expected so far", mismatched)
		}
		disp.StartRun(i, n, e.Name, note)
		opts := []faultline.Option{faultline.WithLog(disp.Logf)}
		if disp.tty {
			opts = append(opts, faultline.WithProgress(progressEvery, disp.Progress))
		}
		return opts
	}
	after := func(i, n int, r suite.Result) {
		if r.Status != suite.Match {
			mismatched++
		}
		disp.Above(func() { fmt.Fprintln(stdout, resultLine(i, n, r)) })
	}
	rep, err := suite.Run(ctx, s, *out, suite.BeforeEach(before), suite.AfterEach(after))
	disp.Close()
	if err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
	}
	if rep.Warnings != nil {
		fmt.Fprintf(stderr, "faultline: index: %s\n", strings.ReplaceAll(rep.Warnings.Error(), "\n", "; "))
	}
	fmt.Fprintf(stdout, "suite %s: %d of %d runs as expected (%d not, %d infrastructure errors) in %s wall time -> %s\n",
		rep.Suite, rep.Count(suite.Match), rep.Planned, rep.Count(suite.Mismatch), rep.Count(suite.Error),
		rep.Wall.Round(time.Second), rep.Index)
	code := rep.ExitCode()
	if err != nil && code == faultline.ExitPass {
		code = faultline.ExitInfra
	}
	return code
}

// resultLine is one line per run: expected vs actual.
func resultLine(i, n int, r suite.Result) string {
	status := map[suite.Status]string{suite.Match: "ok", suite.Mismatch: "MISMATCH", suite.Error: "ERROR", suite.Interrupted: "interrupted"}[r.Status]
	got := string(r.Verdict)
	if got == "" {
		got = "none"
	}
	if len(r.Failed) > 0 {
		got += " (" + strings.Join(r.Failed, ",") + ")"
	}
	line := fmt.Sprintf("%-11s %2d/%d %-30s expected %-17s got %-34s %6s  seed %d", status, i, n, r.Entry.Name,
		r.Entry.Expect, got, clock(r.Wall), r.Entry.Scenario.Seed)
	if r.Dir != "" {
		line += "  " + r.Dir
	}
	if r.Err != nil && r.Status != suite.Match {
		line += "  error: " + strings.ReplaceAll(r.Err.Error(), "\n", "; ")
	}
	return line
}

func targetOptions(opts map[string]string) string {
	if len(opts) == 0 {
		return ""
	}
	return " (" + formatOptions(opts) + ")"
}
