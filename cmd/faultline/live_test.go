package main

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultline/faultline/report/live"
)

// chromiumPath finds Debian's chromium, installing it where it is missing
// and apt-get can (as root); the test is skipped, saying why, only where it
// cannot be had.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("chromium is not installed and cannot be here (needs apt-get as root: apt-get install chromium): live page screenshots skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, apt, "install", "-y", "--no-install-recommends", "chromium")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("chromium could not be installed (apt-get install chromium: %v): live page screenshots skipped\n%s", err, lastLines(string(out), 5))
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("apt-get installed chromium, yet it is not on PATH: live page screenshots skipped")
	}
	return p
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// browse loads url in headless chromium, lets the page run (its first
// polls included) and returns the screenshot, or the DOM with dom set.
func browse(t *testing.T, chromium, url string, dom bool) (image.Image, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	shot := filepath.Join(t.TempDir(), "shot.png")
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
		"--window-size=1200,900", "--virtual-time-budget=3000"}
	if dom {
		args = append(args, "--dump-dom", url)
	} else {
		args = append(args, "--screenshot="+shot, url)
	}
	cmd := exec.CommandContext(ctx, chromium, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v", url, err)
	}
	if dom {
		return nil, string(out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img, ""
}

// pixels counts the fault windows' shading and finds the right end of the
// ok-throughput line (its green) in a screenshot of the live page.
func pixels(img image.Image) (fault, green, greenRight int) {
	b := img.Bounds()
	greenRight = -1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r > 225 && g > 160 && g < 205 && bl > 150 && bl < 200 && r-g > 30 {
				fault++
			}
			if g > 120 && r < 80 && bl < 110 {
				green++
				greenRight = max(greenRight, x)
			}
		}
	}
	return
}

func liveData(url string) (live.Data, error) {
	var d live.Data
	resp, err := http.Get(url + "data.json")
	if err != nil {
		return d, err
	}
	defer resp.Body.Close()
	return d, json.NewDecoder(resp.Body).Decode(&d)
}

// waitData polls data.json until ok says so (bounded: the run is short).
func waitData(t *testing.T, url string, what string, ok func(live.Data) bool) live.Data {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if d, err := liveData(url); err == nil && ok(d) {
			return d
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the live page never showed %s", what)
	return live.Data{}
}

var urlLine = regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)

// TestLivePageInChromium runs a short raftkv load with kill faults and
// --serve, screenshots the live page twice while the load runs (a fault
// window is shaded, the throughput line has moved on), then serves the
// finished run with `faultline serve` and finds its verdicts on the page.
func TestLivePageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster")
	}
	chromium := chromiumPath(t)
	bin := faultlineBin(t)
	out := t.TempDir()
	cmd := exec.Command(bin, "run", "--target", "raftkv", "--runtime", "local", "--netns", "off", "--nemesis", "kill",
		"--nemesis-interval", "2s", "--duration", "10s", "--rate", "100", "--seed", "3", "--out", out, "--serve", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "FAULTLINE_STATE_DIR="+t.TempDir())
	stderr, stdout := &lockedBuffer{}, &lockedBuffer{}
	cmd.Stderr, cmd.Stdout = stderr, stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = cmd.Process.Signal(syscall.SIGINT) // it tears its cluster down
			select {
			case <-done:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
			}
		}
	})
	var url string
	for deadline := time.Now().Add(time.Minute); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		url = urlLine.FindString(stderr.String())
	}
	if url == "" {
		t.Fatalf("no live view address on stderr:\n%s", stderr.String())
	}

	d1 := waitData(t, url, "a fault window and three seconds of load", func(d live.Data) bool {
		return d.State == "running" && len(d.Faults) > 0 && d.Series.Len() >= 3
	})
	img1, _ := browse(t, chromium, url, false)
	fault1, green1, right1 := pixels(img1)
	waitData(t, url, "two more seconds of load", func(d live.Data) bool { return d.Series.Len() >= d1.Series.Len()+2 })
	img2, _ := browse(t, chromium, url, false)
	fault2, green2, right2 := pixels(img2)
	t.Logf("mid-run: %d then %d fault pixels, throughput line ends at x=%d then x=%d (%d, %d green pixels)", fault1, fault2, right1, right2, green1, green2)
	if fault1 < 1000 || fault2 < 1000 {
		t.Errorf("no fault window on the live page (%d, %d shaded pixels)", fault1, fault2)
	}
	if green1 < 50 || right2 <= right1 {
		t.Errorf("the throughput line did not move on: it ends at x=%d, then x=%d", right1, right2)
	}

	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the run did not end")
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "2*"))
	if len(dirs) != 1 {
		t.Fatalf("run directories: %v", dirs)
	}

	serve := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", dirs[0])
	serveErr := &lockedBuffer{}
	serve.Stderr = serveErr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Signal(syscall.SIGINT); _ = serve.Wait() })
	url = ""
	for deadline := time.Now().Add(30 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		url = urlLine.FindString(serveErr.String())
	}
	if url == "" {
		t.Fatalf("serve printed no address: %s", serveErr.String())
	}
	_, dom := browse(t, chromium, url, true)
	for _, want := range []string{"verdict: valid", "linearizable", "stale-reads", "lost-writes", "availability", `class="state done"`, "run/report.html"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the finished run's page lacks %q", want)
		}
	}
	img3, _ := browse(t, chromium, url, false)
	fault3, _, _ := pixels(img3)
	if fault3 < 1000 {
		t.Errorf("the finished run's page shows no fault window (%d pixels)", fault3)
	}
}
