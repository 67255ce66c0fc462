package docker_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
)

// A node keeps its address across kill and restart (partition rules name
// addresses), its endpoint follows the new published port, its data dir can
// be copied out, and closing leaves no container or network.
func TestRestartKeepsAddressAndFollowsPort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := docker.New(ctx)
	if err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
	tg := etcd.New()
	art, err := tg.Prepare(ctx, "", targets.PrepareOptions{Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	runID := runtime.NewRunID()
	logDir := filepath.Join(t.TempDir(), "logs")
	c, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: tg, Artifact: art, Nodes: 3,
		LogDir: logDir, HealthTimeout: 60 * time.Second, Log: t.Logf})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	defer c.Close(ctx)
	n := c.Nodes()[0]
	addr := n.Addr()
	if !strings.HasPrefix(addr, "10.") || !strings.HasSuffix(addr, ".2") {
		t.Errorf("n1 at %s, want the static .2 of the run's 10.x subnet", addr)
	}
	if err := n.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if n.Addr() != addr || n.Endpoint(targets.ClientPort) == "" {
		t.Errorf("killed node: addr %q endpoint %q", n.Addr(), n.Endpoint(targets.ClientPort))
	}
	if _, err := n.NetNS(ctx); err == nil {
		t.Errorf("a stopped container has a network namespace?")
	}
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n.Addr() != addr {
		t.Errorf("restarted n1 at %s, was %s", n.Addr(), addr)
	}
	if err := runtime.WaitHealthy(ctx, tg, []runtime.Node{n}, 30*time.Second); err != nil {
		t.Fatalf("n1 after restart: %v", err)
	}
	if err := n.Pause(ctx); err != nil {
		t.Fatal(err)
	}
	hctx, hcancel := context.WithTimeout(ctx, time.Second)
	if tg.Healthy(hctx, &http.Client{Timeout: time.Second}, n.Endpoint(targets.ClientPort)) == nil {
		t.Errorf("paused n1 answers")
	}
	hcancel()
	if err := n.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := c.SaveData(ctx, data); err != nil {
		t.Fatalf("save data: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "n2", "member", "snap")); err != nil {
		t.Errorf("n2's data not copied: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	if st, err := os.Stat(filepath.Join(logDir, "n1.log")); err != nil || st.Size() == 0 {
		t.Errorf("n1.log: %v", err)
	}
	for _, args := range [][]string{
		{"ps", "-a", "--filter", "label=faultline.run=" + runID, "--format", "{{.Names}}"},
		{"network", "ls", "--filter", "label=faultline.run=" + runID, "--format", "{{.Name}}"},
	} {
		b, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil || strings.TrimSpace(string(b)) != "" {
			t.Errorf("docker %v: %q %v", args, b, err)
		}
	}
}
