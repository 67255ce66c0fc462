package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/bench/load"
)

// Not a terminal: log lines go through as they are, nothing else is drawn.
func TestDisplayQuietWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	d := newDisplay(&buf, false)
	d.StartRun(2, 12, "raftkv-kill", "")
	d.Logf("launching %d nodes", 3)
	d.Progress(load.Progress{Elapsed: time.Second, Total: 12 * time.Second, Rate: 200})
	d.Above(func() { buf.WriteString("result\n") })
	d.Close()
	if got, want := buf.String(), "faultline: [2/12 raftkv-kill] launching 3 nodes\nresult\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	buf.Reset()
	q := newDisplay(&buf, true)
	q.Logf("anything")
	q.Close()
	if buf.Len() != 0 {
		t.Errorf("--quiet printed %q", buf.String())
	}
}

// On a terminal: one status line under the log lines, redrawn in place,
// never wider than the terminal, cleared before anything else is printed
// and at the end.
func TestDisplayStatusLine(t *testing.T) {
	var buf bytes.Buffer
	d := &display{w: &buf, tty: true, width: func() int { return 200 }, runStart: time.Now()}
	d.StartRun(3, 12, "etcd-linearizable-kill", "1 not as expected so far")
	d.Progress(load.Progress{Elapsed: 7200 * time.Millisecond, Total: 12 * time.Second, Invoked: 1450, OK: 1200, Fail: 30, Info: 20,
		Rate: 198.4, OKRate: 150.2, Fault: "kill n2"})
	out := buf.String()
	for _, want := range []string{"[3/12 etcd-linearizable-kill]", "load 7.2s/12.0s", "198 op/s (ok 150/s)", "errors 50 (30 fail, 20 info)",
		"fault: kill n2", "| suite", "1 not as expected so far"} {
		if !strings.Contains(out, want) {
			t.Errorf("status line lacks %q: %q", want, out)
		}
	}
	buf.Reset()
	d.Logf("load done")
	if got := buf.String(); !strings.HasPrefix(got, "\r\033[Kfaultline: [3/12 etcd-linearizable-kill] load done\n\r\033[K[3/12") {
		t.Errorf("a log line is not printed above the status line: %q", got)
	}
	d.Progress(load.Progress{Done: true})
	buf.Reset()
	d.width = func() int { return 30 }
	d.draw()
	if line := strings.TrimPrefix(buf.String(), "\r\033[K"); len(line) != 29 {
		t.Errorf("status line %q is %d wide on a 30-column terminal", line, len(line))
	}
	buf.Reset()
	d.Close()
	if buf.String() != "\r\033[K" {
		t.Errorf("close: %q", buf.String())
	}
}

// A suite's status line says which entry runs, its phase, and about how
// long the suite has left: the loads still to come plus the overhead the
// finished runs showed.
func TestDisplaySuiteTimeLeft(t *testing.T) {
	var buf bytes.Buffer
	d := &display{w: &buf, tty: true, width: func() int { return 300 }}
	d.Plan([]time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second})
	d.StartRun(1, 3, "a", "")
	t0 := d.runStart
	// Before any run ended: 10s + 20s + 30s of load, 20s of overhead each.
	if left, ok := d.left(t0); !ok || left != 120*time.Second {
		t.Errorf("at the start: %v %v, want 2m0s", left, ok)
	}
	d.Logf("building raftkv")
	if st := d.status(t0); !strings.Contains(st, "[1/3 a]") || !strings.Contains(st, "building raftkv") || !strings.Contains(st, "about 2m00s left") {
		t.Errorf("status %q", st)
	}
	// Run 1 took 25s (15s beyond its load): the estimate learns it.
	d.runStart = t0.Add(-25 * time.Second)
	d.StartRun(2, 3, "b", "")
	if len(d.walls) != 1 || d.walls[0] < 25*time.Second {
		t.Fatalf("walls %v", d.walls)
	}
	d.walls[0] = 25 * time.Second // exact, whatever the clock did
	now := d.runStart
	if left, _ := d.left(now); left != (20+15+30+15)*time.Second {
		t.Errorf("after run 1: %v, want 1m20s", left)
	}
	// While the load runs its own clock counts: 5s of 20 done.
	d.Progress(load.Progress{Elapsed: 5 * time.Second, Total: 20 * time.Second})
	// 15s of load left, half of the 15s overhead after it, then run 3.
	if left, _ := d.left(now); left != 15*time.Second+7500*time.Millisecond+45*time.Second {
		t.Errorf("during the load: %v", left)
	}
	if st := d.status(now); !strings.Contains(st, "[2/3 b] load 5.0s/20.0s") || !strings.Contains(st, "left") {
		t.Errorf("status %q", st)
	}
}
