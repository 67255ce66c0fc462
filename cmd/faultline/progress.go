package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/bench/load"
)

// display prints the log lines of a run on stderr and, when stderr is a
// terminal, keeps one status line under them: elapsed / total, the current
// rate, errors and the active fault (and, in a suite, which run of how
// many). When stderr is not a terminal (CI, a pipe, a file) it draws
// nothing: log lines go through as they are.
type display struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	width func() int
	quiet bool // no log lines and no status line

	// In a suite: which run, of how many, since when.
	run, runs  int
	name       string
	suiteStart time.Time
	runStart   time.Time
	suiteNote  string // e.g. "1 mismatch so far"

	// The suite's plan: each entry's load duration, and the wall time of
	// the runs done so far, for the estimate of the time left.
	plan  []time.Duration
	walls []time.Duration

	phase string         // what the run does now: its last log line
	load  *load.Progress // the last snapshot of the load, while it runs
	drawn bool

	stopTick chan struct{}
	ticking  sync.WaitGroup
}

func newDisplay(w io.Writer, quiet bool) *display {
	d := &display{w: w, quiet: quiet, runStart: time.Now()}
	if quiet || os.Getenv("TERM") == "dumb" {
		return d
	}
	if tty, _ := terminalWidth(w); tty {
		d.tty = true
		d.width = func() int { _, c := terminalWidth(w); return c }
		// Redraw every second, so the clock moves during long quiet
		// phases (a cold build of etcd takes minutes).
		d.stopTick = make(chan struct{})
		d.ticking.Add(1)
		go func() {
			defer d.ticking.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					d.mu.Lock()
					d.draw()
					d.mu.Unlock()
				case <-d.stopTick:
					return
				}
			}
		}()
	}
	return d
}

// Logf prints a log line of the run (above the status line).
func (d *display) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.phase = msg
	if d.quiet {
		return
	}
	d.clear()
	prefix := "faultline: "
	if d.runs > 0 {
		prefix += fmt.Sprintf("[%d/%d %s] ", d.run, d.runs, d.name)
	}
	fmt.Fprintf(d.w, "%s%s\n", prefix, msg)
	d.draw()
}

// Progress takes a snapshot of the load.
func (d *display) Progress(p load.Progress) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.Done {
		d.load = nil
		d.phase = fmt.Sprintf("load ended: %d sent, %d errors", p.Invoked, p.Fail+p.Info)
	} else {
		d.load = &p
	}
	d.draw()
}

// Above runs print (which writes to stdout or stderr) with the status line
// cleared, then draws it again.
func (d *display) Above(print func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	print()
	d.draw()
}

// Plan gives the load duration of every entry of a suite, in order.
func (d *display) Plan(loads []time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.plan = loads
}

// StartRun says that run i of n, called name, begins.
func (d *display) StartRun(i, n int, name, note string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if d.suiteStart.IsZero() {
		d.suiteStart = now
	} else if d.run > 0 && len(d.walls) < d.run {
		d.walls = append(d.walls, now.Sub(d.runStart))
	}
	d.run, d.runs, d.name, d.suiteNote = i, n, name, note
	d.runStart, d.phase, d.load = time.Now(), "starting", nil
	d.draw()
}

// Close clears the status line for good.
func (d *display) Close() {
	if d.stopTick != nil {
		close(d.stopTick)
		d.ticking.Wait()
		d.stopTick = nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	d.tty = false
}

func (d *display) clear() {
	if d.drawn {
		fmt.Fprint(d.w, "\r\033[K")
		d.drawn = false
	}
}

func (d *display) draw() {
	if !d.tty {
		return
	}
	line := d.status(time.Now())
	if w := d.width(); w > 1 && len(line) >= w {
		line = line[:w-1] // a wrapped line could not be redrawn in place
	}
	fmt.Fprint(d.w, "\r\033[K"+line)
	d.drawn = true
}

// status is the text of the status line.
func (d *display) status(now time.Time) string {
	var b strings.Builder
	if d.runs > 0 {
		fmt.Fprintf(&b, "[%d/%d %s] ", d.run, d.runs, d.name)
	}
	if p := d.load; p != nil {
		fmt.Fprintf(&b, "load %s/%s  %.0f op/s (ok %.0f/s)  errors %d (%d fail, %d info)",
			clock(p.Elapsed), clock(p.Total), p.Rate, p.OKRate, p.Fail+p.Info, p.Fail, p.Info)
		if p.Fault != "" {
			fmt.Fprintf(&b, "  fault: %s", p.Fault)
		} else {
			b.WriteString("  no fault")
		}
	} else {
		fmt.Fprintf(&b, "%s  %s", clock(now.Sub(d.runStart)), d.phase)
	}
	if d.runs > 0 {
		fmt.Fprintf(&b, "  | suite %s", clock(now.Sub(d.suiteStart)))
		if left, ok := d.left(now); ok {
			fmt.Fprintf(&b, ", about %s left", clock(left))
		}
		if d.suiteNote != "" {
			b.WriteString(", " + d.suiteNote)
		}
	}
	return b.String()
}

// defaultOverhead is what a run is guessed to take besides its load
// (build, launch, quiet period, final reads, checks, teardown) until a run
// of the suite has shown what it takes here.
const defaultOverhead = 20 * time.Second

// left estimates the suite's time left: what remains of this run and the
// next ones, each its load plus the overhead the finished runs showed
// (their mean wall time beyond their load).
func (d *display) left(now time.Time) (time.Duration, bool) {
	if len(d.plan) != d.runs || d.run < 1 || d.run > d.runs {
		return 0, false
	}
	overhead := defaultOverhead
	if n := len(d.walls); n > 0 {
		var extra time.Duration
		for i, w := range d.walls {
			extra += max(0, w-d.plan[i])
		}
		overhead = extra / time.Duration(n)
	}
	cur := d.plan[d.run-1] + overhead - now.Sub(d.runStart)
	if d.load != nil {
		// The load's own clock is exact; after it, the overhead remains
		// (most of it is after the load: quiet, final reads, checks).
		cur = d.load.Total - d.load.Elapsed + overhead/2
	}
	left := max(0, cur)
	for _, l := range d.plan[d.run:] {
		left += l + overhead
	}
	return left, true
}

// clock writes a duration as 1m02s or 7.2s.
func clock(t time.Duration) string {
	if t < time.Minute {
		return fmt.Sprintf("%.1fs", t.Seconds())
	}
	t = t.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(t.Minutes()), int(t.Seconds())%60)
}

// progressEvery is how often the load's counters are sampled for the
// status line.
const progressEvery = 500 * time.Millisecond
