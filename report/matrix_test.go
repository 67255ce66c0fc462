package report

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/checkers/delivery"
	"github.com/faultline/faultline/history"
)

// writeMatrixRun stores a run directory: history with a fault window from 3
// to 6 s in which a fraction of operations fail (more for a weaker system),
// its summary with verdict v, and a report.html for the matrix to link to.
func writeMatrixRun(t *testing.T, dir, target, fault string, v checkers.Verdict, rate int, slow int64) {
	t.Helper()
	writeMatrixRunChecks(t, dir, target, fault, []checkers.Result{{Checker: "linearizable", Verdict: v}}, rate, slow)
}

// writeMatrixRunChecks is writeMatrixRun with the run's check results.
func writeMatrixRunChecks(t *testing.T, dir, target, fault string, checks []checkers.Result, rate int, slow int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := history.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []history.Event
	n := int64(10 * rate)
	for i := int64(0); i < n; i++ {
		call := i * sec / int64(rate)
		in := fault != "none" && call >= 3*sec && call < 6*sec
		typ, lat := history.OK, slow*int64(1+i%5)
		if in && i%3 == 0 {
			typ, lat = history.Fail, 50*slow
		}
		inv := history.Event{Time: call, Type: history.Invoke, Process: history.Process(i % 4), F: history.FWrite, ID: uint64(i + 1), Key: "k", Value: "1"}
		done := inv
		done.Type, done.Time = typ, call+lat
		evs = append(evs, inv, done)
	}
	if fault != "none" {
		evs = append(evs,
			history.Event{Time: 3 * sec, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: fault}},
			history.Event{Time: 3*sec + 1e6, Type: history.OK, Process: history.Nemesis, F: history.FStart, ID: 1, Fault: &history.Fault{Kind: fault}},
			history.Event{Time: 6 * sec, Type: history.Invoke, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: fault}},
			history.Event{Time: 6*sec + 1e6, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 1, Fault: &history.Fault{Kind: fault}})
	}
	for _, e := range evs {
		w.Append(e)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := Summarize(Meta{RunID: filepath.Base(dir), Target: target, Nodes: 3, Nemesis: []string{fault}, Rate: "x"},
		evs, history.Operations(evs), history.Faults(evs), checks)
	if err := WriteSummary(dir, s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, HTMLFile), []byte("<html>run</html>"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// matrixFixture is three systems under three faults, one cell left empty,
// one run whose verdict is not the expected one and one whose directory is
// gone; the runs sit in root/runs, the page in root/index.
func matrixFixture(t *testing.T) (string, []MatrixEntry) {
	root := t.TempDir()
	var es []MatrixEntry
	add := func(sys, fault, target string, v checkers.Verdict, expect string, rate int, slow int64) {
		dir := filepath.Join(root, "runs", sys+"-"+fault)
		if v != "" {
			writeMatrixRun(t, dir, target, fault, v, rate, slow)
		}
		es = append(es, MatrixEntry{CompareEntry: CompareEntry{Dir: dir, Label: sys + "-" + fault, Expected: expect}, System: sys, Fault: fault})
	}
	for _, f := range []string{"none", "partition", "kill"} {
		add("alpha", f, "etcd", checkers.Valid, "valid", 40, 2e6)
		add("beta", f, "raftkv", checkers.Valid, "valid", 30, 8e6)
	}
	add("gamma", "none", "naive-paxos", checkers.Invalid, "valid|invalid", 50, 1e6)
	add("gamma", "partition", "naive-paxos", checkers.Valid, "invalid", 50, 1e6) // not as expected
	add("gamma", "pause", "naive-paxos", "", "invalid", 0, 0)                    // no run directory
	return root, es
}

// The matrix page from stored run directories: a row per system and a
// column per fault in the order they first appear, each cell's verdict
// beside the one expected and linked to the run's own report; a figure per
// fault whose panels share their axes; the bars; every plot as PNG and SVG;
// nothing fetched from the network.
func TestMatrixPage(t *testing.T) {
	root, es := matrixFixture(t)
	out := filepath.Join(root, "index")
	page, err := Matrix(out, "systems", es, WithNote("9 runs"))
	if err == nil || !strings.Contains(err.Error(), "gamma-pause") {
		t.Errorf("the missing run is not reported: %v", err)
	}
	if got := strings.Join(page.Faults, ","); got != "none,partition,kill,pause" {
		t.Errorf("faults %s", got)
	}
	if len(page.Matrix) != 3 || page.Matrix[0].System != "alpha" || page.Matrix[2].System != "gamma" || page.Mismatch != 2 {
		t.Fatalf("matrix %+v, %d mismatches", page.Matrix, page.Mismatch)
	}
	gamma := page.Matrix[2].Cells
	if len(gamma[2].Runs) != 0 || !gamma[0].Match() || gamma[1].Match() || gamma[3].Runs[0].Verdict != "missing" {
		t.Errorf("gamma's cells: %+v", gamma)
	}
	for _, row := range page.Matrix[:2] {
		for _, c := range row.Cells[:3] {
			link := c.Runs[0].Link
			if _, err := os.Stat(filepath.Join(out, link)); err != nil || !strings.HasSuffix(link, "/"+HTMLFile) || filepath.IsAbs(link) {
				t.Errorf("%s links to %q: %v", c.Runs[0].Label, link, err)
			}
		}
	}
	if len(page.Figures) != 3 {
		t.Fatalf("%d fault figures, want 3 (pause has no run)", len(page.Figures))
	}
	for _, fig := range page.Figures {
		want := []string{"alpha", "beta", "gamma"}
		if fig.Fault == "kill" {
			want = want[:2]
		}
		if strings.Join(fig.Systems, ",") != strings.Join(want, ",") {
			t.Errorf("%s: columns %v, want %v", fig.Fault, fig.Systems, want)
		}
		// Shared axes: the busiest column's ok/s (gamma: 50/s) and the
		// widest p99 range (gamma 5 ms to beta 40 ms) set the row's range,
		// with room to spare.
		okMax, p99Lo := 50*1.15, 5/1.5
		if fig.Fault == "kill" {
			okMax, p99Lo = 40*1.15, 10/1.5
		}
		if math.Abs(fig.OKMax-okMax) > 1e-9 || math.Abs(fig.P99Lo-p99Lo) > 1e-9 || math.Abs(fig.P99Hi-40*1.5) > 1e-9 || fig.SpanS < 10 {
			t.Errorf("%s: axes %+v", fig.Fault, fig)
		}
		checkPlotFiles(t, out, fig.Plot)
	}
	if page.Bars == nil {
		t.Fatal("no bar chart")
	}
	if page.DeliveryBars != nil || page.Figures[0].Delivery {
		t.Error("delivery plots for systems that deliver no messages")
	}
	checkPlotFiles(t, out, *page.Bars)
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	h := string(html)
	for _, want := range []string{"<th>alpha</th>", "<th>pause</th>", `<td class="empty">-</td>`, `href="../runs/alpha-none/report.html"`,
		`<img src="fault-1.png"`, `<img src="systems-bars.png"`, "9 runs", "2 run(s) did not give the expected verdict",
		`<span class="verdict valid">valid</span> or <span class="verdict invalid">invalid</span>`, "Under partition"} {
		if !strings.Contains(h, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if n := strings.Count(h, `class="cell mismatch"`); n != 2 {
		t.Errorf("%d mismatched cells, want 2", n)
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(h) {
		t.Error("index.html refers to something on the network")
	}
}

func checkPlotFiles(t *testing.T, dir string, ref PlotRef) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, ref.PNG))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() < 900 {
		t.Errorf("%s: %v", ref.PNG, err)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, ref.SVG))
	if err := xml.Unmarshal(svg, new(struct{ XMLName xml.Name })); err != nil {
		t.Errorf("%s does not parse: %v", ref.SVG, err)
	}
}

// chromium finds Debian's chromium, installing it where it is missing and
// apt-get can (as root); the caller is skipped, saying why, only where it
// cannot be had.
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("chromium is not installed and cannot be here (needs apt-get as root: apt-get install chromium): screenshot skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, apt, "install", "-y", "--no-install-recommends", "chromium")
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("chromium could not be installed (apt-get install chromium: %v): screenshot skipped\n%s", err, out)
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("apt-get installed chromium, yet it is not on PATH: screenshot skipped")
	}
	return p
}

// The matrix page in headless chromium: the badges (green valid, red
// invalid) and the plots (their green ok lines and bars) are on screen.
func TestMatrixPageInChromium(t *testing.T) {
	root, es := matrixFixture(t)
	out := filepath.Join(root, "index")
	if _, err := Matrix(out, "systems", es); err != nil && !strings.Contains(err.Error(), "gamma-pause") {
		t.Fatal(err)
	}
	bin := chromium(t)
	shot := filepath.Join(root, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--user-data-dir="+filepath.Join(root, "profile"),
		"--window-size=1300,2400", "--screenshot="+shot, "file://"+filepath.Join(out, "index.html"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 1300 {
		t.Fatalf("screenshot: %v", err)
	}
	near := func(r, g, b uint32, want [3]float64) bool {
		return math.Abs(float64(r)-want[0]) < 25 && math.Abs(float64(g)-want[1]) < 25 && math.Abs(float64(b)-want[2]) < 25
	}
	var valid, invalid, top, bottom int
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			switch {
			case near(r, g, b, [3]float64{0x2e, 0x8b, 0x57}):
				valid++
				if y < 400 {
					top++
				} else {
					bottom++
				}
			case near(r, g, b, [3]float64{0xd6, 0x27, 0x28}):
				invalid++
			}
		}
	}
	// Badges near the top; below them, the plots' green lines and bars.
	if top < 200 || invalid < 50 || bottom < 2000 {
		t.Errorf("screenshot: %d green pixels in the matrix, %d red, %d green below (the plots)", top, invalid, bottom)
	}
	if os.Getenv("FAULTLINE_KEEP_SHOT") != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("FAULTLINE_KEEP_SHOT"), b, 0o644)
	}
}

// deliveryChecks is a queue or log checker's result as it leaves the
// checker: Details of its own type carrying the delivery measurement of
// messages acknowledged every 10 ms for 10 s, delivered base ms later, or,
// when acknowledged inside the fault window (3-6 s), at 6.5 s.
func deliveryChecks(checker, fault string, base int64) ([]checkers.Result, delivery.Measurement) {
	var samples []delivery.Sample
	var ws []history.Window
	if fault != "none" {
		ws = []history.Window{{Kind: fault, Start: 3 * sec, End: 6 * sec}}
	}
	for ack := int64(0); ack < 10*sec; ack += 10e6 {
		d := ack + base*1e6
		if len(ws) > 0 && ack >= 3*sec && ack < 6*sec {
			d = 6*sec + 500e6
		}
		samples = append(samples, delivery.Sample{Ack: ack, Delivered: d})
	}
	m := delivery.Measure(samples, ws)
	details := struct {
		Lost     []int64              `json:"lost,omitempty"`
		Delivery delivery.Measurement `json:"delivery_latency"`
	}{Delivery: m}
	return []checkers.Result{{Checker: "availability", Verdict: checkers.Valid}, {Checker: checker, Verdict: checkers.Valid, Details: details}}, m
}

// DeliveryOf reads the measurement from a fresh run's results and from the
// same results read back from summary.json alike; runs without one have none.
func TestDeliveryOf(t *testing.T) {
	checks, m := deliveryChecks("queue", "partition", 4)
	name, got := DeliveryOf(checks)
	if name != "queue" || got == nil || got.Outside != m.Outside || got.During != m.During || len(got.Series) != len(m.Series) {
		t.Fatalf("fresh: %s %+v", name, got)
	}
	b, _ := json.Marshal(checks)
	var stored []checkers.Result
	if err := json.Unmarshal(b, &stored); err != nil {
		t.Fatal(err)
	}
	if _, again := DeliveryOf(stored); again == nil || again.During != m.During || again.BucketS != 1 {
		t.Errorf("stored: %+v", again)
	}
	if n, none := DeliveryOf([]checkers.Result{{Checker: "linearizable", Details: map[string]int{"keys": 3}}}); none != nil || n != "" {
		t.Errorf("a register run: %s %+v", n, none)
	}
}

// Queue and log runs beside register runs: their cells, the runs table, a
// fourth row of small multiples (delivery p50/p99 per second, one axis for
// every column that has it) and the delivery bars show the checkers'
// delivery measurement; register systems show none and get no such panel.
func TestMatrixDelivery(t *testing.T) {
	root := t.TempDir()
	var es []MatrixEntry
	want := map[string]delivery.Measurement{}
	for _, f := range []string{"none", "partition"} {
		dir := filepath.Join(root, "runs", "reg-"+f)
		writeMatrixRun(t, dir, "etcd", f, checkers.Valid, 40, 2e6)
		es = append(es, MatrixEntry{CompareEntry: CompareEntry{Dir: dir, Label: "reg-" + f, Expected: "valid"}, System: "reg", Fault: f})
		for _, q := range []struct {
			sys, checker string
			base         int64
		}{{"nats queue", "queue", 4}, {"nats log", "log", 20}} {
			label := strings.ReplaceAll(q.sys, " ", "-") + "-" + f
			dir := filepath.Join(root, "runs", label)
			checks, m := deliveryChecks(q.checker, f, q.base)
			writeMatrixRunChecks(t, dir, "nats", f, checks, 30, 3e6)
			want[label] = m
			es = append(es, MatrixEntry{CompareEntry: CompareEntry{Dir: dir, Label: label, Expected: "valid"}, System: q.sys, Fault: f})
		}
	}
	out := filepath.Join(root, "index")
	page, err := Matrix(out, "queues", es)
	// FAULTLINE_KEEP_MATRIX=dir keeps the page to look at.
	if d := os.Getenv("FAULTLINE_KEEP_MATRIX"); d != "" {
		defer exec.Command("cp", "-r", out, d).Run()
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range page.Rows {
		m, isQueue := want[row.Label]
		switch d := row.Delivery; {
		case !isQueue:
			if d != nil {
				t.Errorf("%s: delivery %+v on a register run", row.Label, d)
			}
		case d == nil:
			t.Errorf("%s: no delivery figures", row.Label)
		default:
			if d.Delivered != 1000 || d.P50Out != m.Outside.P50 || d.P99Out != m.Outside.P99 || d.PerS <= 0 {
				t.Errorf("%s: %+v, want outside %+v", row.Label, d, m.Outside)
			}
			if strings.HasSuffix(row.Label, "-none") {
				if !math.IsNaN(d.P50In) || !math.IsNaN(d.P99In) || d.CountIn != 0 {
					t.Errorf("%s: through a fault %v/%v with no fault", row.Label, d.P50In, d.P99In)
				}
			} else if d.P50In != m.During.P50 || d.P99In != m.During.P99 || d.P99In < 3000 || d.CountIn != m.During.Count {
				t.Errorf("%s: through a fault %v/%v, want %+v", row.Label, d.P50In, d.P99In, m.During)
			}
		}
	}
	if len(page.Figures) != 2 {
		t.Fatalf("%d figures", len(page.Figures))
	}
	for _, fig := range page.Figures {
		// One axis for both delivering columns: the fast queue's 4 ms to the
		// log's slowest p99 (3.5 s waited through the partition, or its 20 ms).
		lo, hi := 4/1.5, 20*1.5
		if fig.Fault == "partition" {
			hi = want["nats-log-partition"].Series[3].P99 * 1.5
		}
		if !fig.Delivery || math.Abs(fig.DeliveryLo-lo) > 1e-9 || math.Abs(fig.DeliveryHi-hi) > 1e-9 {
			t.Errorf("%s: delivery axis %v-%v, want %v-%v", fig.Fault, fig.DeliveryLo, fig.DeliveryHi, lo, hi)
		}
		checkPlotFiles(t, out, fig.Plot)
	}
	if page.DeliveryBars == nil || page.Bars == nil {
		t.Fatal("no delivery bars")
	}
	checkPlotFiles(t, out, *page.DeliveryBars)
	html, err := os.ReadFile(filepath.Join(out, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	h := string(html)
	for _, w := range []string{`<img src="delivery-bars.png"`, "Delivery latency per system", "delivery p50/p99 4.0/4.0 ms outside faults, -/- ms waiting through one",
		"delivery p50/p99 20/20 ms outside faults", "<th>delivery p50 / p99 through a fault (ms)</th>", "a fourth row: delivery latency"} {
		if !strings.Contains(h, w) {
			t.Errorf("index.html lacks %q", w)
		}
	}
}
