package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// elsewhereClient builds requests to its node for the first operations
// only, then to another host: what a template like
// {{if gt .Op 2}}@192.0.2.1{{end}}/kv renders.
type elsewhereClient struct{ elsewhere string }

func (c elsewhereClient) Request(op *history.Event, base string, t *vegeta.Target) error {
	if op.ID > 2 {
		base = c.elsewhere
	}
	t.Method, t.URL = http.MethodGet, base+"/kv/"+op.Key+"?op="+strconv.FormatUint(op.ID, 10)
	return nil
}

func (elsewhereClient) Classify(op *history.Event, res *vegeta.Result) targets.Outcome {
	if res.Code == 200 {
		return targets.Outcome{Type: history.OK}
	}
	return targets.Outcome{Type: history.Fail, Error: res.Error}
}

func securityLoad(t *testing.T, c targets.Client, base string) (Stats, error) {
	t.Helper()
	rec, err := history.Create(filepath.Join(t.TempDir(), "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	w, err := register.NewKeyed(register.KeyedConfig{Kind: register.KindRegister, Slots: 4, OpsPerKey: 100, KeyConcurrency: 1, Mix: register.DefaultMix(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	pacer, _ := ParseRate("50", time.Second)
	l := &Load{Client: c, Nodes: []Node{testNode{name: "n1", base: base}}, Workload: w, Rec: rec, Pacer: pacer,
		Duration: time.Second, MaxInFlight: 4, Timeout: 2 * time.Second}
	return l.Run(context.Background())
}

func counter(t *testing.T) (*atomic.Int64, *httptest.Server) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	t.Cleanup(srv.Close)
	return &n, srv
}

// A request that would go elsewhere than its node is refused when it is
// built, on every request, and stops the load with an error.
func TestLoadRefusesARequestToAnotherHost(t *testing.T) {
	node, nodeSrv := counter(t)
	evil, evilSrv := counter(t)
	_, err := securityLoad(t, targets.HTTP(elsewhereClient{elsewhere: evilSrv.URL}), nodeSrv.URL)
	if err == nil || !strings.Contains(err.Error(), "not to its node") {
		t.Errorf("load: %v, want the request to another host refused", err)
	}
	if evil.Load() != 0 {
		t.Errorf("%d requests reached the other host", evil.Load())
	}
	if node.Load() > 2 {
		t.Errorf("%d requests reached the node, want at most the first two", node.Load())
	}
}

// HTTP_PROXY in the environment changes nothing: vegeta's own transport
// sent every request to the proxy. The node is addressed as 0.0.0.0 (the
// local host on Linux), which Go, unlike a loopback name, would proxy.
func TestLoadIgnoresProxyVariables(t *testing.T) {
	node, nodeSrv := counter(t)
	proxied, proxySrv := counter(t)
	for _, k := range []string{"HTTP_PROXY", "http_proxy"} {
		t.Setenv(k, proxySrv.URL)
	}
	_, port, _ := net.SplitHostPort(nodeSrv.Listener.Addr().String())
	if _, err := securityLoad(t, targets.HTTP(nodeOnly{}), "http://0.0.0.0:"+port); err != nil {
		t.Fatal(err)
	}
	if proxied.Load() != 0 || node.Load() == 0 {
		t.Errorf("the proxy saw %d requests, the node %d", proxied.Load(), node.Load())
	}
}

// nodeOnly sends every request to its node.
type nodeOnly struct{}

func (nodeOnly) Request(op *history.Event, base string, t *vegeta.Target) error {
	t.Method, t.URL = http.MethodGet, base+"/kv/"+op.Key+"?op="+strconv.FormatUint(op.ID, 10)
	return nil
}

func (nodeOnly) Classify(op *history.Event, res *vegeta.Result) targets.Outcome {
	return elsewhereClient{}.Classify(op, res)
}
