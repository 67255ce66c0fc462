package bench_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/local"
	"github.com/faultline/faultline/targets/runtime/pick"
)

func TestNodeCounts(t *testing.T) {
	for n, ok := range map[int]bool{-1: false, 0: false, 1: true, 2: false, 3: true, 4: false, 5: true, 6: false, 7: true, 8: false, 9: false} {
		c := scenario.DefaultCluster()
		c.Nodes = n
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("--nodes %d: %v, want ok=%v", n, err, ok)
		}
	}
}

// shortScenario is a few seconds of load on a 3-node etcd, with the leader
// partitioned away for a second when nemesis is set.
func shortScenario(t *testing.T, rt, netns, nemesis string) scenario.Scenario {
	sc := scenario.Default()
	sc.Cluster.Runtime, sc.Cluster.Netns = rt, netns
	sc.Load.Duration = scenario.Duration(4 * time.Second)
	sc.Load.Rate = "100"
	sc.Chaos.Nemesis = []string{nemesis}
	sc.Chaos.Interval = scenario.Duration(time.Second)
	sc.Out = t.TempDir()
	sc.Seed = 7
	return sc
}

// The same scenario on every runtime: docker, local with a network namespace
// per node (root), and local on loopback (namespaces off, as without root:
// there network faults cannot be had, so the nemesis is off). Each must come
// back valid, record the runtime it used, save node logs and leave nothing.
func TestSameScenarioOnEveryRuntime(t *testing.T) {
	cases := []struct {
		name, runtime, netns, nemesis string
	}{
		{"docker", pick.Docker, "", "partition"},
		{"local-netns", pick.Local, pick.NetnsOn, "partition"},
		{"local-loopback", pick.Local, pick.NetnsOff, "none"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.netns == pick.NetnsOn && !local.CanUseNamespaces() {
				t.Skip("network namespaces need root")
			}
			if tc.runtime == pick.Docker && exec.Command("docker", "info").Run() != nil {
				t.Skip("no Docker engine")
			}
			sc := shortScenario(t, tc.runtime, tc.netns, tc.nemesis)
			// Node data is kept whatever the verdict when asked, on both
			// runtimes' ways of copying it (a container, a directory).
			sc.Cluster.KeepData = tc.nemesis == "partition"
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			out, err := faultline.RunContext(ctx, sc, faultline.WithLog(t.Logf))
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			t.Log(report.VerdictLine(out.Summary, out.Dir))
			if out.Summary.Verdict != checkers.Valid {
				t.Fatalf("verdict %s: %+v", out.Summary.Verdict, out.Summary.Checks)
			}
			info, err := scenario.ReadInfo(out.Dir)
			if err != nil {
				t.Fatal(err)
			}
			if info.Cluster.Runtime != tc.runtime || info.Cluster.Netns != tc.netns {
				t.Errorf("scenario.json says runtime %q netns %q, want %q %q", info.Cluster.Runtime, info.Cluster.Netns, tc.runtime, tc.netns)
			}
			events, _, err := history.ReadFile(filepath.Join(out.Dir, scenario.HistoryFile))
			if err != nil {
				t.Fatal(err)
			}
			if ops := history.Operations(events); len(ops) < 100 {
				t.Errorf("only %d operations", len(ops))
			}
			if tc.nemesis == "partition" {
				ws := history.Faults(events)
				if len(ws) == 0 || ws[0].Kind != "partition" || ws[0].End <= ws[0].Start {
					t.Errorf("no healed partition window: %+v", ws)
				}
			}
			for _, n := range []string{"n1", "n2", "n3"} {
				if st, err := os.Stat(filepath.Join(out.Dir, scenario.LogsDir, n+".log")); err != nil || st.Size() == 0 {
					t.Errorf("log of %s missing: %v", n, err)
				}
			}
			if sc.Cluster.KeepData {
				for _, n := range []string{"n1", "n2", "n3"} {
					if files := countFiles(t, filepath.Join(out.Dir, scenario.DataDir, n)); files == 0 {
						t.Errorf("keep_data: no data of %s saved", n)
					}
				}
			}
			assertNothingLeft(t, info.RunID)
		})
	}
}

// countFiles counts the regular files below dir (0 when it is missing).
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// --version builds (or takes from the cache) another etcd and records it.
func TestVersionIsBuiltAndRecorded(t *testing.T) {
	sc := shortScenario(t, pick.Local, pick.NetnsOff, "none")
	sc.Cluster.Version = "v3.5.17"
	sc.Load.Duration = scenario.Duration(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := faultline.RunContext(ctx, sc, faultline.WithLog(t.Logf))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	info, err := scenario.ReadInfo(out.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.TargetVersion != "v3.5.17" || info.Cluster.Version != "v3.5.17" {
		t.Errorf("scenario.json: target_version %q version %q, want v3.5.17", info.TargetVersion, info.Cluster.Version)
	}
	if out.Summary.Verdict != checkers.Valid {
		t.Errorf("verdict %s", out.Summary.Verdict)
	}
	log, _ := os.ReadFile(filepath.Join(out.Dir, scenario.LogsDir, "n1.log"))
	if !strings.Contains(string(log), "3.5.17") {
		t.Errorf("n1's log does not name etcd 3.5.17")
	}
}

func assertNothingLeft(t *testing.T, runID string) {
	t.Helper()
	if exec.Command("docker", "info").Run() == nil {
		for _, args := range [][]string{
			{"ps", "-a", "--filter", "label=faultline.run=" + runID, "--format", "{{.Names}}"},
			{"network", "ls", "--filter", "label=faultline.run=" + runID, "--format", "{{.Name}}"},
		} {
			b, err := exec.Command("docker", args...).CombinedOutput()
			if err != nil {
				t.Errorf("docker %v: %v", args, err)
				continue
			}
			if s := strings.TrimSpace(string(b)); s != "" {
				t.Errorf("left behind: %s", s)
			}
		}
	}
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if strings.Contains(e.Name(), runID) {
			t.Errorf("network namespace %s left behind", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(runtime.StateDir(), runID)); err == nil {
		t.Errorf("state directory of %s left behind", runID)
	}
}
