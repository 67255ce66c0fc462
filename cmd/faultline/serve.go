package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/load"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/report/live"
)

func (a *app) serveCmd() *cobra.Command {
	var addr string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "serve [flags] RUN_DIR",
		Short: "serve a run directory's live page over HTTP (while it runs, and after as its report)",
		Long: `Serve a run directory over HTTP: one page (embedded, no external assets) that shows
throughput, latency and availability per second with the fault windows, updated
every second while a run still writes the directory, and the verdicts once the
checks are done. It binds 127.0.0.1 unless --addr names a host, and serves nothing
outside the run directory.`,
		Example: `  faultline serve results/latest
  faultline serve results/20261125-234144-etcd-partition-0a3251f9 --addr :9090
  faultline serve --addr 0.0.0.0:8080 results/latest   # every interface: mind who can reach it`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return errors.New("serve wants one run directory, e.g. faultline serve results/latest")
			}
			return nil
		},
	}
	inGroup(cmd.Flags(), groupOutput, func() {
		cmd.Flags().StringVar(&addr, "addr", ":8080", "address to listen on; a port alone binds 127.0.0.1")
		cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the directory and the address, say what would be served, serve nothing")
	})
	cmd.RunE = a.do(func(_ *cobra.Command, args []string) int {
		dir, err := runDirArg(args[0])
		if err != nil {
			return usageErr(a.stderr, err)
		}
		if dryRun {
			at, err := live.ListenAddr(addr)
			if err != nil {
				return usageErr(a.stderr, fmt.Errorf("--addr %v", err))
			}
			fmt.Fprintf(a.stdout, "would serve %s at http://%s/; dry run: nothing served\n", dir, at)
			return faultline.ExitPass
		}
		l, err := live.Listen(addr)
		if err != nil {
			return usageErr(a.stderr, fmt.Errorf("--addr %v", err))
		}
		fmt.Fprintf(a.stderr, "faultline: serving %s at http://%s/ (Ctrl-C stops)\n", dir, l.Addr())
		if err := live.Serve(a.ctx, l, live.New(dir).Handler()); err != nil {
			fmt.Fprintf(a.stderr, "faultline: %v\n", err)
			return faultline.ExitInfra
		}
		return faultline.ExitPass
	})
	return cmd
}

// runDirArg is the run directory an argument names: a run directory, or a
// results directory whose latest run is meant.
func runDirArg(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, scenario.ScenarioFile)); err == nil {
		return dir, nil
	}
	if target, err := os.Readlink(filepath.Join(dir, "latest")); err == nil && !filepath.IsAbs(target) && filepath.Base(target) == target {
		if _, err := os.Stat(filepath.Join(dir, target, scenario.ScenarioFile)); err == nil {
			return filepath.Join(dir, target), nil
		}
	}
	return "", fmt.Errorf("%s is not a run directory (it has no %s)", dir, scenario.ScenarioFile)
}

// liveView is the live page of the run this process runs: it learns the
// run's progress from the progress hook and its phase from the log.
type liveView struct {
	srv *live.Server
	mu  sync.Mutex
	st  live.Status
}

// startLive listens on addr (before anything is launched: a bad address
// is bad usage) and serves the directory of run runID under out once it
// exists.
func startLive(ctx context.Context, addr, out, runID string) (*liveView, string, error) {
	l, err := live.Listen(addr)
	if err != nil {
		return nil, "", fmt.Errorf("--serve %v", err)
	}
	v := &liveView{srv: live.New("", live.Locate(func() string {
		m, _ := filepath.Glob(filepath.Join(out, "*-"+runID))
		if len(m) == 1 {
			return m[0]
		}
		return ""
	}))}
	go live.Serve(ctx, l, v.srv.Handler())
	return v, "http://" + l.Addr().String() + "/", nil
}

func (v *liveView) phase(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.st.Phase = msg
	v.srv.SetStatus(v.st)
}

func (v *liveView) progress(p load.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.st.Elapsed, v.st.Total, v.st.Fault = p.Elapsed.Seconds(), p.Total.Seconds(), p.Fault
	if p.Done {
		v.st.Elapsed, v.st.Fault = v.st.Total, ""
	}
	v.srv.SetStatus(v.st)
}

// liveEvery is how often the live page's status is refreshed from the
// progress hook (the page polls every second).
const liveEvery = 500 * time.Millisecond
