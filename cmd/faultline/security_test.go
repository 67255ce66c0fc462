package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/faultline/faultline/checkers/synth"
	"github.com/faultline/faultline/targets/runtime"
)

// The security review's findings, each as the command that showed it.
// Never `clean --all` here: it would take other runs on this machine.

func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func oneLine(t *testing.T, what, stderr string) {
	t.Helper()
	if msg := strings.TrimSpace(stderr); msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("%s: want one line of error, got %q", what, stderr)
	}
}

// Finding 1: `clean --run ../victim` removed $T/victim; cluster down takes
// the same path.
func TestSecurityRunIDThatEscapes(t *testing.T) {
	base := t.TempDir()
	t.Setenv("FAULTLINE_STATE_DIR", filepath.Join(base, "state"))
	victim := filepath.Join(base, "victim")
	if err := os.MkdirAll(filepath.Join(victim, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"clean", "--run", "../victim"},
		{"clean", "--run", ".."},
		{"clean", "--run", "../.."},
		{"cluster", "down", "--run", "../victim"},
		{"cluster", "down", "--run", "../../" + filepath.Base(base)},
	} {
		code, stdout, stderr := runCLI(args...)
		if code != 3 {
			t.Errorf("%v: exit %d, want 3 (stdout %q, stderr %q)", args, code, stdout, stderr)
		}
		oneLine(t, fmt.Sprint(args), stderr)
		if _, err := os.Stat(filepath.Join(victim, "keep")); err != nil {
			t.Fatalf("%v removed the victim: %v", args, err)
		}
	}
}

// Finding 2a: a state directory that another user made first is refused in
// one line, before anything is read from it or launched.
func TestSecurityStateDirOfAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	base := t.TempDir()
	state := filepath.Join(base, "state")
	t.Setenv("FAULTLINE_STATE_DIR", state)
	id := runtime.NewRunID()
	sleep := startSleep(t)
	self, _ := runtime.ProcessOf(sleep.Process.Pid)
	// Whoever owns the directory can write a record naming any process,
	// with its true executable and start time.
	plantRecord(t, state, clusterRecord{RunID: id, Process: self})
	if err := os.MkdirAll(filepath.Join(state, id), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, id, "state.json"), []byte(`{"run_id":"`+id+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{state, filepath.Join(state, "clusters"), filepath.Join(state, id)} {
		if err := os.Chown(p, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(base, "results")
	for _, args := range [][]string{
		{"cluster", "down", "--run", id},
		{"cluster", "up", "--runtime", "local"},
		{"run", "--runtime", "local", "--out", out},
	} {
		code, _, stderr := runCLI(args...)
		if code != 3 || !strings.Contains(stderr, "owned by uid 65534") {
			t.Errorf("%v: exit %d, stderr %q: want 3 and the owner named", args, code, stderr)
		}
		oneLine(t, fmt.Sprint(args), stderr)
	}
	code, _, stderr := runCLI("clean", "--run", id)
	if code == 0 || !strings.Contains(stderr, "owned by uid 65534") {
		t.Errorf("clean --run: exit %d, stderr %q: want a refusal naming the owner", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(state, id)); err != nil {
		t.Errorf("clean removed the run directory of an untrusted state dir: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("run created %s although it refused", out)
	}
	if _, err := runtime.ProcessOf(sleep.Process.Pid); err != nil {
		t.Errorf("the process a planted record named was signalled: %v", err)
	}
}

func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func plantRecord(t *testing.T, state string, rec clusterRecord) {
	t.Helper()
	dir := filepath.Join(state, "clusters")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(state, 0o700)
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, rec.RunID+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Finding 2b: a stale cluster record whose pid now belongs to another
// process: `cluster down` must not signal it.
func TestSecurityRecordWithAForeignPid(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	t.Setenv("FAULTLINE_STATE_DIR", state)
	sleep := startSleep(t)
	p, err := runtime.ProcessOf(sleep.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := runtime.Self()
	for _, rec := range []clusterRecord{
		{RunID: runtime.NewRunID(), Process: runtime.Process{Pid: p.Pid}},                                 // a record of old, pid only
		{RunID: runtime.NewRunID(), Process: runtime.Process{Pid: p.Pid, Exe: self.Exe, Start: p.Start}},  // another executable
		{RunID: runtime.NewRunID(), Process: runtime.Process{Pid: p.Pid, Exe: p.Exe, Start: p.Start - 1}}, // started at another time
	} {
		plantRecord(t, state, rec)
		code, stdout, stderr := runCLI("cluster", "down", "--run", rec.RunID)
		if strings.Contains(stdout, "stopped cluster") {
			t.Errorf("record %+v: %q", rec.Process, stdout)
		}
		t.Logf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
		time.Sleep(50 * time.Millisecond)
		if q, err := runtime.ProcessOf(p.Pid); err != nil || q != p {
			t.Fatalf("record %+v: the sleep was signalled: %v", rec.Process, err)
		}
	}
}

// Finding 3: `faultline check` on a run directory whose report files are
// symlinks must replace the links, never write their targets.
func TestSecuritySymlinkedReportFiles(t *testing.T) {
	dir := runDir(t, synth.None)
	victims := t.TempDir()
	names := []string{"junit.xml", "summary.json", "report.html", "latency.png", "latency.svg", "availability.png"}
	for _, n := range names {
		v := filepath.Join(victims, n)
		if err := os.WriteFile(v, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(v, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := check(t, dir); code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	for _, n := range names {
		if b, _ := os.ReadFile(filepath.Join(victims, n)); string(b) != "precious" {
			t.Errorf("%s: the link's target was overwritten", n)
		}
		if st, err := os.Lstat(filepath.Join(dir, n)); err != nil || !st.Mode().IsRegular() {
			t.Errorf("%s is not a file of the run directory now: %v", n, err)
		}
	}
}

// Finding 4: with HTTP_PROXY set, every request to the nodes' namespace
// addresses went to the proxy. A short run on the local runtime with
// namespaces (addresses the proxy would take): the proxy sees nothing, and
// the run passes.
func TestSecurityProxyVariablesDuringARun(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: namespace addresses (Go never proxies loopback)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var seen atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			seen.Add(1)
			c.Close()
		}
	}()
	proxy := "http://" + ln.Addr().String()
	out := t.TempDir()
	cmd := exec.Command(faultlineBin(t), "run", "--runtime", "local", "--netns", "on", "--nemesis", "none",
		"--duration", "3s", "--rate", "20", "--out", out, "--quiet")
	cmd.Env = append(os.Environ(), "FAULTLINE_STATE_DIR="+filepath.Join(t.TempDir(), "state"),
		"HTTP_PROXY="+proxy, "http_proxy="+proxy, "HTTPS_PROXY="+proxy, "https_proxy="+proxy, "ALL_PROXY="+proxy,
		"NO_PROXY=", "no_proxy=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("run: %v\n%s", err, b)
	}
	if n := seen.Load(); n != 0 {
		t.Errorf("the proxy saw %d connections", n)
	}
}

// A scenario file does not choose who node programs run as.
func TestSecurityNodeUserNotFromAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(f, []byte("cluster:\n  node_user: root\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI("run", "--scenario", f, "--out", t.TempDir())
	if code != 3 || !strings.Contains(stderr, "node_user") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	oneLine(t, "node_user in a file", stderr)
}

// A crafted run directory whose files are devices or FIFOs, or far too
// big, is refused quickly: nothing reads forever or holds it all.
func TestSecurityRunDirectoryOfDevices(t *testing.T) {
	for _, name := range []string{"scenario.json", "history.jsonl"} {
		dir := runDir(t, synth.None)
		os.Remove(filepath.Join(dir, name))
		if err := os.Symlink("/dev/zero", filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var code int
		var stderr string
		go func() {
			code, _, stderr = check(t, dir)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s -> /dev/zero: check still reading", name)
		}
		if code == 0 || !strings.Contains(stderr, "not a regular file") {
			t.Errorf("%s -> /dev/zero: exit %d, stderr %q", name, code, stderr)
		}
	}
	dir := runDir(t, synth.None)
	f, err := os.OpenFile(filepath.Join(dir, "history.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(`{"time":1,"type":"invoke","f":"read","id":99999,"key":"` + strings.Repeat("k", 17<<20) + "\"}\n{}\n"))
	f.Close()
	if code, _, stderr := check(t, dir); code == 0 || !strings.Contains(stderr, "longer than") {
		t.Errorf("a 17 MiB history line: exit %d, stderr %q", code, stderr)
	}
}

// A logs/ directory planted as a symlink in a run directory is not written
// through.
func TestSecuritySymlinkedLogsDir(t *testing.T) {
	dir := t.TempDir()
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dir, "logs")); err != nil {
		t.Fatal(err)
	}
	err := runtime.SaveLogs(t.Context(), filepath.Join(dir, "logs"), nil)
	if err == nil {
		t.Errorf("SaveLogs wrote through a symlinked logs/")
	}
	if m, _ := filepath.Glob(filepath.Join(elsewhere, "*")); len(m) > 0 {
		t.Errorf("written elsewhere: %v", m)
	}
}
