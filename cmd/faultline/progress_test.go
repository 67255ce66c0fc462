package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/bench"
)

// Not a terminal: log lines go through as they are, nothing else is drawn.
func TestDisplayQuietWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	d := newDisplay(&buf, false)
	d.StartRun(2, 12, "raftkv-kill", "")
	d.Logf("launching %d nodes", 3)
	d.Progress(bench.Progress{Elapsed: time.Second, Total: 12 * time.Second, Rate: 200})
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
	d.Progress(bench.Progress{Elapsed: 7200 * time.Millisecond, Total: 12 * time.Second, Invoked: 1450, OK: 1200, Fail: 30, Info: 20,
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
	d.Progress(bench.Progress{Done: true})
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
