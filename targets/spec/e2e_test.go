package spec_test

import (
	"context"
	"net/http"
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
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
	"github.com/faultline/faultline/targets/runtime"
	"github.com/faultline/faultline/targets/runtime/docker"
	"github.com/faultline/faultline/targets/runtime/local"
	"github.com/faultline/faultline/targets/runtime/pick"
	"github.com/faultline/faultline/targets/spec"
)

func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := docker.New(ctx); err != nil {
		t.Skipf("no Docker engine: %v", err)
	}
}

// runExample runs examples/raftkv.yaml, shortened, with the given bug.
func runExample(t *testing.T, bug string, seed uint64) *faultline.Outcome {
	t.Helper()
	sc := loadExample(t)
	sc.Load.Duration = scenario.Duration(8 * time.Second)
	sc.Chaos.Interval = scenario.Duration(3 * time.Second)
	sc.Chaos.Quiet = scenario.Duration(2 * time.Second)
	sc.Cluster.Runtime = pick.Docker
	sc.Out = t.TempDir()
	sc.Seed = seed
	if bug != "" {
		sc.Cluster.Options = map[string]string{"bug": bug}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := faultline.RunContext(ctx, sc, faultline.WithLog(t.Logf))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Log(report.VerdictLine(out.Summary, out.Dir))
	return out
}

// The example file gives raftkv's verdicts: valid with the leader
// partitioned away, invalid with --bug stale-reads (the built-in
// `--target raftkv [--bug stale-reads]` gives the same with seed 1).
func TestExampleRaftkvVerdicts(t *testing.T) {
	needDocker(t)
	t.Run("correct", func(t *testing.T) {
		out := runExample(t, "", 1)
		if out.Summary.Verdict != checkers.Valid || faultline.ExitCode(out, nil) != faultline.ExitPass {
			t.Fatalf("verdict %s, want valid: %+v", out.Summary.Verdict, out.Summary.Checks)
		}
		events, _, err := history.ReadFile(filepath.Join(out.Dir, scenario.HistoryFile))
		if err != nil {
			t.Fatal(err)
		}
		ws := history.Faults(events)
		if len(ws) == 0 || !strings.Contains(ws[0].Fault.Detail, "(leader)") {
			t.Errorf("the partition did not isolate the leader the spec found: %+v", ws)
		}
		var cas, ok int
		for _, op := range history.Operations(events) {
			if op.F == history.FCAS {
				cas++
			}
			if op.Type == history.OK {
				ok++
			}
		}
		if cas == 0 || ok < 500 {
			t.Errorf("%d cas, %d ok operations: the spec's requests did not work", cas, ok)
		}
		assertNothingLeft(t, out.Summary.RunID)
	})
	t.Run("stale-reads", func(t *testing.T) {
		out := runExample(t, "stale-reads", 1)
		if out.Summary.Verdict != checkers.Invalid || faultline.ExitCode(out, nil) != faultline.ExitFail {
			t.Fatalf("verdict %s, want invalid: %+v", out.Summary.Verdict, out.Summary.Checks)
		}
		assertNothingLeft(t, out.Summary.RunID)
	})
}

// A Dockerfile directory is built by the local engine (FROM scratch: nothing
// to pull) and runs a whole short scenario; the image it made, named as an
// image source, launches a healthy cluster whose leader is found; the local
// runtime refuses both in one line.
func TestDockerfileAndImageSources(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := gobuild.BuildLocal(ctx, gobuild.LocalSpec{Name: "raftkv", Package: "github.com/faultline/faultline/targets/raftkv/cmd/raftkv"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "raftkv"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	df := "FROM scratch\nCOPY raftkv /usr/bin/raftkv\nENTRYPOINT [\"/usr/bin/raftkv\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}

	sc := loadExample(t)
	s := *sc.Cluster.Spec
	s.Name, s.Source = "raftkv-dockerfile", spec.Source{Dockerfile: dir}
	sc.Cluster.Spec, sc.Cluster.Target = &s, s.Name
	sc.Cluster.Runtime = pick.Docker
	sc.Chaos.Nemesis = []string{"none"}
	sc.Chaos.Quiet = scenario.Duration(time.Second)
	sc.Load.Duration = scenario.Duration(3 * time.Second)
	sc.Name, sc.Out, sc.Seed = "", t.TempDir(), 2
	out, err := faultline.RunContext(ctx, sc, faultline.WithLog(t.Logf))
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	t.Log(report.VerdictLine(out.Summary, out.Dir))
	if out.Summary.Verdict != checkers.Valid || out.Summary.Ops.OK < 100 {
		t.Fatalf("verdict %s with %d ok operations, want valid", out.Summary.Verdict, out.Summary.Ops.OK)
	}
	assertNothingLeft(t, out.Summary.RunID)

	// The image the run built, run as an image source.
	tg, err := spec.New(s, spec.Config{Nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	art, err := tg.Prepare(ctx, "", targets.PrepareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := docker.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := rt.Image(ctx, s.Name, art)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ref, "faultline/raftkv-dockerfile:dockerfile-") {
		t.Errorf("image %s", ref)
	}
	img := s
	img.Name, img.Source = "raftkv-image", spec.Source{Image: ref}
	itg, err := spec.New(img, spec.Config{Nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	iart, err := itg.Prepare(ctx, itg.DefaultVersion(), targets.PrepareOptions{})
	if err != nil || iart.Image != ref || iart.Binary != "" {
		t.Fatalf("prepare image: %+v %v", iart, err)
	}
	runID := runtime.NewRunID()
	cl, err := rt.Launch(ctx, runtime.ClusterSpec{RunID: runID, Target: itg, Artifact: iart, Nodes: 3, HealthTimeout: time.Minute})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	var bases []string
	for _, n := range cl.Nodes() {
		bases = append(bases, n.Endpoint(targets.ClientPort))
	}
	leader, hc := -1, &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if leader, err = itg.Leader(ctx, hc, bases); err == nil {
			break
		}
	}
	if leader < 0 {
		t.Errorf("no leader found: %v", err)
	}
	if err := cl.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	assertNothingLeft(t, runID)

	// The local runtime cannot run an image: one clear line.
	lrt, err := local.New(local.WithNamespaces(false))
	if err != nil {
		t.Fatal(err)
	}
	_, err = lrt.Launch(ctx, runtime.ClusterSpec{RunID: runtime.NewRunID(), Target: itg, Artifact: iart, Nodes: 3})
	if err == nil || !strings.Contains(err.Error(), "only the docker runtime can run") || strings.Contains(err.Error(), "\n") {
		t.Errorf("local runtime with an image: %v", err)
	}
}

func assertNothingLeft(t *testing.T, runID string) {
	t.Helper()
	for _, args := range [][]string{
		{"ps", "-a", "--filter", "label=faultline.run=" + runID, "--format", "{{.Names}}"},
		{"network", "ls", "--filter", "label=faultline.run=" + runID, "--format", "{{.Name}}"},
	} {
		b, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Logf("docker %v: %v (skipping leak check)", args, err)
			continue
		}
		if s := strings.TrimSpace(string(b)); s != "" {
			t.Errorf("left behind after the run: %s", s)
		}
	}
}
