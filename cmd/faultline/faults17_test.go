package main

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// The faults of issue 17 that keep something running or set (packet
// readers and queue rules, a node's cgroup limits) leave nothing after
// Ctrl-C, nor after kill -9 of faultline and `faultline clean`.
func TestNewFaultsLeaveNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("launches clusters")
	}
	for _, rc := range runtimeCases(t) {
		for _, nem := range []string{"packet:delay=20ms,loss=5", "slow-cpu:quota=20%,node=n1"} {
			t.Run(rc.name+"/"+nem+"/SIGINT", func(t *testing.T) {
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
					t.Fatalf("no exit after SIGINT; stderr:\n%s", stderr.String())
				}
				if code := cmd.ProcessState.ExitCode(); code != 2 {
					t.Errorf("exit %d after SIGINT, want 2; stderr:\n%s", code, stderr.String())
				}
				if l := leftovers(t, id, stateDir); len(l) > 0 {
					t.Errorf("left after SIGINT: %v", l)
				}
			})
			t.Run(rc.name+"/"+nem+"/SIGKILL", func(t *testing.T) {
				stateDir := t.TempDir()
				cmd, dir, _ := startRun(t, rc, stateDir, nem)
				id := runID(t, dir)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				_ = cmd.Wait()
				t.Logf("left by the killed run: %v", leftovers(t, id, stateDir))
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
			})
		}
	}
}
