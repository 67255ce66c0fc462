package gobuild

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ClockHook names the mechanism for the details of clock faults.
const ClockHook = "go build -overlay: time.Now, Since and Until of package time shifted by an offset the harness writes into a file the node maps ($FAULTLINE_CLOCK); timers and sleeps keep real time"

//go:embed clockhook/clock_time.go.txt
var clockHookSource []byte

// The edits to the toolchain's time.go: each must be found exactly once,
// or this Go's time package is not the one the hook was written for.
var clockEdits = []struct{ from, to string }{
	{"\tsec, nsec, mono := runtimeNow()\n\tif mono == 0 {", "\tsec, nsec, mono := faultlineNow()\n\tif mono == 0 {"},
	{"return subMono(runtimeNano()-startNano, t.ext)", "return subMono(faultlineNano()-startNano, t.ext)"},
	{"return subMono(t.ext, runtimeNano()-startNano)", "return subMono(t.ext, faultlineNano()-startNano)"},
}

// clockOverlay writes into dir a `go build -overlay` file that adds the
// clock hook to package time of the toolchain in goroot, and returns its
// path.
func clockOverlay(goroot, dir string) (string, error) {
	orig := filepath.Join(goroot, "src", "time", "time.go")
	b, err := os.ReadFile(orig)
	if err != nil {
		return "", fmt.Errorf("clock hook: %w", err)
	}
	src := string(b)
	for _, e := range clockEdits {
		if n := strings.Count(src, e.from); n != 1 {
			return "", fmt.Errorf("clock hook: %s has %d of %q (want 1): this Go's time package is not the one the hook knows", orig, n, e.from)
		}
		src = strings.Replace(src, e.from, e.to, 1)
	}
	patched, hook := filepath.Join(dir, "time.go"), filepath.Join(dir, "zz_faultline_clock.go")
	if err := os.WriteFile(patched, []byte(src), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(hook, clockHookSource, 0o644); err != nil {
		return "", err
	}
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": {
		orig: patched,
		filepath.Join(goroot, "src", "time", "zz_faultline_clock.go"): hook,
	}})
	p := filepath.Join(dir, "overlay.json")
	return p, os.WriteFile(p, ov, 0o644)
}

// goroot is the GOROOT of the go command on PATH, run in dir.
func goroot(ctx context.Context, dir string) (string, error) {
	out, err := goCmd(ctx, dir, "env", "GOROOT")
	if err != nil {
		return "", fmt.Errorf("clock hook: go env GOROOT: %w", err)
	}
	return strings.TrimSpace(out), nil
}
