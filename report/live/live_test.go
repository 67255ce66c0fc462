package live

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/checkers"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/report"
)

func writeEvents(t *testing.T, path string, evs []history.Event, partial string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b []byte
	for i := range evs {
		b = history.AppendJSON(b, &evs[i])
		b = append(b, '\n')
	}
	f.Write(append(b, partial...))
}

const s = int64(1e9)

// op is an invoke at call and its completion of type typ at ret.
func op(id uint64, call, ret int64, typ history.Type) []history.Event {
	return []history.Event{{Time: call, Type: history.Invoke, Process: 1, F: history.FRead, ID: id, Key: "k"},
		{Time: ret, Type: typ, Process: 1, F: history.FRead, ID: id, Key: "k"}}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func data(t *testing.T, h http.Handler) Data {
	t.Helper()
	rec := get(t, h, "GET", "/data.json")
	var d Data
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatalf("data.json: %v: %s", err, rec.Body.String())
	}
	return d
}

// data.json follows the history as it is written: seconds fill in, a
// fault window opens and closes, a torn last line waits for its end, and
// the verdicts appear with summary.json.
func TestDataFollowsTheHistory(t *testing.T) {
	dir := t.TempDir()
	sc := scenario.Default()
	b, _ := json.Marshal(scenario.RunInfo{Scenario: sc, RunID: "r1", TargetVersion: "v1"})
	os.WriteFile(filepath.Join(dir, scenario.ScenarioFile), b, 0o644)
	hist := filepath.Join(dir, scenario.HistoryFile)
	srv := New(dir)
	h := srv.Handler()

	if d := data(t, h); d.State != "starting" || d.Series.Len() != 0 || d.Info == nil || d.Info.Target != "etcd" {
		t.Fatalf("before the history: %+v", d)
	}
	var evs []history.Event
	evs = append(evs, op(1, 0, s/10, history.OK)...)
	evs = append(evs, op(2, s/2, s/2+s/100, history.OK)...)
	evs = append(evs, history.Event{Time: s + s/2, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: 100, Fault: &history.Fault{Kind: "partition"}},
		history.Event{Time: s + s/2 + 1000, Type: history.OK, Process: history.Nemesis, F: history.FStart, ID: 100, Fault: &history.Fault{Kind: "partition", Nodes: []string{"n1"}}})
	evs = append(evs, op(3, s+s/2, 2*s+s/2, history.Info)...)
	evs = append(evs, op(4, 2*s, 2*s+s/10, history.Fail)...)
	writeEvents(t, hist, evs, `{"time":3100000000,"type":"ok","proc`)
	d := data(t, h)
	if d.State != "running" || d.Series.Len() != 3 || d.Series.OK[0] != 2 || d.Series.Info[2] != 1 || d.Series.Fail[2] != 1 {
		t.Fatalf("series %+v", d.Series)
	}
	if a := d.Series.Availability; *a[0] != 1 || *a[2] != 0 || a[1] != nil {
		t.Errorf("availability %v", a)
	}
	if p := d.Series.P99MS[0]; p == nil || *p != 100 {
		t.Errorf("p99 of second 0: %v", p)
	}
	if len(d.Faults) != 1 || d.Faults[0].Kind != "partition" || d.Faults[0].End != nil || d.Faults[0].Nodes[0] != "n1" {
		t.Fatalf("an open fault window: %+v", d.Faults)
	}
	// The torn line completes, the fault heals.
	writeEvents(t, hist, nil, `ess":1,"f":"read","id":9}`+"\n")
	writeEvents(t, hist, []history.Event{{Time: 3*s + s/2, Type: history.Invoke, Process: history.Nemesis, F: history.FStop, ID: 100},
		{Time: 3*s + s/2 + 1000, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: 100}}, "")
	d = data(t, h)
	if len(d.Faults) != 1 || d.Faults[0].End == nil || *d.Faults[0].End < 3.5 {
		t.Fatalf("the window did not close: %+v", d.Faults)
	}
	if d.Summary != nil || d.Report != "" {
		t.Fatalf("verdicts before the checks: %+v", d.Summary)
	}
	sum := report.Summary{Verdict: checkers.Invalid, Checks: []checkers.Result{
		{Checker: "linearizable", Verdict: checkers.Invalid, Explanation: "k1 cannot be linearized"},
		{Checker: "availability", Verdict: checkers.Valid, Summary: "ok 99%"}}}
	sum.Ops.Total, sum.Ops.OK = 4, 2
	b, _ = json.Marshal(sum)
	os.WriteFile(filepath.Join(dir, report.SummaryFile), b, 0o644)
	os.WriteFile(filepath.Join(dir, report.HTMLFile), []byte("<html>report</html>"), 0o644)
	d = data(t, h)
	if d.State != "done" || d.Summary == nil || d.Summary.Verdict != "invalid" || len(d.Summary.Checks) != 2 ||
		d.Summary.Checks[0].Explanation != "k1 cannot be linearized" || d.Summary.Checks[1].Explanation != "ok 99%" || d.Report != "run/report.html" {
		t.Fatalf("after the checks: %+v %+v", d.State, d.Summary)
	}
	// A new history (the file replaced by a shorter one) starts over.
	os.WriteFile(hist, nil, 0o644)
	writeEvents(t, hist, op(1, 0, 1, history.OK), "")
	if d := data(t, h); d.Series.Len() != 1 || d.Series.OK[0] != 1 || len(d.Faults) != 0 {
		t.Errorf("after truncation: %+v %+v", d.Series, d.Faults)
	}
}

// The page is the embedded one, with nothing fetched from elsewhere; the
// run's files are served, nothing outside the directory, no symlink out of
// it, no listing, nothing but GET.
func TestServesOnlyThePageAndTheRunDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "run")
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{}`), 0o644)
	os.WriteFile(filepath.Join(dir, "logs", "n1.log"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(parent, "secret"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(parent, "secret"), filepath.Join(dir, "out-abs"))
	os.Symlink("../secret", filepath.Join(dir, "out-rel"))
	os.Symlink("logs/n1.log", filepath.Join(dir, "in"))
	h := New(dir).Handler()

	page := get(t, h, "GET", "/")
	if page.Code != 200 || !strings.Contains(page.Body.String(), "data.json") {
		t.Fatalf("page: %d", page.Code)
	}
	if ext := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import`).FindString(page.Body.String()); ext != "" {
		t.Errorf("the page fetches from elsewhere: %q", ext)
	}
	for path, want := range map[string]int{
		"/run/summary.json":      200,
		"/run/logs/n1.log":       200,
		"/run/in":                200, // a symlink that stays inside
		"/run/out-abs":           404,
		"/run/out-rel":           404,
		"/run/../secret":         404,
		"/run/%2e%2e/secret":     404,
		"/run/logs/../../secret": 404,
		"/run/logs":              404,
		"/run/":                  404,
		"/secret":                404,
		"/etc/passwd":            404,
	} {
		rec := get(t, h, "GET", path)
		code := rec.Code
		if code == http.StatusMovedPermanently || code == http.StatusTemporaryRedirect {
			// The mux cleans ../ by redirecting; where it leads must not serve.
			rec = get(t, h, "GET", rec.Header().Get("Location"))
			code = rec.Code
		}
		if code != want || (want == 404 && strings.Contains(rec.Body.String(), "secret")) {
			t.Errorf("%s: %d, want %d", path, code, want)
		}
	}
	if rec := get(t, h, "POST", "/data.json"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	body, _ := io.ReadAll(get(t, h, "GET", "/run/in").Body)
	if string(body) != "hello" {
		t.Errorf("/run/in: %q", body)
	}
}

func TestListenAddrDefaultsToLoopback(t *testing.T) {
	for in, want := range map[string]string{":8080": "127.0.0.1:8080", "8080": "127.0.0.1:8080", "0.0.0.0:9000": "0.0.0.0:9000",
		"localhost:1": "localhost:1", "[::1]:80": "[::1]:80"} {
		if got, err := ListenAddr(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := ListenAddr("a:b:c"); err == nil {
		t.Error("a:b:c accepted")
	}
}
