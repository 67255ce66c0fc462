package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
)

// serverEnv makes the test binary a trivial HTTP server (see TestMain): the
// load benchmark runs it as a separate process, as a real target would be.
const serverEnv = "FAULTLINE_TRIVIAL_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		serveTrivial()
		return
	}
	os.Exit(m.Run())
}

// serveTrivial answers every request with etcdLikeBody on a 127.0.0.1 port
// it prints, until its stdin closes.
func serveTrivial() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	body := []byte(etcdLikeBody)
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}

// cpuTime is the CPU time (user + system) this process and the server
// process have used so far.
func cpuTime(server int) (self, srv time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(server) + "/stat"); err == nil {
		// Fields after the command's closing parenthesis; utime and stime
		// are the 12th and 13th, in clock ticks (100 per second on Linux).
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			srv = time.Duration(u+s) * 10 * time.Millisecond
		}
	}
	return self, srv
}

func startTrivialServer(b *testing.B) (string, int) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close() // the server exits when its stdin closes
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("trivial server: %v", err)
	}
	return "http://" + strings.TrimSpace(addr), cmd.Process.Pid
}

// phase is one contender's measurement.
type phase struct {
	perS float64
	// clientUS and serverUS are CPU microseconds per request.
	clientUS, serverUS float64
	// allocB is what the client allocated per request; gcs counts its
	// garbage collections.
	allocB float64
	gcs    uint32
}

func measure(pid int, run func() (n int, elapsed time.Duration)) phase {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, s0 := cpuTime(pid)
	n, elapsed := run()
	c1, s1 := cpuTime(pid)
	runtime.ReadMemStats(&m1)
	if n == 0 {
		return phase{}
	}
	return phase{
		perS:     float64(n) / elapsed.Seconds(),
		clientUS: float64(c1-c0) / float64(time.Microsecond) / float64(n),
		serverUS: float64(s1-s0) / float64(time.Microsecond) / float64(n),
		allocB:   float64(m1.TotalAlloc-m0.TotalAlloc) / float64(n),
		gcs:      m1.NumGC - m0.NumGC,
	}
}

// benchWorkers is the concurrency of every contender: vegeta's workers,
// Faultline's processes, wrk's connections.
const benchWorkers = 64

// rawVegeta is contender (a): vegeta alone at its maximum rate with the
// workers Load configures, results discarded. Its static targets are the
// etcd requests of the default mix (5 reads, 3 writes, 2 compare-and-sets),
// so that the server does the same work for both contenders.
func rawVegeta(base string, d time.Duration) (int, time.Duration) {
	atk := vegeta.NewAttacker(
		vegeta.Workers(16), vegeta.MaxWorkers(benchWorkers),
		vegeta.KeepAlive(true), vegeta.Connections(benchWorkers),
		vegeta.Redirects(vegeta.NoFollow), vegeta.MaxBody(64<<10), vegeta.Timeout(10*time.Second),
	)
	client, _ := etcd.New().Client(targets.ClientConfig{})
	var tgts []vegeta.Target
	for i, op := range []history.Event{
		{F: history.FRead}, {F: history.FWrite}, {F: history.FRead}, {F: history.FCAS, From: "12"}, {F: history.FRead},
		{F: history.FWrite}, {F: history.FRead}, {F: history.FCAS}, {F: history.FRead}, {F: history.FWrite},
	} {
		op.ID, op.Key, op.Value = uint64(1000+i), "k3.17", strconv.Itoa(1000+i)
		var t vegeta.Target
		if err := targets.ForLoad(client).Request(&op, base, &t); err != nil {
			panic(err)
		}
		tgts = append(tgts, t)
	}
	start := time.Now()
	n := 0
	for res := range atk.Attack(vegeta.NewStaticTargeter(tgts...), vegeta.ConstantPacer{}, d, "raw") {
		if res.Code == http.StatusOK {
			n++
		}
	}
	return n, time.Since(start)
}

// recorded is contender (b): Faultline's load with the same workers, also at
// vegeta's maximum rate (its unbounded ConstantPacer), the default register
// workload, the etcd client, every operation recorded in history.jsonl and
// results.bin exactly as a run does.
func recorded(b *testing.B, base string, d time.Duration) (int, time.Duration) {
	dir := b.TempDir()
	rec, err := history.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	resf, err := os.Create(filepath.Join(dir, "results.bin"))
	if err != nil {
		b.Fatal(err)
	}
	resw := bufio.NewWriterSize(resf, 256<<10)
	w, err := register.New().New(defaultRegister(1))
	if err != nil {
		b.Fatal(err)
	}
	client := etcdClient(b)
	l := &Load{
		Client: client, Nodes: []Node{testNode{"n1", base}, testNode{"n2", base}, testNode{"n3", base}},
		Workload: w, Rec: rec, Pacer: vegeta.ConstantPacer{}, Duration: d,
		MaxInFlight: benchWorkers, Timeout: 10 * time.Second, Results: NewResultsEncoder(resw),
	}
	start := time.Now()
	stats, err := l.Run(context.Background())
	elapsed := time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	if err := resw.Flush(); err != nil {
		b.Fatal(err)
	}
	resf.Close()
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	if stats.Unmatched != 0 || stats.Completed != stats.Invoked || rec.Count() != 2*stats.Invoked {
		b.Fatalf("recorded run lost operations: %+v, %d events", stats, rec.Count())
	}
	return int(stats.Completed), elapsed
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk is contender (c), when installed: wrk -t2 -c64 on the same server.
func wrk(base string, d time.Duration) (float64, bool) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		return 0, false
	}
	out, err := exec.Command(path, "-t2", "-c"+strconv.Itoa(benchWorkers), "-d"+strconv.Itoa(int(d.Seconds()))+"s", base+"/").Output()
	if err != nil {
		return 0, false
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	return f, err == nil
}

// writerBytesPerEvent measures the history writer's steady state: bytes
// allocated per recorded event while 4 goroutines append realistic events
// (after a warm-up that sizes its buffers).
func writerBytesPerEvent(b *testing.B) (perEvent float64, perOp float64) {
	w, err := history.Create(filepath.Join(b.TempDir(), "history.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	const warm, n, g = 200000, 1000000, 4
	appendN := func(count int) {
		var wg sync.WaitGroup
		for i := range g {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := history.Event{Type: history.Invoke, F: history.FWrite, Key: "k3.17", Value: "123456", Node: "n2", Process: history.Process(i)}
				for j := range count / g {
					e.ID = uint64(j)
					e.Time = w.Now()
					e.Intended = e.Time - 1000
					w.Append(e)
				}
			}()
		}
		wg.Wait()
	}
	appendN(warm)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	appendN(n)
	runtime.ReadMemStats(&after)
	perEvent = float64(after.TotalAlloc-before.TotalAlloc) / n
	return perEvent, 2 * perEvent // an operation is an invoke and a completion
}

// defaultRegister is the register workload as a default run configures it
// (scenario.DefaultLoad, which this package cannot import: the scenario
// imports the load).
func defaultRegister(seed uint64) workload.Config {
	return workload.Config{
		Seed: seed, Keys: 8, KeySpace: 1000, KeyDist: register.DistUniform, Mix: register.DefaultMix().String(),
		OpsPerKey: 100, KeyConcurrency: 2,
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	switch n := len(s); {
	case n == 0:
		return 0
	case n%2 == 0:
		return (s[n/2-1] + s[n/2]) / 2
	default:
		return s[n/2]
	}
}

func spread(xs []float64) string {
	return fmt.Sprintf("min %.0f, median %.0f, max %.0f", slices.Min(xs), median(xs), slices.Max(xs))
}

// BenchmarkLoadEngine compares, in one run against a trivial HTTP server on
// 127.0.0.1 (a separate process), requests per second at the maximum rate
// of (a) raw vegeta discarding results, (b) Faultline with full recording,
// (c) wrk -t2 -c64 if installed. The contenders take short turns, many
// rounds, in alternating order, and the ratio is the median of the rounds'
// ratios, so that other work on the machine slows all of them alike. Run it
// with `make bench-load`; FAULTLINE_BENCH_SECONDS and FAULTLINE_BENCH_ROUNDS
// change the length (default 3 s, 10 rounds).
func BenchmarkLoadEngine(b *testing.B) {
	d := 3 * time.Second
	if s, err := strconv.Atoi(os.Getenv("FAULTLINE_BENCH_SECONDS")); err == nil && s > 0 {
		d = time.Duration(s) * time.Second
	}
	rounds := 10
	if n, err := strconv.Atoi(os.Getenv("FAULTLINE_BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	base, pid := startTrivialServer(b)
	// Warm up connections and code paths.
	rawVegeta(base, time.Second)
	recorded(b, base, time.Second)
	var raw, rec, wr, ratios, cpuRatios, wrkRatios []float64
	for r := range rounds {
		var a, c phase
		runA := func() { a = measure(pid, func() (int, time.Duration) { return rawVegeta(base, d) }) }
		runB := func() { c = measure(pid, func() (int, time.Duration) { return recorded(b, base, d) }) }
		if r%2 == 0 {
			runA()
			runB()
		} else {
			runB()
			runA()
		}
		raw, rec = append(raw, a.perS), append(rec, c.perS)
		ratios = append(ratios, c.perS/a.perS)
		// On 2 cores both saturated, throughput is inverse to the CPU a
		// request costs client and server together: a second estimate,
		// less sensitive to other work on the machine.
		cpuRatios = append(cpuRatios, (a.clientUS+a.serverUS)/(c.clientUS+c.serverUS))
		line := fmt.Sprintf("round %d: raw vegeta %.0f req/s (per request: client %.1f µs CPU, %.0f B allocated; server %.1f µs; %d GCs), recorded %.0f req/s (client %.1f µs, %.0f B; server %.1f µs; %d GCs): %.2f",
			r+1, a.perS, a.clientUS, a.allocB, a.serverUS, a.gcs, c.perS, c.clientUS, c.allocB, c.serverUS, c.gcs, c.perS/a.perS)
		if w, ok := wrk(base, d); ok {
			wr = append(wr, w)
			wrkRatios = append(wrkRatios, c.perS/w)
			line += fmt.Sprintf("; wrk %.0f req/s", w)
		}
		fmt.Println(line)
	}
	fmt.Printf("raw vegeta:  %s req/s\n", spread(raw))
	fmt.Printf("recorded:    %s req/s\n", spread(rec))
	if len(wr) > 0 {
		fmt.Printf("wrk -t2 -c%d: %s req/s\n", benchWorkers, spread(wr))
	}
	fmt.Printf("recorded/raw per round: %s\n", ratioList(ratios))
	fmt.Printf("recorded/raw from CPU per request, per round: %s (median %.2f)\n", ratioList(cpuRatios), median(cpuRatios))
	perEvent, perOp := writerBytesPerEvent(b)
	fmt.Printf("history writer steady state: %.1f bytes allocated per event, %.1f per operation\n", perEvent, perOp)
	fmt.Printf("recorded/raw = %.2f\n", median(ratios))
	if len(wr) > 0 {
		fmt.Printf("recorded/wrk = %.2f\n", median(wrkRatios))
	} else {
		fmt.Println("recorded/wrk: wrk is not installed")
	}
	b.ReportMetric(median(ratios), "recorded/raw")
	b.ReportMetric(perOp, "writer-B/op")
}

func ratioList(xs []float64) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	return fmt.Sprintf("%s (sorted)", strings.Trim(fmt.Sprintf("%.2f", s), "[]"))
}

// BenchmarkRecordingPath is Faultline's own work per operation, without the
// network: the targeter (process, workload, etcd request, invoke recorded)
// and the result loop (classification, completion recorded, results.bin),
// with a synthetic vegeta result. It is what recording adds to vegeta.
func BenchmarkRecordingPath(b *testing.B) {
	dir := b.TempDir()
	rec, err := history.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	resf, err := os.Create(filepath.Join(dir, "results.bin"))
	if err != nil {
		b.Fatal(err)
	}
	defer resf.Close()
	resw := bufio.NewWriterSize(resf, 256<<10)
	w, _ := register.New().New(defaultRegister(1))
	l := &Load{
		Client: etcdClient(b), Nodes: []Node{testNode{"n1", "http://127.0.0.1:2379"}, testNode{"n2", "http://127.0.0.1:2379"}},
		Workload: w, Rec: rec, Pacer: ClosedLoop{Processes: benchWorkers}, MaxInFlight: benchWorkers,
		Results: NewResultsEncoder(resw),
	}
	a := l.newAttack()
	body := []byte(etcdLikeBody)
	// As many operations in flight as the load benchmark has workers: the
	// workload then rotates keys as it does at full speed.
	window := make([]*vegeta.Result, 0, benchWorkers)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var t vegeta.Target
		if err := a.target(&t); err != nil {
			b.Fatal(err)
		}
		window = append(window, &vegeta.Result{Attack: "faultline", Code: 200, Timestamp: time.Now(), Latency: time.Millisecond,
			Method: t.Method, URL: t.URL, Body: body, BytesIn: uint64(len(body)), BytesOut: uint64(len(t.Body))})
		if len(window) == cap(window) {
			a.complete(window[0])
			window = append(window[:0], window[1:]...)
		}
	}
	for _, res := range window {
		a.complete(res)
	}
	b.StopTimer()
	if a.stats.Completed != int64(b.N) {
		b.Fatalf("%d completed of %d", a.stats.Completed, b.N)
	}
}
