package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/pick"
)

// clusterRecord is what `cluster up` leaves in the state directory so that
// `cluster down` (another process) can find it.
type clusterRecord struct {
	RunID string `json:"run_id"`
	// Process is the holder: pid, executable and start time, so that `cluster
	// down` signals it only while it is still that process.
	runtime.Process
	Runtime string        `json:"runtime"`
	Target  string        `json:"target"`
	Version string        `json:"version"`
	Started time.Time     `json:"started"`
	Nodes   []clusterNode `json:"nodes"`
}

type clusterNode struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"`
	Addr     string `json:"addr"`
	NetNS    string `json:"netns,omitempty"`
}

func clusterDir() string { return filepath.Join(runtime.StateDir(), "clusters") }

// recordPath is "" for an invalid run id: nothing is read or removed there.
func recordPath(runID string) string {
	if runtime.ValidateRunID(runID) != nil {
		return ""
	}
	p, err := runtime.Within(clusterDir(), runID+".json")
	if err != nil {
		return ""
	}
	return p
}

func (a *app) clusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "start a cluster and keep it for poking at by hand (up, down, ls)",
		Example: `  faultline cluster up --target etcd --nodes 3
  faultline cluster ls
  faultline cluster down --run 3c821fdb`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown cluster command %q (known: up, down, ls)", args[0])
			}
			return nil
		},
		RunE: a.do(func(cmd *cobra.Command, _ []string) int {
			fmt.Fprint(a.stderr, cmd.UsageString())
			return faultline.ExitUsage
		}),
	}
	cmd.AddCommand(a.clusterUpCmd(), a.clusterDownCmd(), a.clusterLsCmd())
	return cmd
}

func (a *app) clusterUpCmd() *cobra.Command {
	sc := scenario.Default()
	var quiet bool
	cmd := &cobra.Command{
		Use:   "up [flags]",
		Short: "start a cluster, print its endpoints, keep it until Ctrl-C or \"cluster down\"",
		Example: `  faultline cluster up --target etcd --nodes 3 --runtime local
  faultline cluster up --scenario examples/raftkv.yaml --bug stale-reads`,
		Args: noArgs(""),
	}
	fs := cmd.Flags()
	// A scenario file's cluster section (a spec target included), else the
	// default cluster; flags override it, as for run.
	bind := func(fs *pflag.FlagSet, sc *scenario.Scenario) func() error { return clusterFlags(fs, &sc.Cluster) }
	finish := bind(fs, &sc)
	scenarioFileFlag(fs, "scenario file, YAML or JSON: its cluster section (cluster.spec included); flags override it")
	var dryRun bool
	inGroup(fs, groupOutput, func() {
		fs.BoolVarP(&quiet, "quiet", "q", false, "print only the endpoints")
		fs.BoolVar(&dryRun, "dry-run", false, "validate the cluster (the target's version included), print it, launch nothing")
	})
	keys := flagKeys(fs, &sc)
	cmd.RunE = a.do(func(cmd *cobra.Command, _ []string) int {
		sc, file, err := a.loadScenario(cmd, bind, &sc, finish)
		if err == nil {
			err = contradictions(cmd.Flags(), sc)
		}
		if err == nil {
			err = sc.Cluster.Validate()
		}
		if err == nil {
			_, err = sc.Cluster.LookupTarget()
		}
		if err == nil {
			err = checkVersion(a.ctx, sc.Cluster)
		}
		if err != nil {
			return usageErr(a.stderr, fileKeyError(err, cmd.Flags(), keys, file))
		}
		if dryRun {
			c := sc.Cluster
			fmt.Fprintf(a.stdout, "cluster: %d %s nodes (%s)%s on the %s runtime, netns %s; dry run: valid, nothing launched\n",
				c.Nodes, c.Target, or(c.Version, "default version"), targetOptions(c.Options), c.Runtime, c.Netns)
			return faultline.ExitPass
		}
		return cmdClusterUp(a.ctx, sc.Cluster, quiet, a.stdout, a.stderr)
	})
	return cmd
}

func (a *app) clusterDownCmd() *cobra.Command {
	var runID string
	var dryRun bool
	cmd := &cobra.Command{
		Use:     "down [--run ID]",
		Short:   "stop a cluster started by \"cluster up\" (--run <id>; optional when only one is up)",
		Example: `  faultline cluster down --run 3c821fdb`,
		Args:    noArgs(""),
		RunE: a.do(func(*cobra.Command, []string) int {
			if dryRun {
				fmt.Fprintf(a.stdout, "would stop cluster %s and remove what it left; dry run: nothing done\n", or(runID, "(the only one up)"))
				return faultline.ExitPass
			}
			return cmdClusterDown(a.ctx, runID, a.stdout, a.stderr)
		}),
	}
	cmd.Flags().StringVar(&runID, "run", "", "run id of the cluster (optional when only one is up)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be stopped, stop nothing")
	return cmd
}

func (a *app) clusterLsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ls",
		Short: "list the clusters started by \"cluster up\"",
		Args:  noArgs(""),
		RunE:  a.do(func(*cobra.Command, []string) int { return cmdClusterLs(a.stdout) }),
	}
}

func (a *app) cleanCmd() *cobra.Command {
	var runID string
	var all, dryRun bool
	cmd := &cobra.Command{
		Use:   "clean --run ID | --all",
		Short: "remove what killed runs left: containers, networks, namespaces, processes",
		Long: `Remove what killed runs left: containers, networks, namespaces (and their nftables
rules), links, processes, files. It refuses to guess: name one run, or say --all
(which includes runs still going).`,
		Example: `  faultline clean --run 3c821fdb
  faultline clean --all`,
		Args: noArgs(""),
		RunE: a.do(func(*cobra.Command, []string) int {
			if dryRun {
				if (runID == "") == !all {
					return usageErr(a.stderr, errors.New("clean needs --run <id> (one run) or --all (every run)"))
				}
				fmt.Fprintf(a.stdout, "would remove what %s left; dry run: nothing removed\n", or(runID, "every run"))
				return faultline.ExitPass
			}
			return cmdClean(a.ctx, runID, all, a.stdout, a.stderr)
		}),
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed, remove nothing")
	cmd.Flags().StringVar(&runID, "run", "", "remove what this run id left: containers, networks, namespaces (and their nftables rules), links, processes, files")
	cmd.Flags().BoolVar(&all, "all", false, "remove what every run left, including runs still going")
	return cmd
}

// cmdClusterUp launches c and keeps it until ctx ends.
func cmdClusterUp(ctx context.Context, c scenario.ClusterConfig, quiet bool, stdout, stderr io.Writer) int {
	logf := func(format string, args ...any) {
		if !quiet {
			fmt.Fprintf(stderr, "faultline: "+format+"\n", args...)
		}
	}
	// The record goes into the state directory, whatever the runtime.
	if err := runtime.CheckStateDir(runtime.StateDir()); err != nil {
		return usageErr(stderr, err)
	}
	t, err := c.LookupTarget()
	if err != nil {
		return usageErr(stderr, err)
	}
	if err := pick.Check(c.RuntimeConfig()); err != nil {
		return usageErr(stderr, err)
	}
	rt, err := pick.New(ctx, c.RuntimeConfig(), logf)
	if err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
		return faultline.ExitInfra
	}
	version := c.Version
	if version == "" {
		version = t.DefaultVersion()
	}
	art, err := t.Prepare(ctx, version, targets.PrepareOptions{Log: logf})
	if err != nil {
		fmt.Fprintf(stderr, "faultline: prepare %s: %v\n", t.Name(), err)
		return faultline.ExitInfra
	}
	self, err := runtime.Self()
	if err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
		return faultline.ExitInfra
	}
	runID := runtime.NewRunID()
	rec := clusterRecord{RunID: runID, Process: self, Runtime: rt.Name(), Target: t.Name(), Version: art.Version, Started: time.Now()}
	// The record is written before launching, so that `cluster down` and
	// `clean` can find the run even if this process dies while launching.
	if err := writeRecord(rec); err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
		return faultline.ExitInfra
	}
	defer os.Remove(recordPath(runID))
	logf("launching %d %s %s nodes on %s (run %s)", c.Nodes, t.Name(), art.Version, rt.Name(), runID)
	start := time.Now()
	cl, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: t, Artifact: art, Nodes: c.Nodes,
		HealthTimeout: time.Duration(c.HealthTimeout), Log: logf})
	if err != nil {
		fmt.Fprintf(stderr, "faultline: launch cluster: %v\n", err)
		if ctx.Err() != nil {
			return faultline.ExitUnknown
		}
		return faultline.ExitInfra
	}
	healthy := time.Since(start)
	defer func() {
		logf("stopping cluster %s", runID)
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cl.Close(cctx); err != nil {
			fmt.Fprintf(stderr, "faultline: %v\n", err)
		}
	}()
	for _, n := range cl.Nodes() {
		cn := clusterNode{Name: n.Name(), Endpoint: n.Endpoint(targets.ClientPort), Addr: n.Addr()}
		if p, err := n.NetNS(ctx); err == nil && !strings.HasPrefix(p, "/proc/") {
			cn.NetNS = p
		}
		rec.Nodes = append(rec.Nodes, cn)
	}
	if err := writeRecord(rec); err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
		return faultline.ExitInfra
	}
	fmt.Fprintf(stdout, "cluster %s: %d %s %s nodes on %s, healthy in %.2fs\n", runID, c.Nodes, t.Name(), art.Version,
		rt.Name(), healthy.Seconds())
	var eps []string
	for _, n := range rec.Nodes {
		line := fmt.Sprintf("%s %s addr %s", n.Name, n.Endpoint, n.Addr)
		if n.NetNS != "" {
			line += " netns " + n.NetNS
		}
		fmt.Fprintln(stdout, line)
		eps = append(eps, n.Endpoint)
	}
	fmt.Fprintf(stdout, "endpoints %s\n", strings.Join(eps, ","))
	logf("stop it with Ctrl-C or: faultline cluster down --run %s", runID)
	<-ctx.Done()
	return faultline.ExitPass
}

// cmdClusterDown stops the cluster runID (or the only one up): `cluster
// down --run` goes through here.
func cmdClusterDown(ctx context.Context, runID string, stdout, stderr io.Writer) int {
	if err := checkRunFlag(runID); err != nil {
		return usageErr(stderr, err)
	}
	// Records are trusted (their pid gets signalled) only in a state
	// directory nobody else controls.
	if err := runtime.CheckStateDir(runtime.StateDir()); err != nil {
		return usageErr(stderr, err)
	}
	if runID == "" {
		recs := readRecords()
		switch len(recs) {
		case 0:
			return usageErr(stderr, errors.New("no cluster is up (faultline cluster ls)"))
		case 1:
			runID = recs[0].RunID
		default:
			var ids []string
			for _, r := range recs {
				ids = append(ids, r.RunID)
			}
			return usageErr(stderr, fmt.Errorf("%d clusters are up (%s): say which with --run", len(recs), strings.Join(ids, ", ")))
		}
	}
	if rec, err := readRecord(recordPath(runID)); err == nil && rec.RunID == runID {
		// The process that holds the cluster tears it down itself, as on
		// Ctrl-C; only if it still is that process (pids are reused).
		if err := rec.Process.Signal(syscall.SIGTERM); err == nil {
			deadline := time.Now().Add(2 * time.Minute)
			for rec.Process.Verify() == nil && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Fprintf(stdout, "stopped cluster %s (process %d)\n", runID, rec.Pid)
		} else if rec.Pid > 0 {
			fmt.Fprintf(stderr, "faultline: %v\n", err)
		}
	}
	// Whatever the holder could not remove (it was killed, say) goes now.
	return cleanRun(ctx, runID, stdout, stderr)
}

func cmdClusterLs(stdout io.Writer) int {
	recs := readRecords()
	if len(recs) == 0 {
		fmt.Fprintln(stdout, "no cluster is up")
	}
	for _, r := range recs {
		state := "up"
		if r.Process.Verify() != nil {
			state = "gone (faultline clean --run " + r.RunID + ")"
		}
		var eps []string
		for _, n := range r.Nodes {
			eps = append(eps, n.Endpoint)
		}
		fmt.Fprintf(stdout, "%s %s %s %s on %s, %d nodes, %s: %s\n", r.RunID, r.Started.Format(time.RFC3339), r.Target,
			r.Version, r.Runtime, len(r.Nodes), state, strings.Join(eps, ","))
	}
	return faultline.ExitPass
}

// cmdClean removes what killed runs left: of one run (--run) or of all
// (--all); it refuses to guess, because other people's runs may be live.
// `clean --run` and `clean --all` go through here.
func cmdClean(ctx context.Context, runID string, all bool, stdout, stderr io.Writer) int {
	if (runID == "") == !all {
		return usageErr(stderr, errors.New("clean needs --run <id> (one run) or --all (every run)"))
	}
	if err := checkRunFlag(runID); err != nil {
		return usageErr(stderr, err)
	}
	return cleanRun(ctx, runID, stdout, stderr)
}

func cleanRun(ctx context.Context, runID string, stdout, stderr io.Writer) int {
	removed, skipped, err := pick.Clean(ctx, runID)
	for _, r := range removed {
		fmt.Fprintf(stdout, "removed %s\n", r)
	}
	for _, s := range skipped {
		fmt.Fprintf(stderr, "faultline: skipped %s\n", s)
	}
	if runID != "" {
		os.Remove(recordPath(runID))
	} else {
		for _, r := range readRecords() {
			os.Remove(recordPath(r.RunID))
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "faultline: %v\n", err)
		return faultline.ExitInfra
	}
	if len(removed) == 0 {
		fmt.Fprintln(stdout, "nothing to clean")
	}
	return faultline.ExitPass
}

func writeRecord(r clusterRecord) error {
	if err := runtime.EnsureStateDir(runtime.StateDir()); err != nil {
		return err
	}
	if err := os.MkdirAll(clusterDir(), 0o700); err != nil {
		return fmt.Errorf("record cluster: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := recordPath(r.RunID) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("record cluster: %w", err)
	}
	return os.Rename(tmp, recordPath(r.RunID))
}

func readRecord(path string) (clusterRecord, error) {
	var r clusterRecord
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(b, &r)
}

func readRecords() []clusterRecord {
	if runtime.CheckStateDir(runtime.StateDir()) != nil {
		return nil
	}
	paths, _ := filepath.Glob(filepath.Join(clusterDir(), "*.json"))
	var out []clusterRecord
	for _, p := range paths {
		if r, err := readRecord(p); err == nil && p == recordPath(r.RunID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

// checkRunFlag refuses a --run that is not a run id ("" is no --run).
func checkRunFlag(id string) error {
	if id == "" {
		return nil
	}
	if err := runtime.ValidateRunID(id); err != nil {
		return fmt.Errorf("--run: %w", err)
	}
	return nil
}
