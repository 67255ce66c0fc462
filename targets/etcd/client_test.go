package etcd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startEtcd runs one real etcd member as a child process on 127.0.0.1 (the
// binary is built once and cached, as for every run) and returns its client
// endpoint.
func startEtcd(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	art, err := New().Prepare(ctx, "", targets.PrepareOptions{Log: t.Logf})
	if err != nil {
		t.Fatalf("build etcd: %v", err)
	}
	cp, pp := freePort(t), freePort(t)
	spec := New().Node(0, []targets.Peer{{Name: "e1", Host: "127.0.0.1", Bind: "127.0.0.1",
		Ports: map[string]int{targets.ClientPort: cp, "peer": pp}, DataDir: filepath.Join(t.TempDir(), "data")}})
	cmd := exec.Command(art.Binary, spec.Args...)
	logf, _ := os.Create(filepath.Join(t.TempDir(), "etcd.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", cp)
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := New().Healthy(ctx, hc, base); err == nil {
			return base
		} else if time.Now().After(deadline) {
			t.Fatalf("etcd never became healthy: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// once is a pacer of one hit, sent at once.
type once struct{}

func (once) Pace(_ time.Duration, hits uint64) (time.Duration, bool) { return 0, hits >= 1 }
func (once) Rate(time.Duration) float64                              { return 0 }

// do sends op through the client exactly as the load does: the request is
// built by Request and sent and timed by vegeta's Attacker, the result is
// classified by Classify.
func do(t *testing.T, c targets.Client, base string, op history.Event) targets.Outcome {
	t.Helper()
	var tgt vegeta.Target
	if err := targets.ForLoad(c).Request(&op, base, &tgt); err != nil {
		t.Fatal(err)
	}
	atk := vegeta.NewAttacker(vegeta.Timeout(5 * time.Second))
	var res *vegeta.Result
	for r := range atk.Attack(vegeta.NewStaticTargeter(tgt), once{}, 0, "t") {
		res = r
	}
	if res == nil {
		t.Fatal("no result")
	}
	return targets.ForLoad(c).Classify(&op, res)
}

// The client's read, write and compare-and-set against a real etcd: the JSON
// gateway's encoding (/v3/kv/range, /put, /txn) and the outcomes.
func TestClientAgainstRealEtcd(t *testing.T) {
	base := startEtcd(t)
	for _, mode := range []string{Linearizable, Serializable} {
		c, err := New().Client(targets.ClientConfig{ReadMode: mode})
		if err != nil {
			t.Fatal(err)
		}
		k := "k-" + mode
		steps := []struct {
			op   history.Event
			want history.Type
			val  string
		}{
			{history.Event{ID: 1, F: history.FRead, Key: k}, history.OK, ""},
			{history.Event{ID: 2, F: history.FCAS, Key: k, From: "x", Value: "2"}, history.Fail, ""},
			{history.Event{ID: 3, F: history.FCAS, Key: k, From: "", Value: "3"}, history.OK, ""},   // from absent
			{history.Event{ID: 4, F: history.FCAS, Key: k, From: "", Value: "4"}, history.Fail, ""}, // no longer absent
			{history.Event{ID: 5, F: history.FRead, Key: k}, history.OK, "3"},
			{history.Event{ID: 6, F: history.FWrite, Key: k, Value: "6 \"quoted\" \u00e9"}, history.OK, ""},
			{history.Event{ID: 7, F: history.FRead, Key: k}, history.OK, "6 \"quoted\" \u00e9"},
			{history.Event{ID: 8, F: history.FCAS, Key: k, From: "6 \"quoted\" \u00e9", Value: "8"}, history.OK, ""},
			{history.Event{ID: 9, F: history.FCAS, Key: k, From: "6 \"quoted\" \u00e9", Value: "9"}, history.Fail, ""},
			{history.Event{ID: 10, F: history.FRead, Key: k}, history.OK, "8"},
		}
		for _, s := range steps {
			out := do(t, c, base, s.op)
			if out.Type != s.want || out.Value != s.val {
				t.Errorf("%s: %s %s from %q to %q: got %s %q (%s), want %s %q",
					mode, s.op.F, s.op.Key, s.op.From, s.op.Value, out.Type, out.Value, out.Error, s.want, s.val)
			}
		}
	}
	// A request that cannot be sent at all is certainly not applied.
	c, _ := New().Client(targets.ClientConfig{})
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	if out := do(t, c, dead, history.Event{ID: 11, F: history.FWrite, Key: "k", Value: "11"}); out.Type != history.Fail {
		t.Errorf("write to a closed port: %s (%s), want fail", out.Type, out.Error)
	}
}

func TestClassify(t *testing.T) {
	c := &client{}
	for _, x := range []struct {
		f    string
		res  vegeta.Result
		want history.Type
		val  string
	}{
		{history.FRead, vegeta.Result{Code: 200, Body: []byte(`{"header":{"revision":"3"}, "kvs":[{"key":"aw==", "create_revision":"2", "value":"MTIz"}], "count":"1"}`)}, history.OK, "123"},
		{history.FRead, vegeta.Result{Code: 200, Body: []byte(`{"header":{"revision":"3"},"count":"0"}`)}, history.OK, ""},
		{history.FRead, vegeta.Result{Code: 200, Body: []byte(`{"header" : {}, "kvs" : [ {"key" : "aw==", "value" : "MTIz" } ] }`)}, history.OK, "123"},
		{history.FRead, vegeta.Result{Code: 200, Body: []byte(`{"kvs":[{"key":"aw==","value":"MT\u0049z"}]}`)}, history.OK, "123"}, // escaped: slow path
		{history.FRead, vegeta.Result{Code: 200, Body: []byte(`not json`)}, history.Fail, ""},
		{history.FRead, vegeta.Result{Code: 503, Error: "503 Service Unavailable"}, history.Fail, ""},
		{history.FWrite, vegeta.Result{Code: 200, Body: []byte(`{"header":{}}`)}, history.OK, ""},
		{history.FWrite, vegeta.Result{Code: 503}, history.Info, ""},
		{history.FWrite, vegeta.Result{Code: 400}, history.Fail, ""},
		{history.FWrite, vegeta.Result{Code: 408}, history.Info, ""},
		{history.FWrite, vegeta.Result{Error: "Post ...: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}, history.Info, ""},
		{history.FWrite, vegeta.Result{Error: "dial tcp 127.0.0.1:1: connect: connection refused"}, history.Fail, ""},
		{history.FCAS, vegeta.Result{Code: 200, Body: []byte(`{"header":{}, "succeeded":true, "responses":[]}`)}, history.OK, ""},
		{history.FCAS, vegeta.Result{Code: 200, Body: []byte(`{"header":{}, "succeeded" : false}`)}, history.Fail, ""},
		{history.FCAS, vegeta.Result{Code: 200, Body: []byte(`{"header":{}}`)}, history.Fail, ""},
		{history.FCAS, vegeta.Result{Code: 200, Body: []byte(`{"header":`)}, history.Info, ""},
	} {
		op := history.Event{F: x.f, Key: "k"}
		out := c.Classify(&op, &x.res)
		if out.Type != x.want || out.Value != x.val {
			t.Errorf("%s %d %q %q: got %s %q (%s), want %s %q", x.f, x.res.Code, x.res.Error, x.res.Body, out.Type, out.Value, out.Error, x.want, x.val)
		}
	}
}
