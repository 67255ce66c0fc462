package chaos_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/chaos"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets/runtime"
)

// Every fault leaves nothing behind, whichever way the run ends: a normal
// exit, Ctrl-C (SIGINT) in the middle of a fault, or kill -9 of faultline in
// the middle of a fault followed by `faultline clean --run <id>`. Nothing is
// no network namespace (nftables tables and NFQUEUE rules live in the
// nodes' namespaces and go with them), no host link, no process carrying the
// run id, no container, no lazyfs (FUSE) mount, no cgroup, no state or node
// directory. These are real `faultline run` processes on the local runtime
// (raftkv; etcd for the membership faults), a few seconds each.
//
// This test takes one fault per mechanism; leftovers_long_test.go
// (-tags long) takes the whole catalogue.
func TestFaultsLeaveNothing(t *testing.T) {
	// partition (nftables only) and pause (frozen nodes) are covered in
	// the long run; packet faults (nftables rules queueing to a reader in
	// the harness) and slow-cpu (a cgroup of the node's own) are taken
	// through SIGINT and SIGKILL + clean by cmd/faultline's signal tests
	// in make test, and through all three ways here in the long run.
	leftoverCases(t, []string{
		"lose-unsynced", // lazyfs (FUSE) data directories
		"member-grow",   // a node, and its namespace, added while running
	})
}

// leftoverCases runs each fault three ways and checks what is left.
func leftoverCases(t *testing.T, faults []string) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: network faults, lazyfs and cgroups on the local runtime")
	}
	bin := faultlineBinary(t)
	for _, f := range faults {
		for _, mode := range []string{"exit", "SIGINT", "SIGKILL"} {
			t.Run(f+"/"+mode, func(t *testing.T) { leftoverCase(t, bin, f, mode) })
		}
	}
}

var built struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// faultlineBinary builds cmd/faultline once, into a directory that
// outlives the test that built it.
func faultlineBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "faultline-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.path = filepath.Join(dir, "faultline")
		cmd := exec.Command("go", "build", "-o", built.path, "github.com/faultline/faultline/cmd/faultline")
		built.out, built.err = cmd.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("build faultline: %v\n%s", built.err, built.out)
	}
	return built.path
}

// faultArgs says how a fault of the catalogue is run: its target, nodes
// and parameters.
func faultArgs(t *testing.T, name string) []string {
	f, err := chaos.Lookup(faultSpec(name), chaos.DefaultOptions())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	need := f.Needs()
	// Clusters have an odd size: a fault that needs 4 nodes (a ring) gets 5.
	nodes := max(3, need.Nodes)
	if nodes%2 == 0 {
		nodes++
	}
	args := []string{"--nemesis", faultSpec(name), "--nodes", fmt.Sprint(nodes)}
	switch {
	case need.Members:
		args = append(args, "--target", "etcd")
	case need.Failpoint != "":
		args = append(args, "--target", "etcd", "--target-opt", "failpoints=true")
	default:
		args = append(args, "--target", "raftkv")
	}
	return args
}

// faultSpec gives the faults that need a parameter one.
func faultSpec(name string) string {
	if name == "failpoint" {
		return "failpoint:name=raftBeforeSave,action=panic"
	}
	return name
}

var runIDLine = regexp.MustCompile(`\(run ([0-9a-f]{8})\)`)

func leftoverCase(t *testing.T, bin, fault, mode string) {
	stateDir := t.TempDir()
	out := t.TempDir()
	dur, iv := "4s", "1s"
	if mode != "exit" {
		// Stopped in the middle of a fault: one that lasts long enough
		// to be caught in place.
		dur, iv = "60s", "3s"
	}
	args := append([]string{"run", "--runtime", "local", "--duration", dur, "--rate", "50", "--nemesis-interval", iv,
		"--quiet-period", "1s", "--final-timeout", "10s", "--out", out, "--seed", "5"}, faultArgs(t, fault)...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "FAULTLINE_STATE_DIR="+stateDir)
	var stderr lockedBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	wait := func(d time.Duration) bool {
		select {
		case <-exited:
			return true
		case <-time.After(d):
			return false
		}
	}
	signalled := ""
	if mode != "exit" {
		// Stop it once a fault is in place, or when it ends by itself
		// (refused, exit 3).
		deadline := time.Now().Add(3 * time.Minute)
		for !faultStarted(out) && time.Now().Before(deadline) {
			if wait(100 * time.Millisecond) {
				break
			}
		}
		select {
		case <-exited:
		default:
			signalled = fmt.Sprintf(" (%s with the fault in place: %v)", mode, faultStarted(out))
			sig := syscall.SIGINT
			if mode == "SIGKILL" {
				sig = syscall.SIGKILL
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !wait(3 * time.Minute) {
		t.Fatalf("faultline did not exit; stderr:\n%s", stderr.String())
	}
	code := cmd.ProcessState.ExitCode()
	m := runIDLine.FindStringSubmatch(stderr.String())
	if m == nil {
		if code == 3 {
			// Refused before anything was launched: nothing to look for.
			t.Logf("LEFTOVERS %s %s: refused (exit 3): %s", fault, mode, lastLine(stderr.String()))
			return
		}
		t.Fatalf("exit %d and no run id in the output:\n%s", code, stderr.String())
	}
	id := m[1]
	if mode == "SIGKILL" {
		left := leftoversOf(id, stateDir)
		c := exec.Command(bin, "clean", "--run", id)
		c.Env = cmd.Env
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("faultline clean --run %s: %v\n%s", id, err, b)
		}
		t.Logf("left by kill -9 before clean: %v", left)
	}
	left := leftoversOf(id, stateDir)
	verdict := lastLine(stderr.String())
	t.Logf("LEFTOVERS %s %s: exit %d%s, left: %v; %s", fault, mode, code, signalled, orNothing(left), verdict)
	if len(left) > 0 {
		t.Errorf("%s after %s: left %v; stderr:\n%s", fault, mode, left, stderr.String())
	}
	if mode == "SIGINT" && code != 2 && code != 3 {
		t.Errorf("exit %d after SIGINT, want 2 (interrupted); stderr:\n%s", code, stderr.String())
	}
	if mode == "exit" && code == 4 {
		t.Errorf("exit 4 (infrastructure); stderr:\n%s", stderr.String())
	}
}

// faultStarted says whether the run in out has a fault in place: started,
// and its stop not begun.
func faultStarted(out string) bool {
	dirs, _ := filepath.Glob(filepath.Join(out, "2*", "history.jsonl"))
	if len(dirs) != 1 {
		return false
	}
	events, _, err := history.ReadFile(dirs[0])
	if err != nil {
		return false
	}
	open := 0
	for _, e := range events {
		switch {
		case !e.IsNemesis():
		case e.F == history.FStart && e.Type == history.OK:
			open++
		case e.F == history.FStop && e.Type == history.Invoke:
			open--
		}
	}
	return open > 0
}

// leftoversOf lists whatever carries run id: network namespaces, host
// links, live processes, containers, FUSE mounts, cgroups, directories.
func leftoversOf(id, stateDir string) []string {
	var out []string
	if ents, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range ents {
			if strings.Contains(e.Name(), id) {
				out = append(out, "netns "+e.Name())
			}
		}
	}
	if ents, err := os.ReadDir("/sys/class/net"); err == nil {
		for _, e := range ents {
			if strings.Contains(e.Name(), runtime.ShortID(id)) {
				out = append(out, "link "+e.Name())
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
	if _, err := exec.LookPath("docker"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		b, err := exec.CommandContext(ctx, "docker", "ps", "-aq", "--filter", "label="+runtime.LabelRun+"="+id).Output()
		cancel()
		if err == nil && len(bytes.TrimSpace(b)) > 0 {
			out = append(out, "containers "+strings.Join(strings.Fields(string(b)), " "))
		}
	}
	if b, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, id) {
				out = append(out, "mount "+l)
			}
		}
	}
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
	if _, err := os.Stat(filepath.Join(stateDir, id)); err == nil {
		out = append(out, "state dir "+id)
	}
	if m, _ := filepath.Glob(filepath.Join(os.TempDir(), "faultline-nodes-"+id+"-*")); len(m) > 0 {
		out = append(out, "node dirs "+strings.Join(m, " "))
	}
	return out
}

func orNothing(l []string) any {
	if len(l) == 0 {
		return "nothing"
	}
	return l
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
