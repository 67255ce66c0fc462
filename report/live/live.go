// Package live serves a run directory over HTTP while the run writes it,
// and after: one embedded page (no external assets) that polls data.json
// every second and draws throughput, latency and availability per second
// with the fault windows as they open and close, then the verdicts once the
// checks have written summary.json. The data comes from what is on disk
// (history.jsonl, which the history writer flushes at least every 200 ms;
// scenario.json; summary.json) plus, when the serving process is the one
// running, its progress snapshots (bench.WithProgress).
package live

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/report"
)

//go:embed page.html
var page []byte

// Status is what the running process knows and the disk does not yet say.
type Status struct {
	// Phase is what the run does now (its last log line).
	Phase string `json:"phase,omitempty"`
	// Elapsed and Total are the load's progress, in seconds.
	Elapsed float64 `json:"elapsed_s,omitempty"`
	Total   float64 `json:"total_s,omitempty"`
	// Fault is the fault active now, as the nemesis reports it.
	Fault string `json:"fault,omitempty"`
	// Running says the serving process runs the run (false: a stored run).
	Running bool `json:"running"`
}

// Server serves one run directory. The directory may be unknown when the
// server starts (a run names it once it begins): Locate finds it.
type Server struct {
	mu     sync.Mutex
	dir    string
	locate func() string
	status Status
	agg    *aggregator
}

// Option configures a Server.
type Option func(*Server)

// Locate gives a function that finds the run directory while it does not
// exist yet; it is called until it returns one.
func Locate(f func() string) Option { return func(s *Server) { s.locate = f } }

// New serves dir ("" with Locate: not known yet).
func New(dir string, opts ...Option) *Server {
	s := &Server{dir: dir, agg: newAggregator()}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SetStatus records the running process's latest status.
func (s *Server) SetStatus(st Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Running = true
	s.status = st
}

// Dir is the run directory, once known.
func (s *Server) Dir() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dirLocked()
}

func (s *Server) dirLocked() string {
	if s.dir == "" && s.locate != nil {
		s.dir = s.locate()
	}
	return s.dir
}

// Handler serves the page at /, its data at /data.json and the run
// directory's files under /run/ (report.html, plots, logs): nothing else,
// nothing outside the directory, no symlink out of it.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:")
		w.Write(page)
	})
	mux.HandleFunc("GET /data.json", s.serveData)
	mux.HandleFunc("GET /run/{path...}", s.serveFile)
	return mux
}

func (s *Server) serveData(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	dir := s.dirLocked()
	d := Data{Status: s.status, Dir: dir}
	if dir != "" {
		d.Series, d.Faults, d.Last = s.agg.update(filepath.Join(dir, scenario.HistoryFile))
		d.Info = readInfo(dir)
		d.Summary = readSummary(dir)
		if _, err := os.Stat(filepath.Join(dir, report.HTMLFile)); err == nil && d.Summary != nil {
			d.Report = "run/" + report.HTMLFile
		}
	}
	s.mu.Unlock()
	switch {
	case d.Summary != nil:
		d.State = "done"
	case dir == "":
		d.State = "starting"
	case d.Status.Running && d.Status.Total > 0 && d.Status.Elapsed >= d.Status.Total:
		d.State = "checking"
	case d.Status.Running || d.Series.Len() > 0:
		d.State = "running"
	default:
		d.State = "starting"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(d)
}

func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	dir := s.Dir()
	if dir == "" {
		http.NotFound(w, r)
		return
	}
	// os.Root refuses any path, symlinks included, that leads out of dir.
	root, err := os.OpenRoot(dir)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer root.Close()
	name := path.Clean(r.PathValue("path"))
	if name == "." || strings.HasPrefix(name, "..") || path.IsAbs(name) {
		http.NotFound(w, r)
		return
	}
	f, err := root.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r) // no directory listings
		return
	}
	http.ServeContent(w, r, st.Name(), st.ModTime(), f)
}

// Data is data.json.
type Data struct {
	// State is starting, running, checking or done.
	State  string   `json:"state"`
	Status Status   `json:"status"`
	Dir    string   `json:"dir,omitempty"`
	Info   *Info    `json:"info,omitempty"`
	Series Series   `json:"series"`
	Faults []Window `json:"faults"`
	// Last is the time of the last event, in seconds since the load began.
	Last    float64  `json:"last_s"`
	Summary *Verdict `json:"summary,omitempty"`
	Report  string   `json:"report,omitempty"`
}

// Info is what scenario.json says of the run.
type Info struct {
	Target    string  `json:"target"`
	Version   string  `json:"version"`
	Nodes     int     `json:"nodes"`
	Nemesis   string  `json:"nemesis"`
	DurationS float64 `json:"duration_s"`
	Rate      string  `json:"rate"`
	RunID     string  `json:"run_id"`
}

func readInfo(dir string) *Info {
	info, err := scenario.ReadInfo(dir)
	if err != nil {
		return nil
	}
	v := info.TargetVersion
	if v == "" {
		v = info.Cluster.Version
	}
	return &Info{Target: info.Cluster.Target, Version: v, Nodes: info.Cluster.Nodes, Nemesis: strings.Join(info.Chaos.Nemesis, ","),
		DurationS: time.Duration(info.Load.Duration).Seconds(), Rate: info.Load.Rate, RunID: info.RunID}
}

// Verdict is what summary.json says, once the checks have run.
type Verdict struct {
	Verdict string  `json:"verdict"`
	Checks  []Check `json:"checks"`
	OK      int     `json:"ok"`
	Total   int     `json:"total"`
	OKPerS  float64 `json:"ok_per_s"`
	P99MS   float64 `json:"p99_ms"`
	Note    string  `json:"note,omitempty"`
}

// Check is one checker's verdict.
type Check struct {
	Checker     string `json:"checker"`
	Verdict     string `json:"verdict"`
	Explanation string `json:"explanation"`
}

func readSummary(dir string) *Verdict {
	b, err := os.ReadFile(filepath.Join(dir, report.SummaryFile))
	if err != nil {
		return nil
	}
	var s report.Summary
	if json.Unmarshal(b, &s) != nil || s.Verdict == "" {
		return nil
	}
	v := &Verdict{Verdict: string(s.Verdict), OK: s.Ops.OK, Total: s.Ops.Total, OKPerS: s.Throughput.OKPerS, P99MS: s.LatencyMS.P99}
	switch {
	case s.Interrupted:
		v.Note = "interrupted: not a pass"
	case s.HistoryTruncated:
		v.Note = "history torn by a crash: not a pass"
	case s.Error != "":
		v.Note = "run cut short: " + s.Error
	}
	for _, c := range s.Checks {
		text := c.Explanation
		if text == "" {
			text = c.Summary
		}
		v.Checks = append(v.Checks, Check{Checker: c.Checker, Verdict: string(c.Verdict), Explanation: text})
	}
	return v
}

// ListenAddr is addr with 127.0.0.1 as its host when it names none: the
// live view is not published on every interface unless asked.
func ListenAddr(addr string) (string, error) {
	if !strings.Contains(addr, ":") {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%s: want [host]:port, e.g. :8080 or 0.0.0.0:8080", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// Listen opens the live view's listener (see ListenAddr).
func Listen(addr string) (net.Listener, error) {
	a, err := ListenAddr(addr)
	if err != nil {
		return nil, err
	}
	return net.Listen("tcp", a)
}

// Serve serves h on l until ctx ends.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
