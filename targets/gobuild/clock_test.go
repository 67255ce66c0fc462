package gobuild

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The hook is real: a program built with it reads the shifted clock the
// control file says, and the real one without the variable.
func TestClockHookShiftsTimeNow(t *testing.T) {
	if testing.Short() {
		t.Skip("builds package time with an overlay")
	}
	dir := t.TempDir()
	bin, err := BuildLocal(context.Background(), LocalSpec{Name: "clockprog", Package: "./testdata/clockprog", CacheDir: dir, ClockHook: true})
	if err != nil {
		t.Fatal(err)
	}
	ctl := filepath.Join(dir, "clock")
	write := func(off, strobe, period time.Duration) {
		b := make([]byte, 24)
		binary.LittleEndian.PutUint64(b, uint64(off))
		binary.LittleEndian.PutUint64(b[8:], uint64(strobe))
		binary.LittleEndian.PutUint64(b[16:], uint64(period))
		if err := os.WriteFile(ctl, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(env ...string) (wall time.Time, slept time.Duration) {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		var ns, d int64
		if _, err := fmt.Sscan(string(out), &ns, &d); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		return time.Unix(0, ns), time.Duration(d)
	}
	write(-3*time.Hour, 0, 0)
	if wall, _ := run(); time.Since(wall).Abs() > time.Hour {
		t.Errorf("without FAULTLINE_CLOCK the clock is off by %v", time.Since(wall))
	}
	wall, slept := run("FAULTLINE_CLOCK=" + ctl)
	if off := time.Since(wall); off < 2*time.Hour || off > 4*time.Hour {
		t.Errorf("with an offset of -3h the program's clock is %v behind", off)
	}
	if slept < 50*time.Millisecond || slept > time.Hour {
		t.Errorf("a constant offset changed a measured sleep: %v", slept)
	}
	// An oscillating clock: +-1h every 10ms; the sleep spans five periods,
	// so the measured duration is off by 0 or 1h, and the test runs until
	// a run sees both phases.
	write(0, time.Hour, 10*time.Millisecond)
	seen := map[bool]bool{}
	for range 50 {
		_, slept := run("FAULTLINE_CLOCK=" + ctl)
		seen[slept > 30*time.Minute || slept < -30*time.Minute] = true
		if len(seen) == 2 {
			break
		}
	}
	if len(seen) != 2 {
		t.Errorf("a strobing clock never jumped within a program's sleep: %v", seen)
	}
}
