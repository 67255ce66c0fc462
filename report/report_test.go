package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const sec = int64(1e9)

// fixedHistory is 10 s of a register workload with one partition window from
// 3 s to 6 s: ok operations throughout, failed reads and unknown writes
// inside the window.
func fixedHistory() []history.Event {
	var evs []history.Event
	id := uint64(0)
	add := func(p int, f string, call, lat int64, t history.Type, v string) {
		id++
		inv := history.Event{Time: call, Type: history.Invoke, Process: history.Process(p), F: f, ID: id, Key: fmt.Sprintf("k%d", id%4), Node: fmt.Sprintf("n%d", p%3+1)}
		if f == history.FWrite {
			inv.Value = fmt.Sprint(id)
		}
		done := inv
		done.Type, done.Time = t, call+lat
		if f == history.FRead {
			done.Value = v
		}
		evs = append(evs, inv, done)
	}
	for i := int64(0); i < 100; i++ {
		call := i * sec / 10
		in := call >= 3*sec && call < 6*sec
		switch {
		case in && i%3 == 0:
			add(int(i%5), history.FRead, call, 2*sec, history.Fail, "")
		case in && i%3 == 1:
			add(int(i%5), history.FWrite, call, 1*sec, history.Info, "")
		default:
			add(int(i%5), history.FWrite, call, int64(2+i%7)*1e6, history.OK, "")
		}
	}
	evs = append(evs,
		history.Event{Time: 3 * sec, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: "partition"}},
		history.Event{Time: 3*sec + 2e6, Type: history.OK, Process: history.Nemesis, F: history.FStart, ID: 1,
			Fault: &history.Fault{Kind: "partition", Nodes: []string{"n1"}, Links: []string{"n1->n2", "n2->n1"}, Detail: "isolate n1 (leader)", ApplyNanos: 2e6}},
		history.Event{Time: 6 * sec, Type: history.Invoke, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition"}},
		history.Event{Time: 6*sec + 1e6, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: "partition"}},
	)
	return evs
}

func fixedSummary() Summary {
	evs := fixedHistory()
	checks := []checkers.Result{
		{Checker: "linearizable", Verdict: checkers.Valid, Summary: "all 4 keys linearizable", ElapsedMS: 3},
		{Checker: "stale-reads", Verdict: checkers.Invalid, Summary: "1 stale read", Explanation: "read of k1 at n2 returned 3 after 5 was acknowledged", ElapsedMS: 1},
	}
	meta := Meta{RunID: "fixed", Target: "etcd", TargetVersion: "v3.7.3", Nodes: 3, Nemesis: []string{"partition"}, Rate: "10"}
	return Summarize(meta, evs, history.Operations(evs), history.Faults(evs), checks)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n%s", name, got)
	}
}

func TestSummaryGolden(t *testing.T) {
	s := fixedSummary()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.golden.json", append(b, '\n'))
	if s.Verdict != checkers.Invalid || s.Ops.Total != 100 || len(s.Faults) != 1 {
		t.Errorf("summary: verdict %s, %d ops, %d faults", s.Verdict, s.Ops.Total, len(s.Faults))
	}
}

func TestJUnitGolden(t *testing.T) {
	b, err := JUnit(fixedSummary())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", b)
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v", err)
	}
	s := doc.Suites[0]
	if s.Tests != 2 || s.Failures != 1 || s.Errors != 0 || s.Cases[1].Failure == nil {
		t.Errorf("one test case per checker, the invalid one failing: %+v", s)
	}
	// A check that does not apply is skipped, not passed.
	skip := fixedSummary()
	skip.Checks[1].Verdict = checkers.Skipped
	b, _ = JUnit(skip)
	if !strings.Contains(string(b), `<skipped message="1 stale read"`) {
		t.Errorf("skipped verdict is not skipped:\n%s", b)
	}
	// An unknown verdict must not pass a CI gate.
	unk := fixedSummary()
	unk.Checks[1].Verdict = checkers.Unknown
	b, _ = JUnit(unk)
	if !strings.Contains(string(b), `<error message="verdict unknown`) {
		t.Errorf("unknown verdict is not an error:\n%s", b)
	}
}

func TestPlotsAreValidAndShadeFaultWindows(t *testing.T) {
	evs := fixedHistory()
	ops, ws := history.Operations(evs), history.Faults(evs)
	dir := t.TempDir()
	in, out := SplitByFault(ops, ws)
	plots := map[string]func() (*plot.Plot, error){
		"latency":    func() (*plot.Plot, error) { return LatencyPlot("latency", ops, ws, 10) },
		"throughput": func() (*plot.Plot, error) { return ThroughputPlot("throughput", ops, ws, 10) },
		"percentiles": func() (*plot.Plot, error) {
			return PercentilePlot("pct", []LatencySeries{{Name: "in", Latency: in, Color: ColorInfo}, {Name: "out", Latency: out, Color: ColorOK}})
		},
		"availability": func() (*plot.Plot, error) { return AvailabilityPlot("av", checkers.Measure(ops, ws)) },
	}
	// The fault shading is the only translucent fill; its opacity names it.
	_, _, _, a := ColorFault.RGBA()
	opacity := fmt.Sprintf("fill-opacity:%.5f", float64(a)/0xffff)
	for name, mk := range plots {
		p, err := mk()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		files, err := SavePlot(p, dir, name)
		if err != nil || len(files) != 2 {
			t.Fatalf("%s: %v %v", name, files, err)
		}
		f, _ := os.Open(filepath.Join(dir, name+".png"))
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() < 500 {
			t.Errorf("%s.png: %v", name, err)
		}
		svg, _ := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err := xml.Unmarshal(svg, new(struct{ XMLName xml.Name })); err != nil {
			t.Errorf("%s.svg does not parse: %v", name, err)
		}
		shades := strings.Count(string(svg), opacity)
		timeBased := name == "latency" || name == "throughput"
		if timeBased {
			// One shaded region per window, one legend swatch, and the
			// window's label.
			if shades != len(ws)+1 || !strings.Contains(string(svg), ">partition<") {
				t.Errorf("%s.svg: %d shaded regions (want %d) or no label", name, shades, len(ws)+1)
			}
		}
	}
	av := availabilityBars(checkers.Measure(ops, ws))
	if len(av) != 2 || av[0].label != "partition #1" || av[0].ratio >= av[1].ratio || av[1].ratio != 1 {
		t.Errorf("availability bars: %+v", av)
	}
}

func TestReportHTMLOpensInChromium(t *testing.T) {
	s := fixedSummary()
	dir := t.TempDir()
	evs := fixedHistory()
	ops, ws := history.Operations(evs), history.Faults(evs)
	p, _ := LatencyPlot("latency", ops, ws, 10)
	if _, err := SavePlot(p, dir, "latency"); err != nil {
		t.Fatal(err)
	}
	page := RunPage{Title: "fixed", S: s, Plots: []PlotRef{{Title: "latency", PNG: "latency.png", SVG: "latency.svg"}},
		Availability: AvailabilityRows(s.Availability), Latencies: []NamedLatency{{Name: "ok", L: s.LatencyMS}}, Files: RunFiles(dir, s)}
	if err := WriteHTML(dir, page); err != nil {
		t.Fatal(err)
	}
	html, _ := os.ReadFile(filepath.Join(dir, HTMLFile))
	for _, want := range []string{`<img src="latency.png"`, "stale-reads", "read of k1 at n2", "p99.9", "partition #1"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	if strings.Contains(string(html), "http://") || strings.Contains(string(html), "https://") {
		t.Errorf("report.html must not fetch anything from the network")
	}
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium not installed (Debian: apt-get install chromium): screenshot check skipped")
	}
	shot := filepath.Join(dir, "screenshot.png")
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--window-size=1200,1600", "--screenshot="+shot, "file://"+filepath.Join(dir, HTMLFile))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 1200 {
		t.Fatalf("screenshot: %v", err)
	}
	// The plot's green points must be on screen: the page rendered the image.
	green := 0
	for y := 0; y < img.Bounds().Dy(); y += 2 {
		for x := 0; x < img.Bounds().Dx(); x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			if g>>8 > 0x70 && r>>8 < 0x60 && b>>8 < 0x70 {
				green++
			}
		}
	}
	if green < 20 {
		t.Errorf("the screenshot shows no plot (%d green pixels)", green)
	}
}
