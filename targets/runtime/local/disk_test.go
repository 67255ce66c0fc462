//go:build linux

package local_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/chaos/lazyfs"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/local"
)

// With LazyFS the data directories are lazyfs mounts: a node loses its
// unsynced writes while stopped and starts again on what was synced; the
// mounts of a run that was abandoned go with `faultline clean`.
func TestLazyFSDataDirs(t *testing.T) {
	if err := lazyfs.Available(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rt, err := local.New(local.WithNamespaces(false))
	if err != nil {
		t.Fatal(err)
	}
	tg := etcd.New()
	art, err := tg.Prepare(ctx, "", targets.PrepareOptions{Log: t.Logf})
	if err != nil {
		t.Fatalf("prepare etcd: %v", err)
	}
	runID := runtime.NewRunID()
	c, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: tg, Artifact: art, Nodes: 3, LazyFS: true,
		LogDir: filepath.Join(t.TempDir(), "logs"), HealthTimeout: 60 * time.Second})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	defer c.Close(ctx)
	mounts, _ := lazyfs.Mounts("faultline-" + runID + "-")
	if len(mounts) != 3 {
		t.Fatalf("lazyfs mounts of the run: %v, want 3", mounts)
	}
	n := c.Nodes()[0]
	ld, ok := n.(runtime.LazyDisk)
	if !ok {
		t.Fatal("a node of a LazyFS cluster is not a runtime.LazyDisk")
	}
	if _, err := ld.LoseUnsynced(ctx); err == nil {
		t.Error("LoseUnsynced of a running node did not refuse")
	}
	if err := n.(runtime.FreshNode).Wipe(ctx); err == nil {
		t.Error("Wipe of a running node did not refuse")
	}
	if err := n.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	lost, err := ld.LoseUnsynced(ctx)
	if err != nil {
		t.Fatalf("lose unsynced: %v", err)
	}
	t.Logf("lost %s", lost)
	if err := n.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// etcd fsyncs what it acknowledges: it starts again on what it synced.
	waitHealthy(t, ctx, n)
	if err := n.(runtime.ClockNode).SetClock(ctx, runtime.Clock{Offset: time.Second}); err != nil {
		t.Errorf("set clock: %v", err)
	}
	other, err := local.New(local.WithNamespaces(false))
	if err != nil {
		t.Fatal(err)
	}
	removed, err := other.Clean(ctx, runID)
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	if got := strings.Count(strings.Join(removed, "\n"), "lazyfs mount"); got != 3 {
		t.Errorf("clean removed %d lazyfs mounts, want 3: %v", got, removed)
	}
	if left, _ := lazyfs.Mounts("faultline-" + runID + "-"); len(left) > 0 {
		t.Errorf("lazyfs mounts left after clean: %v", left)
	}
	assertGone(t, runID)
}
