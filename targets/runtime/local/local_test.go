//go:build linux

package local_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/local"
)

func launch(t *testing.T, ctx context.Context, rt *local.Runtime, runID string) runtime.Cluster {
	t.Helper()
	tg := etcd.New()
	art, err := tg.Prepare(ctx, "", targets.PrepareOptions{Log: t.Logf})
	if err != nil {
		t.Fatalf("prepare etcd: %v", err)
	}
	start := time.Now()
	c, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: tg, Artifact: art, Nodes: 3,
		LogDir: filepath.Join(t.TempDir(), "logs"), HealthTimeout: 60 * time.Second, Log: t.Logf})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Logf("3 nodes healthy in %v", time.Since(start))
	return c
}

func healthy(ctx context.Context, n runtime.Node) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	return etcd.New().Healthy(ctx, &http.Client{Timeout: time.Second}, n.Endpoint(targets.ClientPort))
}

func waitHealthy(t *testing.T, ctx context.Context, n runtime.Node) {
	t.Helper()
	if err := runtime.WaitHealthy(ctx, etcd.New(), []runtime.Node{n}, 30*time.Second); err != nil {
		t.Fatalf("%s not healthy again: %v", n.Name(), err)
	}
}

// exercise kills, restarts, pauses and resumes a node of a running cluster.
func exercise(t *testing.T, ctx context.Context, c runtime.Cluster) {
	nodes := c.Nodes()
	n := nodes[0]
	if err := n.Kill(ctx); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if err := healthy(ctx, n); err == nil {
		t.Fatalf("%s answers after SIGKILL", n.Name())
	}
	if err := n.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	waitHealthy(t, ctx, n)
	if err := n.Pause(ctx); err != nil {
		t.Fatalf("pause: %v", err)
	}
	if err := healthy(ctx, n); err == nil {
		t.Fatalf("%s answers while stopped", n.Name())
	}
	if err := n.Resume(ctx); err != nil {
		t.Fatalf("resume: %v", err)
	}
	waitHealthy(t, ctx, n)
	logs, err := n.Logs(ctx)
	if err != nil || !bytes.Contains(logs, []byte("etcd")) {
		t.Fatalf("logs: %v, %d bytes", err, len(logs))
	}
}

func assertGone(t *testing.T, runID string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(runtime.StateDir(), runID)); err == nil {
		t.Errorf("state directory of run %s left behind", runID)
	}
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		if strings.Contains(e.Name(), runID) {
			t.Errorf("network namespace %s left behind", e.Name())
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		env, err := os.ReadFile("/proc/" + p.Name() + "/environ")
		if err == nil && bytes.Contains(env, []byte(runtime.EnvRun+"="+runID+"\x00")) {
			st, _ := os.ReadFile("/proc/" + p.Name() + "/stat")
			if !bytes.Contains(st, []byte(") Z ")) {
				t.Errorf("process %s of run %s left behind", p.Name(), runID)
			}
		}
	}
}

// Without namespaces: loopback ports, signals, and NetNS refuses with a
// reason (network faults need root).
func TestLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := local.New(local.WithNamespaces(false))
	if err != nil {
		t.Fatal(err)
	}
	runID := runtime.NewRunID()
	c := launch(t, ctx, rt, runID)
	defer c.Close(ctx)
	for _, n := range c.Nodes() {
		if !strings.HasPrefix(n.Endpoint(targets.ClientPort), "http://127.0.0.1:") || n.Addr() != "127.0.0.1" {
			t.Errorf("%s: endpoint %s addr %s, want loopback", n.Name(), n.Endpoint(targets.ClientPort), n.Addr())
		}
		if _, err := n.NetNS(ctx); !errors.Is(err, local.ErrNoNetNS) || !strings.Contains(err.Error(), "root") {
			t.Errorf("NetNS without namespaces: %v", err)
		}
	}
	exercise(t, ctx, c)
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	assertGone(t, runID)
}

// With namespaces (root): every node has its own address and namespace, named
// after the run; closing removes them.
func TestNamespaces(t *testing.T) {
	if !local.CanUseNamespaces() {
		t.Skip("network namespaces need root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := local.New(local.WithNamespaces(true))
	if err != nil {
		t.Fatal(err)
	}
	runID := runtime.NewRunID()
	c := launch(t, ctx, rt, runID)
	defer c.Close(ctx)
	seen := map[string]bool{}
	for _, n := range c.Nodes() {
		p, err := n.NetNS(ctx)
		if err != nil || !strings.Contains(p, runID) {
			t.Fatalf("%s: NetNS %q %v", n.Name(), p, err)
		}
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", n.Name(), err)
		}
		if seen[n.Addr()] || strings.HasPrefix(n.Addr(), "127.") {
			t.Errorf("%s: address %s not its own", n.Name(), n.Addr())
		}
		seen[n.Addr()] = true
	}
	exercise(t, ctx, c)
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	assertGone(t, runID)
}

// Clean removes a run it did not launch: processes, namespaces, links and
// files, found by the run id alone.
func TestCleanRemovesAnAbandonedRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := local.New()
	if err != nil {
		t.Fatal(err)
	}
	runID := runtime.NewRunID()
	c := launch(t, ctx, rt, runID)
	defer c.Close(ctx)
	other, err := local.New()
	if err != nil {
		t.Fatal(err)
	}
	removed, err := other.Clean(ctx, runID)
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	t.Logf("removed: %s", strings.Join(removed, ", "))
	if len(removed) < 4 {
		t.Errorf("clean removed only %v", removed)
	}
	assertGone(t, runID)
}

// lonely is etcd told that its peers listen where nothing does: the members
// never elect a leader, so none becomes healthy.
type lonely struct{ *etcd.Target }

func (l lonely) Node(i int, peers []targets.Peer) targets.NodeSpec {
	wrong := make([]targets.Peer, len(peers))
	for j, p := range peers {
		wrong[j] = p
		if j != i {
			wrong[j].Ports = map[string]int{targets.ClientPort: p.Ports[targets.ClientPort], "peer": 1}
		}
	}
	return l.Target.Node(i, wrong)
}

// A node that does not become healthy in time fails the launch with an
// UnhealthyError carrying its last log lines; its data directory is kept.
func TestUnhealthyNodeFailsWithItsLog(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := local.New(local.WithNamespaces(false))
	if err != nil {
		t.Fatal(err)
	}
	tg := lonely{etcd.New()}
	art, err := tg.Prepare(ctx, "", targets.PrepareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runID := runtime.NewRunID()
	dataDir := filepath.Join(t.TempDir(), "data")
	_, err = rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: tg, Artifact: art, Nodes: 3,
		DataDir: dataDir, HealthTimeout: 3 * time.Second})
	var uh *runtime.UnhealthyError
	if !errors.As(err, &uh) {
		t.Fatalf("launch: %v, want an UnhealthyError", err)
	}
	if !strings.Contains(uh.LastLog, "etcd") || !strings.Contains(err.Error(), "last log lines") {
		t.Errorf("error without the node's log: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "n1", "member")); err != nil {
		t.Errorf("data directory of n1 not kept: %v", err)
	}
	assertGone(t, runID)
}

// Two etcd versions run side by side, each from its own cached build.
func TestTwoVersionsSideBySide(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rt, err := local.New(local.WithNamespaces(false))
	if err != nil {
		t.Fatal(err)
	}
	tg := etcd.New()
	for _, v := range []string{"v3.5.17", etcd.DefaultVersion} {
		art, err := tg.Prepare(ctx, v, targets.PrepareOptions{Log: t.Logf})
		if err != nil {
			t.Fatalf("prepare %s: %v", v, err)
		}
		runID := runtime.NewRunID()
		c, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: tg, Artifact: art, Nodes: 1, HealthTimeout: time.Minute})
		if err != nil {
			t.Fatalf("launch %s: %v", v, err)
		}
		defer c.Close(ctx)
		resp, err := http.Get(c.Nodes()[0].Endpoint(targets.ClientPort) + "/version")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if !strings.Contains(buf.String(), `"etcdserver":"`+strings.TrimPrefix(v, "v")+`"`) {
			t.Errorf("%s cluster says %s", v, buf.String())
		}
	}
}
