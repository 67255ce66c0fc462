package spec_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/bench"
	"github.com/faultline/faultline/bench/scenario"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/kvapi"
	"github.com/faultline/faultline/targets/runtime/pick"
	"github.com/faultline/faultline/targets/spec"
)

const example = "../../examples/raftkv.yaml"

// loadExample reads examples/raftkv.yaml as `faultline run --scenario` does.
func loadExample(t *testing.T) scenario.Scenario {
	t.Helper()
	sc := scenario.Default()
	if _, err := scenario.LoadFile(example, &sc); err != nil {
		t.Fatalf("load %s: %v", example, err)
	}
	if sc.Cluster.Spec == nil {
		t.Fatalf("%s has no cluster.spec", example)
	}
	return sc
}

func exampleSpec(t *testing.T) spec.Spec {
	t.Helper()
	return *loadExample(t).Cluster.Spec
}

func newTarget(t *testing.T, s spec.Spec, cfg spec.Config) *spec.Target {
	t.Helper()
	if cfg.Nodes == 0 {
		cfg.Nodes = 3
	}
	tg, err := spec.New(s, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tg
}

func TestExampleFileIsAWholeScenario(t *testing.T) {
	sc := loadExample(t)
	if sc.Cluster.Target != "raftkv-spec" {
		t.Errorf("target %q: a scenario with a spec is named by the spec", sc.Cluster.Target)
	}
	if sc.Cluster.Nodes != 3 || !reflect.DeepEqual(sc.Chaos.Nemesis, []string{"partition"}) {
		t.Errorf("nodes %d nemesis %v", sc.Cluster.Nodes, sc.Chaos.Nemesis)
	}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	tg, err := sc.Cluster.LookupTarget()
	if err != nil {
		t.Fatal(err)
	}
	if tg.Name() != "raftkv-spec" || tg.DefaultVersion() != "local" {
		t.Errorf("name %q version %q", tg.Name(), tg.DefaultVersion())
	}
	if _, ok := tg.(targets.LeaderFinder); !ok {
		t.Errorf("the spec has a leader section but the target cannot find the leader")
	}
	want := []targets.Port{{Name: "client", Number: 8080}, {Name: "raft", Number: 7000}}
	if got := tg.Ports(); !reflect.DeepEqual(got, want) {
		t.Errorf("ports %v, want %v", got, want)
	}
}

// The spec renders the same command line as the built-in raftkv target.
func TestNodeArgs(t *testing.T) {
	peers := func(host func(i int) string, bind string) []targets.Peer {
		ps := make([]targets.Peer, 3)
		for i := range ps {
			ps[i] = targets.Peer{Name: []string{"n1", "n2", "n3"}[i], Host: host(i), Bind: bind,
				Ports: map[string]int{"client": 8080 + 10*i, "raft": 7000 + 10*i}, DataDir: "/data"}
		}
		return ps
	}
	docker := peers(func(i int) string { return []string{"n1", "n2", "n3"}[i] }, "")
	loop := peers(func(int) string { return "127.0.0.1" }, "127.0.0.1")
	got := newTarget(t, exampleSpec(t), spec.Config{}).Node(1, docker)
	want := targets.NodeSpec{Args: []string{"--id", "n2", "--peers", "n1=n1:7000:8080,n2=n2:7010:8090,n3=n3:7020:8100",
		"--raft", "0.0.0.0:7010", "--http", "0.0.0.0:8090", "--data", "/data"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("docker node 2:\n got %q\nwant %q", got.Args, want.Args)
	}
	bug := newTarget(t, exampleSpec(t), spec.Config{Options: map[string]string{"bug": "stale-reads"}}).Node(0, loop)
	want = targets.NodeSpec{Args: []string{"--id", "n1", "--peers", "n1=127.0.0.1:7000:8080,n2=127.0.0.1:7010:8090,n3=127.0.0.1:7020:8100",
		"--raft", "127.0.0.1:7000", "--http", "127.0.0.1:8080", "--data", "/data", "--bug=stale-reads"}}
	if !reflect.DeepEqual(bug, want) {
		t.Errorf("loopback node 1 with a bug:\n got %q\nwant %q", bug.Args, want.Args)
	}

	s := exampleSpec(t)
	s.Env = map[string]string{"NODE": "{{.Name}}-{{len .Peers}}", "STATIC": "yes"}
	ns := newTarget(t, s, spec.Config{}).Node(2, docker)
	if !reflect.DeepEqual(ns.Env, []string{"NODE=n3-3", "STATIC=yes"}) {
		t.Errorf("env %q", ns.Env)
	}
}

func TestRequests(t *testing.T) {
	cl, err := newTarget(t, exampleSpec(t), spec.Config{}).Client(targets.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		op     history.Event
		method string
		url    string
		body   string
	}{
		{history.Event{F: history.FRead, ID: 7, Key: "k1.2"}, "GET", "http://n:1/kv/k1.2?op=7", ""},
		{history.Event{F: history.FWrite, ID: 8, Key: "k/x y", Value: "8-ab"}, "PUT", "http://n:1/kv/k%2Fx%20y?op=8", "8-ab"},
		{history.Event{F: history.FCAS, ID: 9, Key: "k1", Value: "9", From: "a&b=c"}, "PUT", "http://n:1/kv/k1?if=a%26b%3Dc&op=9", "9"},
		{history.Event{F: history.FCAS, ID: 10, Key: "k1", Value: "10"}, "PUT", "http://n:1/kv/k1?if=&op=10", "10"},
	}
	for _, c := range cases {
		var vt vegeta.Target
		if err := targets.ForLoad(cl).Request(&c.op, "http://n:1/", &vt); err != nil {
			t.Fatalf("%s: %v", c.op.F, err)
		}
		if vt.Method != c.method || vt.URL != c.url || string(vt.Body) != c.body {
			t.Errorf("%s: %s %s %q, want %s %s %q", c.op.F, vt.Method, vt.URL, vt.Body, c.method, c.url, c.body)
		}
	}

	// Headers, bodies with JSON, options in request templates; and a spec
	// without cas refuses to build one.
	s := exampleSpec(t)
	s.Options["token"] = "t0"
	s.Requests.Write.Body = `{"key": {{json .Key}}, "value": {{json .Value}}, "b64": "{{base64 .Value}}"}`
	s.Requests.Write.Headers = map[string]string{"Content-Type": "application/json", "Authorization": "Bearer {{.Options.token}}", "X-Op": "{{.Op}}"}
	s.Requests.CAS = nil
	cl, _ = newTarget(t, s, spec.Config{Options: map[string]string{"token": "secret"}}).Client(targets.ClientConfig{})
	var vt vegeta.Target
	if err := targets.ForLoad(cl).Request(&history.Event{F: history.FWrite, ID: 3, Key: `k"1`, Value: "v"}, "http://n:1", &vt); err != nil {
		t.Fatal(err)
	}
	if string(vt.Body) != `{"key": "k\"1", "value": "v", "b64": "dg=="}` {
		t.Errorf("body %s", vt.Body)
	}
	if vt.Header.Get("Authorization") != "Bearer secret" || vt.Header.Get("Content-Type") != "application/json" || vt.Header.Get("X-Op") != "3" {
		t.Errorf("headers %v", vt.Header)
	}
	if err := targets.ForLoad(cl).Request(&history.Event{F: history.FCAS, ID: 4, Key: "k"}, "http://n:1", &vt); err == nil {
		t.Errorf("a spec without cas built a cas request")
	}
}

// The example's rules classify every response exactly as the built-in
// raftkv client (kvapi.Client) does.
func TestClassifyLikeKVAPI(t *testing.T) {
	cl, err := newTarget(t, exampleSpec(t), spec.Config{}).Client(targets.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var results []vegeta.Result
	for _, code := range []uint16{200, 201, 204, 301, 400, 404, 405, 408, 409, 412, 429, 500, 502, 503, 504} {
		results = append(results, vegeta.Result{Code: code, Body: []byte("17-abc")})
	}
	results = append(results,
		vegeta.Result{Error: "Put \"http://127.0.0.1:3/kv/k\": dial tcp 127.0.0.1:3: connect: connection refused"},
		vegeta.Result{Error: "Get \"http://127.0.0.1:3/kv/k\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
		vegeta.Result{Error: "read tcp: connection reset by peer"},
		vegeta.Result{Code: 200},
	)
	for _, f := range []string{history.FRead, history.FWrite, history.FCAS} {
		for _, res := range results {
			op := history.Event{F: f, ID: 1, Key: "k", Value: "1"}
			got, want := targets.ForLoad(cl).Classify(&op, &res), kvapi.Client{}.Classify(&op, &res)
			if got.Type != want.Type || got.Value != want.Value {
				t.Errorf("%s, status %d %q: %v %q, kvapi says %v %q", f, res.Code, res.Error, got.Type, got.Value, want.Type, want.Value)
			}
		}
	}
}

func TestClassifyRules(t *testing.T) {
	s := exampleSpec(t)
	var rules []spec.Rule
	if err := json.Unmarshal([]byte(`[
		{"status": 200, "json": "kvs", "outcome": "ok", "value": {"json": "kvs.0.value", "base64": true}},
		{"status": 200, "body_contains": "gone", "outcome": "absent"},
		{"status": [200, "203-204"], "json": "raw", "outcome": "ok", "value": {"json": "raw"}},
		{"status": "5xx", "json": "err.code", "equals": 14, "outcome": "fail"}
	]`), &rules); err != nil {
		t.Fatal(err)
	}
	s.Requests.Read.Responses = rules
	rules = nil
	if err := json.Unmarshal([]byte(`[
		{"status": 200, "json": "succeeded", "equals": true, "outcome": "ok"},
		{"status": 200, "outcome": "fail"}
	]`), &rules); err != nil {
		t.Fatal(err)
	}
	s.Requests.CAS.Responses = rules
	cl, _ := newTarget(t, s, spec.Config{}).Client(targets.ClientConfig{})
	cases := []struct {
		f    string
		code uint16
		body string
		typ  history.Type
		val  string
	}{
		{history.FRead, 200, `{"kvs":[{"key":"k","value":"MTctYWJj"}]}`, history.OK, "17-abc"},
		{history.FRead, 200, `{"header":{}, "note":"gone"}`, history.OK, ""},
		{history.FRead, 200, `{"header":{}}`, history.Fail, ""},                       // no rule matches: a read fails
		{history.FRead, 200, `{"kvs":[{"value":"%%%"}]}`, history.Fail, ""},           // not base64
		{history.FRead, 200, `{"kvs":[]}`, history.Fail, ""},                          // value field missing
		{history.FRead, 204, `{"raw": 12.50}`, history.OK, "12.50"},                   // numbers as written
		{history.FRead, 204, `{"raw": {"a": [1, "x"]}}`, history.OK, `{"a":[1,"x"]}`}, // JSON as JSON
		{history.FRead, 500, `{"err":{"code":14}}`, history.Fail, ""},
		{history.FCAS, 200, `{"succeeded":true}`, history.OK, ""},
		{history.FCAS, 200, `{"header":{}}`, history.Fail, ""},
		{history.FCAS, 200, `not json`, history.Fail, ""},
		{history.FCAS, 500, `{"err":{"code":14}}`, history.Info, ""}, // no rule: unknown outcome
	}
	for _, c := range cases {
		op := history.Event{F: c.f, ID: 1, Key: "k", Value: "1"}
		res := vegeta.Result{Code: c.code, Body: []byte(c.body)}
		got := targets.ForLoad(cl).Classify(&op, &res)
		if got.Type != c.typ || got.Value != c.val {
			t.Errorf("%s %d %s: %v %q (%s), want %v %q", c.f, c.code, c.body, got.Type, got.Value, got.Error, c.typ, c.val)
		}
		if got.Type != history.OK && got.Error == "" {
			t.Errorf("%s %d %s: %v without an error message", c.f, c.code, c.body, got.Type)
		}
	}
}

func TestCodes(t *testing.T) {
	var c spec.Codes
	if err := json.Unmarshal([]byte(`[404, "5xx", "200-204", "301"]`), &c); err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{404: true, 500: true, 599: true, 200: true, 204: true, 205: false, 301: true, 302: false, 403: false} {
		if c.Match(code) != want {
			t.Errorf("%d: match %v", code, !want)
		}
	}
	b, _ := json.Marshal(c)
	if string(b) != `["404","5xx","200-204","301"]` {
		t.Errorf("marshal: %s", b)
	}
	var again spec.Codes
	if err := json.Unmarshal(b, &again); err != nil || !reflect.DeepEqual(again, c) {
		t.Errorf("round trip: %v %v", again, err)
	}
	for _, bad := range []string{`"6xx"`, `"abc"`, `99`, `"300-200"`, `true`, `[200, "x"]`} {
		if err := json.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

// Bad specs are refused with one line that names the field.
func TestBadSpecs(t *testing.T) {
	dockerDir := t.TempDir()
	cases := []struct {
		name   string
		mutate func(s *spec.Spec, cfg *spec.Config)
		want   string
	}{
		{"no client port", func(s *spec.Spec, _ *spec.Config) { delete(s.Ports, "client") }, `ports: no "client" port`},
		{"bad port", func(s *spec.Spec, _ *spec.Config) { s.Ports["raft"] = 70000 }, "ports.raft: 70000 is not a TCP port"},
		{"same port twice", func(s *spec.Spec, _ *spec.Config) { s.Ports["raft"] = 8080 }, "is also ports."},
		{"port name", func(s *spec.Spec, _ *spec.Config) { s.Ports["Raft-Port"] = 1 }, `ports: name "Raft-Port"`},
		{"unknown field", func(s *spec.Spec, _ *spec.Config) { s.Args[1] = "{{.Nmae}}" }, `args[1] "{{.Nmae}}": at <.Nmae>: can't evaluate field Nmae`},
		{"unknown port in a template", func(s *spec.Spec, _ *spec.Config) { s.Args[5] = "{{.Ports.rpc}}" }, `args[5] "{{.Ports.rpc}}": at <.Ports.rpc>: map has no entry for key "rpc"`},
		{"unknown option in a template", func(s *spec.Spec, _ *spec.Config) { s.Args[0] = "{{.Options.mode}}" }, `map has no entry for key "mode"`},
		{"template does not parse", func(s *spec.Spec, _ *spec.Config) { s.Args[1] = "{{.Name" }, `args[1] "{{.Name": unclosed action`},
		{"unknown function", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read.Path = "/kv/{{urlencode .Key}}" }, `requests.read.path "/kv/{{urlencode .Key}}": function "urlencode" not defined`},
		{"bad field in a request", func(s *spec.Spec, _ *spec.Config) { s.Requests.Write.Body = "{{.Val}}" }, `requests.write.body "{{.Val}}": at <.Val>: can't evaluate field Val`},
		{"no read request", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read = nil }, "requests.read: missing"},
		{"no write request", func(s *spec.Spec, _ *spec.Config) { s.Requests.Write = nil }, "requests.write: missing"},
		{"write without method", func(s *spec.Spec, _ *spec.Config) { s.Requests.Write.Method = "" }, "requests.write.method: missing"},
		{"no responses", func(s *spec.Spec, _ *spec.Config) { s.Requests.CAS.Responses = nil }, "requests.cas.responses: missing"},
		{"read ok without value", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read.Responses[0].Value = nil }, "requests.read.responses[0]: outcome ok of a read needs value"},
		{"read info", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read.Responses[1].Outcome = "info" }, "requests.read.responses[1]: outcome info: a read changes nothing"},
		{"write absent", func(s *spec.Spec, _ *spec.Config) { s.Requests.Write.Responses[0].Outcome = "absent" }, "outcome absent is for reads"},
		{"bad outcome", func(s *spec.Spec, _ *spec.Config) { s.Requests.Write.Responses[0].Outcome = "maybe" }, `outcome "maybe"`},
		{"equals without json", func(s *spec.Spec, _ *spec.Config) { s.Requests.Write.Responses[0].Equals = json.RawMessage("true") }, "equals needs json"},
		{"fragment", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read.Path = "/kv/{{.Key}}#x" }, "fragment"},
		{"relative path", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read.Path = "kv/{{.Key}}" }, "want a path starting with /"},
		{"bad URL", func(s *spec.Spec, _ *spec.Config) { s.Requests.Read.Path = "/kv/{{.Key}}%zz" }, "not a URL"},
		{"health path", func(s *spec.Spec, _ *spec.Config) { s.Health.Path = "health" }, `health.path "health"`},
		{"leader half", func(s *spec.Spec, _ *spec.Config) { s.Leader.ID = "" }, "leader: give both fields"},
		{"name", func(s *spec.Spec, _ *spec.Config) { s.Name = "Raft KV" }, `name "Raft KV"`},
		{"two sources", func(s *spec.Spec, _ *spec.Config) { s.Source.Image = "kv:1" }, "source: give exactly one of"},
		{"no source", func(s *spec.Spec, _ *spec.Config) { s.Source = spec.Source{} }, "source: give exactly one of"},
		{"no Dockerfile", func(s *spec.Spec, _ *spec.Config) { s.Source = spec.Source{Dockerfile: dockerDir} }, "no Dockerfile in that directory"},
		{"version for an image", func(s *spec.Spec, _ *spec.Config) { s.Source = spec.Source{Image: "kv:1", Version: "v1"} }, "version and dir are for go packages only"},
		{"--version on local", func(_ *spec.Spec, c *spec.Config) { c.Version = "v1.2.3" }, `version "v1.2.3": source.version is local`},
		{"--version on an image", func(s *spec.Spec, c *spec.Config) { s.Source = spec.Source{Image: "kv:1"}; c.Version = "v2" }, "only a go source has versions"},
		{"unknown option", func(_ *spec.Spec, c *spec.Config) { c.Options = map[string]string{"bgu": "x"} }, `unknown target option "bgu" (known: bug`},
		{"value not among choices", func(_ *spec.Spec, c *spec.Config) { c.Options = map[string]string{"bug": "nosuch"} }, `target option bug="nosuch": want one of "", "stale-reads"`},
		{"default not among choices", func(s *spec.Spec, _ *spec.Config) { s.Options["bug"] = "typo" }, `options: default of bug="typo": want one of`},
		{"choices of no option", func(s *spec.Spec, _ *spec.Config) { s.Choices["mode"] = []string{"a"} }, "choices.mode: no such option"},
		{"missing dir", func(s *spec.Spec, _ *spec.Config) { s.Source.Dir = "/no/such/dir" }, "source.dir /no/such/dir: not a directory"},
	}
	for _, c := range cases {
		s, cfg := exampleSpec(t), spec.Config{Nodes: 3}
		c.mutate(&s, &cfg)
		_, err := spec.New(s, cfg)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %q, want one line containing %q", c.name, err, c.want)
		}
	}
}

// A template is tried on the cluster's real size: one that only breaks on a
// bigger cluster is caught for that cluster.
func TestTemplatesTriedOnTheClusterSize(t *testing.T) {
	s := exampleSpec(t)
	s.Args = append(s.Args, "--seed={{(index .Peers 4).Host}}")
	if _, err := spec.New(s, spec.Config{Nodes: 5}); err != nil {
		t.Fatalf("5 nodes: %v", err)
	}
	if _, err := spec.New(s, spec.Config{Nodes: 3}); err == nil || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("3 nodes: %v, want index out of range", err)
	}
}

// Values survive a round trip through scenario.json: a run can be repeated
// from its run directory.
func TestSpecRoundTrip(t *testing.T) {
	s := exampleSpec(t)
	s.Requests.Read.Responses = append(s.Requests.Read.Responses,
		spec.Rule{Status: spec.Codes{{Lo: 200, Hi: 299}}, JSON: "a.b", Equals: json.RawMessage(`"x"`), Outcome: "ok", Value: &spec.Value{JSON: "v", Base64: true}})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var again spec.Spec
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, s) {
		t.Errorf("round trip changed the spec:\n%s", b)
	}
}

// Health and leader requests against a real HTTP server.
func TestHealthAndLeader(t *testing.T) {
	status := map[string]string{}
	leading := ""
	var srvs []*httptest.Server
	for _, id := range []string{"a", "b", "c"} {
		srvs = append(srvs, httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/health":
				if status[id] == "" {
					http.Error(w, "no leader", http.StatusServiceUnavailable)
					return
				}
				w.Write([]byte("ok"))
			case "/status":
				json.NewEncoder(w).Encode(map[string]any{"node": map[string]string{"id": id}, "raft": map[string]string{"leader": status[id]}})
			case "/leader":
				if leading != id {
					w.WriteHeader(http.StatusMisdirectedRequest)
				}
			}
		})))
	}
	var bases []string
	for _, s := range srvs {
		defer s.Close()
		bases = append(bases, s.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}

	s := exampleSpec(t)
	s.Leader = &spec.Leader{Path: "/status", ID: "node.id", LeaderField: "raft.leader"}
	tg := newTarget(t, s, spec.Config{})
	if err := tg.Healthy(ctx, hc, bases[0]); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("healthy without a leader: %v", err)
	}
	status["a"], status["b"], status["c"] = "c", "c", ""
	if err := tg.Healthy(ctx, hc, bases[0]); err != nil {
		t.Errorf("healthy: %v", err)
	}
	if i, err := tg.Leader(ctx, hc, bases); err != nil || i != 2 {
		t.Errorf("leader by fields: %d %v, want 2", i, err)
	}
	status["a"], status["b"] = "", ""
	if i, err := tg.Leader(ctx, hc, bases); err == nil {
		t.Errorf("leader with nobody named: %d", i)
	}

	s.Leader = &spec.Leader{Path: "/leader", Status: spec.Codes{{Lo: 200, Hi: 200}}}
	tg = newTarget(t, s, spec.Config{})
	leading = "b"
	if i, err := tg.Leader(ctx, hc, bases); err != nil || i != 1 {
		t.Errorf("leader by status: %d %v, want 1", i, err)
	}
	leading = ""
	if _, err := tg.Leader(ctx, hc, bases[:1]); err == nil {
		t.Errorf("leader by status: nobody answers 200, yet a leader")
	}

	s.Leader = nil
	if _, err := newTarget(t, s, spec.Config{}).Leader(ctx, hc, bases); err == nil {
		t.Errorf("a spec without a leader section named a leader")
	}
}

// The scenario side: the spec names the target, a conflicting --target is
// refused, paths are relative to the file, a mix the spec cannot perform and
// an image on the local runtime are refused, all as configuration errors.
func TestScenarioWithSpec(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "img"), 0o755)
	os.WriteFile(filepath.Join(dir, "img", "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	file := filepath.Join(dir, "s.yaml")
	write := func(body string) {
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := `cluster:
  spec:
    name: kv
    source: {dockerfile: img}
    ports: {client: 80}
    health: {path: /}
    requests:
      read: {path: "/{{.Key}}", responses: [{status: 200, outcome: ok, value: body}]}
      write: {method: PUT, path: "/{{.Key}}", body: "{{.Value}}", responses: [{status: 200, outcome: ok}]}
`
	write(base)
	sc := scenario.Default()
	if _, err := scenario.LoadFile(file, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Cluster.Target != "kv" || sc.Cluster.Spec.Source.Dockerfile != filepath.Join(dir, "img") {
		t.Errorf("target %q dockerfile %q", sc.Cluster.Target, sc.Cluster.Spec.Source.Dockerfile)
	}
	sc.Load.Mix = "read:50,write:50"
	if _, err := bench.Prepare(sc); err != nil {
		t.Errorf("prepare: %v", err)
	}

	configErr := func(name string, sc scenario.Scenario, want string) {
		t.Helper()
		_, err := bench.Prepare(sc)
		var ce *scenario.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a configuration error containing %q", name, err, want)
		}
	}
	withMix := sc
	withMix.Load.Mix = "read:50,write:30,cas:20"
	configErr("cas in the mix", withMix, "target kv has no cas request")
	local := sc
	local.Cluster.Runtime = pick.Local
	configErr("image on local", local, "the local runtime cannot run")
	other := sc
	other.Cluster.Target = "etcd"
	configErr("--target beside a spec", other, "--target etcd: the scenario describes its own target, kv")
	builtin := sc
	s2 := *sc.Cluster.Spec
	s2.Name = "raftkv"
	builtin.Cluster.Spec, builtin.Cluster.Target = &s2, "raftkv"
	configErr("a built-in's name", builtin, `name "raftkv" is a built-in target`)
	readMode := sc
	readMode.Load.ReadMode = "serializable"
	configErr("read mode", readMode, "one read request")

	// A file naming the same target as its spec is fine; another is not.
	write(strings.Replace(base, "cluster:\n", "cluster:\n  target: other\n", 1))
	sc = scenario.Default()
	if _, err := scenario.LoadFile(file, &sc); err != nil {
		t.Fatal(err)
	}
	configErr("file target beside a spec", sc, "the scenario describes its own target")

	// Unknown keys in a spec are refused when the file is read.
	write(strings.Replace(base, "ports:", "prots: {client: 1}\n    ports:", 1))
	sc = scenario.Default()
	if _, err := scenario.LoadFile(file, &sc); err == nil || !strings.Contains(err.Error(), "cluster.spec.prots (line 5): unknown key") {
		t.Errorf("unknown spec key: %v", err)
	}
}
