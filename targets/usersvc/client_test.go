package usersvc

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/faultline/faultline/bench/workload/bank"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/httpx"
)

func TestOptions(t *testing.T) {
	for _, o := range []map[string]string{{"bug": "lost-updates"}, {"isolation": "x"}} {
		if _, err := New(o); err == nil {
			t.Errorf("%v accepted", o)
		}
	}
	tg, err := New(map[string]string{"bug": "non-transactional"})
	if err != nil {
		t.Fatal(err)
	}
	peers := []targets.Peer{
		{Name: "n1", Host: "n1", Ports: map[string]int{"client": 8080}, DataDir: "/data"},
		{Name: "n2", Host: "n2", Ports: map[string]int{"client": 8080}, DataDir: "/data"},
	}
	if a := strings.Join(tg.Node(0, peers).Args, " "); !strings.HasPrefix(a, "db /data 8080") {
		t.Errorf("n1: %s", a)
	}
	if a := strings.Join(tg.Node(1, peers).Args, " "); !strings.Contains(a, "@n1:8080/") || !strings.Contains(a, "-mode non-transactional") {
		t.Errorf("n2: %s", a)
	}
}

// The client against an HTTP server answering as the service would: the
// status codes map to ok / fail / info, a read's balances are its data,
// and an operation aimed at the database node goes to a service replica.
func TestClientOutcomes(t *testing.T) {
	status := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/health":
			w.WriteHeader(200)
		case "/balances":
			w.WriteHeader(status["read"])
			io.WriteString(w, `{"a0":3,"a1":17}`)
		case "/users", "/transfers":
			var v map[string]any
			if json.Unmarshal(body, &v) != nil {
				w.WriteHeader(400)
				return
			}
			w.WriteHeader(status["write"])
			io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	c := &client{roles: &roles{of: map[string]role{"http://db:1": roleDB}}, hc: httpx.NewClient(0)}
	if err := c.Setup(context.Background(), []string{srv.URL}); err != nil {
		t.Fatal(err)
	}
	transfer := &history.Event{F: bank.FTransfer, Data: json.RawMessage(`{"from":"a0","to":"a1","amount":2}`)}
	init := &history.Event{F: bank.FInit, Data: json.RawMessage(`{"accounts":["a0","a1"],"balance":10}`)}
	read := &history.Event{F: bank.FRead}
	for _, c2 := range []struct {
		op          *history.Event
		read, write int
		want        history.Type
	}{
		{transfer, 200, 200, history.OK},
		{transfer, 200, 409, history.Fail},
		{transfer, 200, 404, history.Fail},
		{transfer, 200, 503, history.Info},
		{init, 200, 200, history.OK},
		{init, 200, 503, history.Info},
		{read, 200, 200, history.OK},
		{read, 503, 200, history.Fail},
	} {
		status["read"], status["write"] = c2.read, c2.write
		for _, base := range []string{srv.URL, "http://db:1"} {
			o := c.Do(context.Background(), c2.op, base)
			if o.Type != c2.want {
				t.Errorf("%s via %s (read %d write %d): %s %s, want %s", c2.op.F, base, c2.read, c2.write, o.Type, o.Error, c2.want)
			}
			if c2.op == read && o.Type == history.OK && string(o.Data) != `{"a0":3,"a1":17}` {
				t.Errorf("read data %s", o.Data)
			}
		}
	}
	// Nothing listens: refused, certainly not performed.
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	c.roles.of[url] = roleService
	if o := c.Do(context.Background(), transfer, url); o.Type != history.Fail {
		t.Errorf("refused transfer: %s %s", o.Type, o.Error)
	}
}
