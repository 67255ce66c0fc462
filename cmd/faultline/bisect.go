package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
)

// bisectStep is one version tried: how many of its seeds found the bug.
type bisectStep struct {
	Version string
	Hits    int
	Runs    int
	Dirs    []string
	Errs    int
}

func (s bisectStep) fails() bool { return s.Hits > 0 }

func (a *app) bisectCmd() *cobra.Command {
	sc := scenario.Default()
	var good, bad string
	var seeds int
	var list []string
	cmd := &cobra.Command{
		Use:   "bisect --good VERSION --bad VERSION [flags]",
		Short: "find the first version between a good and a bad one where a scenario fails",
		Long: `Run a scenario (--scenario and the flags of run) on a good and a bad version of
the target, then binary-search the module proxy's releases between them: each
version gets --seeds runs (seeds 1..N after the scenario's seed) and fails when
any run is invalid. Prints every version tried with its hit rate and run
directories, and the first version on the bad side. The bad version may be the
older one (where a bug was fixed: the first good version is the fix) or the
newer one (where it appeared).`,
		Example: `  faultline bisect --scenario suite/regressions/etcd-14370.yaml --bad v3.5.4 --good v3.5.8 --seeds 3
  faultline bisect -t etcd -N kill --good v3.5.17 --bad v3.6.0 --seeds 2`,
		Args: noArgs(""),
	}
	fs := cmd.Flags()
	bind := func(fs *pflag.FlagSet, sc *scenario.Scenario) func() error { return scenarioFlags(fs, sc) }
	finish := bind(fs, &sc)
	scenarioFileFlag(fs, "scenario file of the runs (as for run); --version is set per step")
	inGroup(fs, groupCluster, func() {
		fs.StringVar(&good, "good", "", "a version where the scenario passes")
		fs.StringVar(&bad, "bad", "", "a version where the scenario fails")
		fs.IntVar(&seeds, "seeds", 3, "runs (seeds) per version; a version fails when any run is invalid")
		fs.StringSliceVar(&list, "versions", nil, "the versions to search between --bad and --good, comma-separated (default: the module proxy's list, which a mirror may serve incomplete)")
	})
	keys := flagKeys(fs, &sc)
	cmd.RunE = a.do(func(cmd *cobra.Command, _ []string) int {
		sc, file, err := a.loadScenario(cmd, bind, &sc, finish)
		if err != nil {
			return usageErr(a.stderr, err)
		}
		switch {
		case good == "" || bad == "":
			return usageErr(a.stderr, errors.New("--good and --bad: both versions are required"))
		case good == bad:
			return usageErr(a.stderr, errors.New("--good and --bad name the same version"))
		case seeds < 1:
			return usageErr(a.stderr, fmt.Errorf("--seeds %d: want at least 1", seeds))
		}
		for _, v := range []string{good, bad} {
			c := sc.Cluster
			c.Version = v
			if err := checkVersion(a.ctx, c); err != nil {
				return usageErr(a.stderr, err)
			}
		}
		sc.Cluster.Version = bad
		if _, err := a.preflight(cmd.Flags(), sc, file, keys); err != nil {
			return usageErr(a.stderr, err)
		}
		versions, err := bisectVersions(a.ctx, sc.Cluster, good, bad, list)
		if err != nil {
			return usageErr(a.stderr, err)
		}
		fmt.Fprintf(a.stdout, "bisect: %d versions from %s (bad) to %s (good): %s\n", len(versions), bad, good, strings.Join(versions, " "))
		return a.cmdBisect(sc, versions, seeds)
	})
	return cmd
}

// bisectVersions lists the releases from bad to good, inclusive, in that
// order (bad first), from the module proxy.
func bisectVersions(ctx context.Context, c scenario.ClusterConfig, good, bad string, given []string) ([]string, error) {
	if len(given) > 0 {
		return between(given, good, bad), nil
	}
	t, err := c.LookupTarget()
	if err != nil {
		return nil, err
	}
	mt, ok := t.(moduleTarget)
	if !ok {
		return nil, fmt.Errorf("--target %s is built from this repository's source: it has no versions to bisect", t.Name())
	}
	mod := mt.Module()
	if mv, ok := t.(interface{ ModuleOf(version string) string }); ok {
		mod = mv.ModuleOf(bad)
	}
	ctx, cancel := context.WithTimeout(ctx, versionsTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-versions", mod).Output()
	if err != nil {
		return nil, fmt.Errorf("--good/--bad: the module proxy did not list %s's versions: %v", mod, err)
	}
	return between(strings.Fields(string(out))[1:], good, bad), nil
}

// between returns the releases of versions strictly between good and bad,
// with both ends, ordered from bad to good.
func between(versions []string, good, bad string) []string {
	lo, hi := good, bad
	if compareVersions(lo, hi) > 0 {
		lo, hi = hi, lo
	}
	var mid []string
	for _, v := range versions {
		if strings.Contains(v, "-") || compareVersions(v, lo) <= 0 || compareVersions(v, hi) >= 0 || slices.Contains(mid, v) {
			continue // pre-releases and the ends (added below)
		}
		mid = append(mid, v)
	}
	slices.SortFunc(mid, compareVersions)
	list := append(append([]string{lo}, mid...), hi)
	if list[0] != bad {
		slices.Reverse(list)
	}
	return list
}

func (a *app) cmdBisect(sc scenario.Scenario, versions []string, seeds int) int {
	disp := newDisplay(a.stderr, false)
	defer disp.Close()
	tried := map[string]*bisectStep{}
	try := func(v string) *bisectStep {
		if s, ok := tried[v]; ok {
			return s
		}
		s := &bisectStep{Version: v}
		for k := range seeds {
			run := sc
			run.Cluster.Version = v
			run.Seed = sc.Seed + uint64(k)
			run.Name = fmt.Sprintf("bisect-%s-seed%d", v, run.Seed)
			disp.Logf("bisect: %s, seed %d (%d of %d)", v, run.Seed, k+1, seeds)
			out, err := faultline.RunContext(a.ctx, run, faultline.WithLog(func(string, ...any) {}))
			s.Runs++
			if out != nil && out.Dir != "" {
				s.Dirs = append(s.Dirs, out.Dir)
			}
			switch {
			case out != nil && out.Summary.Verdict == checkers.Invalid:
				s.Hits++
			case err != nil || out == nil || out.Summary.Verdict != checkers.Valid:
				s.Errs++
			}
			if a.ctx.Err() != nil {
				break
			}
		}
		tried[v] = s
		printStep(a.stdout, s)
		return s
	}
	start := time.Now()
	badEnd, goodEnd := try(versions[0]), try(versions[len(versions)-1])
	if !badEnd.fails() || goodEnd.fails() {
		fmt.Fprintf(a.stdout, "bisect: inconclusive: the bad version %s failed %d of %d runs, the good version %s %d of %d; no boundary to search (more --seeds?)\n",
			badEnd.Version, badEnd.Hits, badEnd.Runs, goodEnd.Version, goodEnd.Hits, goodEnd.Runs)
		return faultline.ExitUnknown
	}
	// Invariant: versions[lo] fails, versions[hi] passes.
	lo, hi := 0, len(versions)-1
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if try(versions[mid]).fails() {
			lo = mid
		} else {
			hi = mid
		}
	}
	older := compareVersions(versions[0], versions[len(versions)-1]) < 0
	if older {
		fmt.Fprintf(a.stdout, "bisect: %s fails and %s, the next version searched, passes: fixed in %s (%d versions tried, %v)\n",
			versions[lo], versions[hi], versions[hi], len(tried), time.Since(start).Round(time.Second))
	} else {
		fmt.Fprintf(a.stdout, "bisect: %s passes and %s, the next version searched, fails: introduced in %s (%d versions tried, %v)\n",
			versions[hi], versions[lo], versions[lo], len(tried), time.Since(start).Round(time.Second))
	}
	return faultline.ExitFail
}

func printStep(w io.Writer, s *bisectStep) {
	verdict := "passes"
	if s.fails() {
		verdict = "FAILS"
	}
	extra := ""
	if s.Errs > 0 {
		extra = fmt.Sprintf(", %d unknown or errored", s.Errs)
	}
	fmt.Fprintf(w, "%-12s %-6s hit rate %d/%d%s\n", s.Version, verdict, s.Hits, s.Runs, extra)
	for _, d := range s.Dirs {
		fmt.Fprintf(w, "    %s\n", d)
	}
}
