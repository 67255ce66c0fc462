package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// faultlineBin builds the real binary once: these tests signal and kill a
// real faultline process.
func faultlineBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "faultline-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "faultline")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build faultline: %v", buildErr)
	}
	return binPath
}

type runtimeCase struct{ name, runtime, netns string }

func runtimeCases(t *testing.T) []runtimeCase {
	var cs []runtimeCase
	if exec.Command("docker", "info").Run() == nil {
		cs = append(cs, runtimeCase{"docker", "docker", ""})
	}
	if os.Geteuid() == 0 {
		cs = append(cs, runtimeCase{"local-netns", "local", "on"})
	}
	if len(cs) == 0 {
		t.Skip("neither a Docker engine nor root")
	}
	return cs
}

// startRun starts `faultline run` with a long load and 2 s faults (nemesis,
// partition by default) after 2 s of quiet, and returns as soon as a fault
// is in place (so a signal sent now lands inside it), with the run
// directory.
func startRun(t *testing.T, rc runtimeCase, stateDir string, nemesis ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	out := t.TempDir()
	nem := "partition"
	if len(nemesis) > 0 {
		nem = nemesis[0]
	}
	args := []string{"run", "--runtime", rc.runtime, "--duration", "60s", "--rate", "50",
		"--nemesis", nem, "--nemesis-interval", "2s", "--out", out, "--seed", "3"}
	if rc.netns != "" {
		args = append(args, "--netns", rc.netns)
	}
	cmd := exec.Command(faultlineBin(t), args...)
	cmd.Env = append(os.Environ(), "FAULTLINE_STATE_DIR="+stateDir)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if dirs, _ := filepath.Glob(filepath.Join(out, "2*")); len(dirs) == 1 {
			events, _, err := history.ReadFile(filepath.Join(dirs[0], scenario.HistoryFile))
			if err == nil {
				for _, e := range events {
					if e.IsNemesis() && e.F == history.FStart && e.Type == history.OK {
						return cmd, dirs[0], stderr
					}
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no fault in place in time; stderr:\n%s", stderr.String())
	return nil, "", nil
}

func runID(t *testing.T, dir string) string {
	t.Helper()
	info, err := scenario.ReadInfo(dir)
	if err != nil || info.RunID == "" {
		t.Fatalf("run id: %v", err)
	}
	return info.RunID
}

// leftovers lists what carries the run id: containers, networks, network
// namespaces, live processes, state files.
func leftovers(t *testing.T, id, stateDir string) []string {
	t.Helper()
	var out []string
	if exec.Command("docker", "info").Run() == nil {
		for _, args := range [][]string{
			{"ps", "-a", "--format", "container {{.Names}}"},
			{"network", "ls", "--format", "network {{.Name}}"},
		} {
			b, err := exec.Command("docker", args...).Output()
			if err != nil {
				t.Fatalf("docker %v: %v", args, err)
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if strings.Contains(sc.Text(), id) {
					out = append(out, sc.Text())
				}
			}
		}
	}
	if b, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, id) {
				out = append(out, "netns "+l)
			}
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		env, err := os.ReadFile("/proc/" + p.Name() + "/environ")
		if err == nil && bytes.Contains(env, []byte(runtime.EnvRun+"="+id+"\x00")) {
			if st, _ := os.ReadFile("/proc/" + p.Name() + "/stat"); !bytes.Contains(st, []byte(") Z ")) {
				out = append(out, "process "+p.Name())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(stateDir, id)); err == nil {
		out = append(out, "state dir "+id)
	}
	// cgroups of slow-cpu on the local runtime (faultline-<run>-<node>)
	_ = filepath.WalkDir("/sys/fs/cgroup", func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Count(p, "/") > 7 {
			return filepath.SkipDir
		}
		if strings.Contains(d.Name(), id) {
			out = append(out, "cgroup "+p)
			return filepath.SkipDir
		}
		return nil
	})
	return out
}

// kill -9 of faultline mid-run, with a fault in place (each of
// signalNemeses): the nodes' processes die with it (Pdeathsig), and
// `faultline clean --run <id>` removes every container, network, namespace
// and cgroup that is left.
func TestKill9ThenClean(t *testing.T) {
	for _, rc := range runtimeCases(t) {
		for _, nem := range signalNemeses {
			t.Run(rc.name+"/"+nem, func(t *testing.T) { kill9ThenClean(t, rc, nem) })
		}
	}
}

func kill9ThenClean(t *testing.T, rc runtimeCase, nem string) {
	stateDir := t.TempDir()
	cmd, dir, _ := startRun(t, rc, stateDir, nem)
	id := runID(t, dir)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	left := leftovers(t, id, stateDir)
	t.Logf("left by the killed run: %v", left)
	if len(left) == 0 {
		t.Fatalf("a SIGKILLed run left nothing: the test proves nothing")
	}
	if rc.runtime == "local" {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && hasProcess(leftovers(t, id, stateDir)) {
			time.Sleep(100 * time.Millisecond)
		}
		if l := leftovers(t, id, stateDir); hasProcess(l) {
			t.Errorf("node processes outlived the harness: %v", l)
		}
	}
	clean := exec.Command(faultlineBin(t), "clean", "--run", id)
	clean.Env = append(os.Environ(), "FAULTLINE_STATE_DIR="+stateDir)
	b, err := clean.CombinedOutput()
	t.Logf("faultline clean --run %s:\n%s", id, b)
	if err != nil {
		t.Fatalf("clean: %v", err)
	}
	if l := leftovers(t, id, stateDir); len(l) > 0 {
		t.Errorf("left after clean: %v", l)
	}
	// The history recorded before the kill is on disk and readable.
	events, _, err := history.ReadFile(filepath.Join(dir, scenario.HistoryFile))
	if err != nil || len(history.Operations(events)) == 0 {
		t.Errorf("history of the killed run: %d events, %v", len(events), err)
	}
}

func hasProcess(l []string) bool {
	for _, s := range l {
		if strings.HasPrefix(s, "process ") {
			return true
		}
	}
	return false
}

// Ctrl-C mid-run, with a fault in place (each of signalNemeses): faultline
// heals the fault, removes everything it created, keeps the history, and
// exits 2 (an interrupted run is never a pass).
func TestSIGINTLeavesNothingAndKeepsTheHistory(t *testing.T) {
	for _, rc := range runtimeCases(t) {
		for _, nem := range signalNemeses {
			t.Run(rc.name+"/"+nem, func(t *testing.T) { sigintLeavesNothing(t, rc, nem) })
		}
	}
}

func sigintLeavesNothing(t *testing.T, rc runtimeCase, nem string) {
	stateDir := t.TempDir()
	cmd, dir, stderr := startRun(t, rc, stateDir, nem)
	id := runID(t, dir)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("faultline did not stop after SIGINT; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Errorf("exit %d after SIGINT, want 2; stderr:\n%s", code, stderr.String())
	}
	if l := leftovers(t, id, stateDir); len(l) > 0 {
		t.Errorf("left after SIGINT: %v", l)
	}
	events, _, err := history.ReadFile(filepath.Join(dir, scenario.HistoryFile))
	if err != nil || len(history.Operations(events)) == 0 {
		t.Fatalf("history: %d events, %v", len(events), err)
	}
	ws := history.Faults(events)
	if len(ws) == 0 {
		t.Fatalf("no fault window in the history")
	}
	// The signal landed inside the fault: the last thing the nemesis did
	// was heal it.
	var last history.Event
	for _, e := range events {
		if e.IsNemesis() {
			last = e
		}
	}
	if last.F != history.FStop || last.Type != history.OK {
		t.Errorf("last nemesis event %s %s, want a successful stop (heal)", last.F, last.Type)
	}
	for _, w := range ws {
		if w.Kind != "" && w.End < 0 {
			t.Errorf("fault %s never recorded as healed: %+v", w.Kind, w)
		}
	}
	info, _ := scenario.ReadInfo(dir)
	if !info.Interrupted {
		t.Errorf("scenario.json does not say the run was interrupted")
	}
}

// cluster up keeps a cluster until cluster down, which stops it through the
// process that holds it.
func TestClusterUpDown(t *testing.T) {
	for _, rc := range runtimeCases(t) {
		t.Run(rc.name, func(t *testing.T) {
			args := []string{"cluster", "up", "--runtime", rc.runtime, "--nodes", "1"}
			if rc.netns != "" {
				args = append(args, "--netns", rc.netns)
			}
			clusterUpDown(t, rc, args, 1)
		})
	}
}

// cluster up --scenario takes the file's cluster section, a spec target
// included, and flags still override it.
func TestClusterUpFromScenario(t *testing.T) {
	rc := runtimeCases(t)[0]
	args := []string{"cluster", "up", "--scenario", filepath.Join("..", "..", "examples", "raftkv.yaml"), "--runtime", rc.runtime, "--bug", "stale-reads"}
	if rc.netns != "" {
		args = append(args, "--netns", rc.netns)
	}
	stdout := clusterUpDown(t, rc, args, 3) // the file says 3 nodes
	if !strings.Contains(stdout, "raftkv-spec") {
		t.Errorf("cluster up printed %q, want the spec's target named", stdout)
	}
	// A bad option is refused before anything starts, as for run.
	b, err := exec.Command(faultlineBin(t), "cluster", "up", "--scenario", filepath.Join("..", "..", "examples", "raftkv.yaml"), "--bug", "nosuch").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(b), `bug="nosuch"`) {
		t.Errorf("--bug nosuch: %v, %q; want exit 3 naming the value", err, b)
	}
}

// clusterUpDown runs faultline with args (a cluster up), waits for its
// endpoints line, checks it names nodes endpoints, stops it with cluster
// down and checks nothing is left. It returns what cluster up printed.
func clusterUpDown(t *testing.T, rc runtimeCase, args []string, nodes int) string {
	t.Helper()
	stateDir := t.TempDir()
	up := exec.Command(faultlineBin(t), args...)
	up.Env = append(os.Environ(), "FAULTLINE_STATE_DIR="+stateDir)
	stdout, stderr := &lockedBuffer{}, &lockedBuffer{}
	up.Stdout, up.Stderr = stdout, stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Process.Kill() })
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(stdout.String(), "endpoints ") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	first := strings.Fields(stdout.String())
	if len(first) < 2 || first[0] != "cluster" {
		t.Fatalf("cluster up printed %q; stderr:\n%s", stdout.String(), stderr.String())
	}
	id := strings.TrimSuffix(first[1], ":")
	_, eps, _ := strings.Cut(stdout.String(), "endpoints ")
	if n := len(strings.Split(strings.TrimSpace(eps), ",")); n != nodes {
		t.Errorf("%d endpoints in %q, want %d", n, stdout.String(), nodes)
	}
	if l := leftovers(t, id, stateDir); len(l) == 0 && rc.runtime == "docker" {
		t.Fatalf("no container for cluster %s", id)
	}
	down := exec.Command(faultlineBin(t), "cluster", "down", "--run", id)
	down.Env = up.Env
	b, err := down.CombinedOutput()
	if err != nil {
		t.Fatalf("cluster down: %v\n%s", err, b)
	}
	if err := up.Wait(); err != nil {
		t.Errorf("cluster up ended with %v; stderr:\n%s", err, stderr.String())
	}
	if l := leftovers(t, id, stateDir); len(l) > 0 {
		t.Errorf("left after cluster down: %v", l)
	}
	return stdout.String()
}

// lockedBuffer is written by a child's output copier and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
