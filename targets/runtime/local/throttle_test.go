//go:build linux

package local_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/echo"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/local"
)

func launchEcho(t *testing.T, ctx context.Context, runID string) runtime.Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: cgroups")
	}
	rt, err := local.New()
	if err != nil {
		t.Fatal(err)
	}
	tg := echo.New()
	art, err := tg.Prepare(ctx, "", targets.PrepareOptions{Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: tg, Artifact: art, Nodes: 2,
		LogDir: filepath.Join(t.TempDir(), "logs"), HealthTimeout: 30 * time.Second, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestThrottleCPU caps a node's CPU: its processes move to a cgroup of
// their own with the quota, and back when the limit is lifted; Clean
// removes a cgroup a killed harness left.
func TestThrottleCPU(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runID := runtime.NewRunID()
	c := launchEcho(t, ctx, runID)
	defer c.Close(ctx)
	n := c.Nodes()[0]
	th := n.(runtime.Throttler)
	how, err := th.Throttle(ctx, runtime.Limits{CPUPercent: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(how)
	dir := strings.Fields(strings.TrimPrefix(how, "cgroup "))[0]
	quota := "cpu.cfs_quota_us"
	if runtime.CgroupV2() {
		quota = "cpu.max"
	}
	b, err := os.ReadFile(filepath.Join(dir, quota))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(string(b)), "20000") {
		t.Errorf("%s: %s = %q, want 20000", dir, quota, b)
	}
	procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if len(strings.Fields(string(procs))) == 0 {
		t.Errorf("no process in %s", dir)
	}
	if _, err := th.Throttle(ctx, runtime.Limits{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left after the limit was lifted", dir)
	}
	// Throttled again, then abandoned: Clean kills the processes and
	// removes the cgroup.
	if _, err := th.Throttle(ctx, runtime.Limits{CPUPercent: 50}); err != nil {
		t.Fatal(err)
	}
	other, _ := local.New()
	removed, err := other.Clean(ctx, runID)
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	t.Logf("clean removed %v", removed)
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s left after clean", dir)
	}
}

// TestStopWithSignal stops a node with SIGTERM: it exits (echod does not
// catch it) before the grace ends; started again, it answers.
func TestStopWithSignal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := launchEcho(t, ctx, runtime.NewRunID())
	defer c.Close(ctx)
	n := c.Nodes()[1]
	forced, err := n.(runtime.Stopper).Stop(ctx, syscall.SIGTERM, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if forced {
		t.Errorf("echod needed SIGKILL after SIGTERM")
	}
	if _, err := echo.Say(ctx, echo.HostPort(n.Endpoint(targets.ClientPort)), "hi"); err == nil {
		t.Errorf("%s answers after SIGTERM", n.Name())
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := runtime.WaitHealthy(ctx, echo.New(), []runtime.Node{n}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}
