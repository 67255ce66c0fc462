package load

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/etcd"
)

// etcdLikeBody is one answer that every etcd request of the client accepts:
// a range that found a key, a put, a txn that succeeded.
const etcdLikeBody = `{"header":{"cluster_id":"1", "member_id":"2", "revision":"3", "raft_term":"2"}, ` +
	`"kvs":[{"key":"azE=", "create_revision":"2", "mod_revision":"3", "version":"2", "value":"MQ=="}], "count":"1", "succeeded":true}`

// trivialServer answers every request at once with etcdLikeBody, after
// waiting while stall says so. It counts requests and the most in flight.
type trivialServer struct {
	stall    func() <-chan struct{}
	requests atomic.Int64
	inflight atomic.Int64
	peak     atomic.Int64
}

func (s *trivialServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	peakMax(&s.peak, n)
	s.requests.Add(1)
	_, _ = io.Copy(io.Discard, r.Body)
	if s.stall != nil {
		if ch := s.stall(); ch != nil {
			<-ch
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, etcdLikeBody)
}

type testNode struct{ name, base string }

func (n testNode) Name() string           { return n.name }
func (n testNode) Endpoint(string) string { return n.base }

type loadRun struct {
	stats   Stats
	events  []history.Event
	dir     string
	results string
}

// runLoad runs a Load of rate for d against base with the etcd client and a
// register workload, recording into a temporary run directory.
func runLoad(t *testing.T, ctx context.Context, client targets.Client, bases []string, rate string, d time.Duration, maxInFlight int) loadRun {
	t.Helper()
	pacer, err := ParseRate(rate, d)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rec, err := history.Create(filepath.Join(dir, "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	resf, err := os.Create(filepath.Join(dir, "results.bin"))
	if err != nil {
		t.Fatal(err)
	}
	resw := bufio.NewWriter(resf)
	w, err := register.NewKeyed(register.KeyedConfig{Kind: register.KindRegister, Slots: 8, OpsPerKey: 100, KeyConcurrency: 2, Mix: register.DefaultMix(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []Node
	for i, b := range bases {
		nodes = append(nodes, testNode{name: "n" + strconv.Itoa(i+1), base: b})
	}
	l := &Load{
		Client: client, Nodes: nodes, Workload: w, Rec: rec, Pacer: pacer, Duration: d,
		MaxInFlight: maxInFlight, Timeout: 10 * time.Second, Results: NewResultsEncoder(resw),
	}
	stats, err := l.Run(ctx)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := errors.Join(resw.Flush(), resf.Close(), rec.Close()); err != nil {
		t.Fatal(err)
	}
	events, torn, err := history.ReadFile(filepath.Join(dir, "history.jsonl"))
	if err != nil || torn {
		t.Fatalf("history: torn=%v %v", torn, err)
	}
	return loadRun{stats: stats, events: events, dir: dir, results: filepath.Join(dir, "results.bin")}
}

func etcdClient(t testing.TB) targets.Client {
	c, err := etcd.New().Client(targets.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkHistory asserts what every load history must satisfy: each invoke has
// one completion after it, processes run one operation at a time, a process
// that got an info never runs again, and intended times never follow the
// invoke.
func checkHistory(t *testing.T, events []history.Event) []history.Op {
	t.Helper()
	ops := history.Operations(events)
	busy := map[history.Process]uint64{}
	retired := map[history.Process]bool{}
	completions := 0
	for _, e := range events {
		switch {
		case e.Type == history.Invoke:
			if busy[e.Process] != 0 {
				t.Fatalf("process %d invoked op %d while op %d was running", e.Process, e.ID, busy[e.Process])
			}
			if retired[e.Process] {
				t.Fatalf("process %d ran op %d after an info", e.Process, e.ID)
			}
			if e.Intended > e.Time {
				t.Fatalf("op %d intended at %d, after its invoke at %d", e.ID, e.Intended, e.Time)
			}
			busy[e.Process] = e.ID
		default:
			completions++
			busy[e.Process] = 0
			retired[e.Process] = e.Type == history.Info
		}
	}
	for _, op := range ops {
		if op.Return < op.Call {
			t.Fatalf("op %d: return %d before call %d", op.ID, op.Return, op.Call)
		}
	}
	if completions != len(ops) {
		t.Fatalf("%d completions for %d operations", completions, len(ops))
	}
	return ops
}

// The pacers hit their target counts within 1% over 5 s on a trivial server
// (counts, not times: a slow machine only shifts when requests leave, and
// vegeta catches up). One at a time: under -race on a busy 2-core machine,
// three at once starve each other.
func TestPacersHitTheirCounts(t *testing.T) {
	d := 5 * time.Second
	for _, c := range []struct {
		rate string
		want float64
	}{
		{"200", 1000},
		{"ramp:100..300", 1000},
		{"sine:200,100,2500ms", 1000},
	} {
		t.Run(c.rate, func(t *testing.T) {
			srv := &trivialServer{}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			r := runLoad(t, context.Background(), etcdClient(t), []string{ts.URL, ts.URL, ts.URL}, c.rate, d, 64)
			got := float64(srv.requests.Load())
			if math.Abs(got-c.want) > c.want/100 {
				t.Errorf("%s for %v: %v requests, want %v ± 1%%; stats %+v", c.rate, d, got, c.want, r.stats)
			}
			if r.stats.Invoked != int64(got) || r.stats.Completed != r.stats.Invoked || r.stats.Unmatched != 0 {
				t.Errorf("stats %+v for %v requests", r.stats, got)
			}
			if math.Abs(float64(r.stats.Scheduled)-c.want) > c.want/100 {
				t.Errorf("scheduled %d, want %v", r.stats.Scheduled, c.want)
			}
			ops := checkHistory(t, r.events)
			if len(ops) != int(got) {
				t.Errorf("%d operations recorded for %v requests", len(ops), got)
			}
			for _, op := range ops {
				if op.Intended == 0 && op.ID > 1 {
					t.Fatalf("open-loop op %d has no intended time", op.ID)
				}
			}
		})
	}
}

// A closed loop keeps exactly its processes busy, never more.
func TestClosedLoop(t *testing.T) {
	srv := &trivialServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	r := runLoad(t, context.Background(), etcdClient(t), []string{ts.URL, ts.URL}, "closed:4", time.Second, 64)
	if p := srv.peak.Load(); p > 4 {
		t.Errorf("%d requests in flight at once with 4 processes", p)
	}
	if r.stats.Mode != "closed" || r.stats.Late != 0 || r.stats.Dropped != 0 || r.stats.Invoked < 100 {
		t.Errorf("stats %+v", r.stats)
	}
	procs := map[history.Process]bool{}
	for _, op := range checkHistory(t, r.events) {
		procs[op.Process] = true
		if op.Intended != 0 {
			t.Fatalf("closed-loop op %d has an intended time", op.ID)
		}
	}
	if len(procs) != 4 {
		t.Errorf("%d processes in a closed loop of 4 (no info, so none retired)", len(procs))
	}
}

// A server that stalls for 1 s in the middle of an open-loop run: the few
// requests in flight wait 1 s, and vegeta's own latency hardly shows it; the
// latency measured from the intended send times shows that every request
// meant to leave during the stall waited too.
func TestStallShowsInCorrectedLatency(t *testing.T) {
	var stallFrom atomic.Int64 // unix nanos; 0 until armed
	gate := make(chan struct{})
	var once sync.Once
	srv := &trivialServer{stall: func() <-chan struct{} {
		from := stallFrom.Load()
		if from == 0 || time.Now().UnixNano() < from {
			return nil
		}
		once.Do(func() { time.AfterFunc(time.Second, func() { close(gate) }) })
		select {
		case <-gate:
			return nil
		default:
			return gate
		}
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	stallFrom.Store(time.Now().Add(1500 * time.Millisecond).UnixNano())
	r := runLoad(t, context.Background(), etcdClient(t), []string{ts.URL}, "200", 4*time.Second, 4)
	ops := checkHistory(t, r.events)
	sum := report.Summarize(report.Meta{Dropped: r.stats.Dropped}, r.events, ops, nil, nil)
	t.Logf("vegeta p99 %v ms, corrected p99 %v ms; late %d (stats %d), dropped %d, peak in flight %d",
		sum.LatencyMS.P99, sum.LatencyCorrectedMS.P99, sum.Load.Late, r.stats.Late, r.stats.Dropped, r.stats.PeakInFlight)
	// 200 requests were meant to leave during the stall, 1/4 of them more
	// than 750 ms before it ended: far above the 1% of p99.
	if sum.LatencyCorrectedMS.P99 < 500 {
		t.Errorf("corrected p99 %v ms does not reflect a 1 s stall", sum.LatencyCorrectedMS.P99)
	}
	if sum.LatencyCorrectedMS.P99 <= sum.LatencyMS.P99 {
		t.Errorf("corrected p99 %v ms not above vegeta's %v ms", sum.LatencyCorrectedMS.P99, sum.LatencyMS.P99)
	}
	if p := srv.peak.Load(); p > 4 || r.stats.PeakInFlight != 4 {
		t.Errorf("%d requests in flight at the server (%d by the generator) with --max-in-flight 4", p, r.stats.PeakInFlight)
	}
	if r.stats.Late < 100 || int64(sum.Load.Late) != r.stats.Late {
		t.Errorf("late: %d by the generator, %d from the history; want the same, at least 100", r.stats.Late, sum.Load.Late)
	}
	// vegeta catches up once the server answers again; whatever it could
	// not send by the end (on a starved machine) is counted.
	if math.Abs(float64(r.stats.Invoked+r.stats.Dropped-800)) > 8 {
		t.Errorf("stats %+v, want 800 sent or dropped", r.stats)
	}
}

// With --drop-after, requests that could not leave in time are skipped and
// counted instead of sent in a burst.
func TestDropAfter(t *testing.T) {
	var stalled atomic.Bool
	gate := make(chan struct{})
	srv := &trivialServer{stall: func() <-chan struct{} {
		if stalled.Load() {
			return gate
		}
		return nil
	}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	time.AfterFunc(500*time.Millisecond, func() { stalled.Store(true) })
	time.AfterFunc(1500*time.Millisecond, func() { stalled.Store(false); close(gate) })
	pacer, _ := ParseRate("200", 3*time.Second)
	dir := t.TempDir()
	rec, _ := history.Create(filepath.Join(dir, "history.jsonl"))
	w, _ := register.NewKeyed(register.KeyedConfig{Slots: 8, OpsPerKey: 100, KeyConcurrency: 2})
	l := &Load{Client: etcdClient(t), Nodes: []Node{testNode{"n1", ts.URL}}, Workload: w, Rec: rec, Pacer: pacer,
		Duration: 3 * time.Second, MaxInFlight: 4, DropAfter: 100 * time.Millisecond, Timeout: 5 * time.Second}
	stats, err := l.Run(context.Background())
	rec.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", stats)
	// About 1 s at 200/s could not leave; all but the last 100 ms of it is
	// dropped, and nothing is lost from the count.
	if stats.Dropped < 120 || math.Abs(float64(stats.Invoked+stats.Dropped-600)) > 6 {
		t.Errorf("stats %+v: want about 180 dropped, 600 sent or dropped", stats)
	}
}

// vegeta's own decoder, the one `vegeta report` uses, reads a run's results.
func TestResultsFileReadsWithVegetaDecoder(t *testing.T) {
	srv := &trivialServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	r := runLoad(t, context.Background(), etcdClient(t), []string{ts.URL}, "100", time.Second, 16)
	f, err := os.Open(r.results)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := vegeta.DecoderFor(f)
	if dec == nil {
		t.Fatal("vegeta cannot detect the encoding of results.bin")
	}
	var m vegeta.Metrics
	n := 0
	for {
		var res vegeta.Result
		if err := dec.Decode(&res); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("decode result %d: %v", n, err)
		}
		if _, ok := opID(res.URL); !ok || res.Code != 200 || res.Attack != "faultline" {
			t.Fatalf("result %d: %+v", n, res)
		}
		m.Add(&res)
		n++
	}
	m.Close()
	if int64(n) != r.stats.Completed || m.Success != 1 {
		t.Errorf("%d results decoded for %d completed; success %v", n, r.stats.Completed, m.Success)
	}
}

// A target whose protocol is not HTTP is paced and recorded the same way:
// here a register server speaking a line protocol over TCP.
func TestNativeClientOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serveLineRegister(ln)
	c := &lineClient{} // not HTTP: the load carries it with targets.Native
	r := runLoad(t, context.Background(), c, []string{"tcp://" + ln.Addr().String()}, "200", time.Second, 16)
	ops := checkHistory(t, r.events)
	if len(ops) < 190 || r.stats.Unmatched != 0 {
		t.Fatalf("%d operations, stats %+v", len(ops), r.stats)
	}
	written := map[string]bool{"": true}
	byType := map[history.Type]int{}
	for _, op := range ops {
		byType[op.Type]++
		if op.F != history.FRead && op.Type == history.OK {
			written[op.Value] = true
		}
	}
	for _, op := range ops {
		if op.F == history.FRead && op.Type == history.OK && !written[op.Value] {
			t.Errorf("read %q, which no ok write wrote", op.Value)
		}
	}
	if byType[history.OK] < len(ops)*3/4 || byType[history.Info] > 0 {
		t.Errorf("outcomes %v", byType)
	}
}

// serveLineRegister is a register over TCP: "get K", "put K V", "cas K FROM
// V" (FROM "-" for absent), one request per line, answers "ok [V]" or "fail".
func serveLineRegister(ln net.Listener) {
	var mu sync.Mutex
	kv := map[string]string{}
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			sc := bufio.NewScanner(conn)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				mu.Lock()
				var out string
				switch {
				case len(f) == 2 && f[0] == "get":
					out = "ok " + kv[f[1]]
				case len(f) == 3 && f[0] == "put":
					kv[f[1]] = f[2]
					out = "ok"
				case len(f) == 4 && f[0] == "cas":
					from := f[2]
					if from == "-" {
						from = ""
					}
					if kv[f[1]] == from {
						kv[f[1]] = f[3]
						out = "ok"
					} else {
						out = "fail"
					}
				default:
					out = "error"
				}
				mu.Unlock()
				if _, err := io.WriteString(conn, strings.TrimSpace(out)+"\n"); err != nil {
					return
				}
			}
		}()
	}
}

// lineClient is the targets.OpClient of serveLineRegister: one connection
// per operation, for simplicity.
type lineClient struct{}

func (lineClient) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(base, "tcp://"))
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	var req string
	switch op.F {
	case history.FRead:
		req = "get " + op.Key
	case history.FWrite:
		req = "put " + op.Key + " " + op.Value
	case history.FCAS:
		from := op.From
		if from == "" {
			from = "-"
		}
		req = "cas " + op.Key + " " + from + " " + op.Value
	}
	if _, err := io.WriteString(conn, req+"\n"); err != nil {
		return targets.Outcome{Type: history.Info, Error: err.Error()}
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		if op.F == history.FRead {
			return targets.Outcome{Type: history.Fail, Error: err.Error()}
		}
		return targets.Outcome{Type: history.Info, Error: err.Error()}
	}
	f := strings.Fields(line)
	switch {
	case len(f) >= 1 && f[0] == "ok":
		v := ""
		if len(f) == 2 {
			v = f[1]
		}
		return targets.Outcome{Type: history.OK, Value: v}
	case len(f) == 1 && f[0] == "fail":
		return targets.Outcome{Type: history.Fail, Error: "compare failed"}
	}
	return targets.Outcome{Type: history.Fail, Error: "bad answer " + line}
}
