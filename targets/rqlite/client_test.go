package rqlite

import (
	"net/http"
	"strings"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

func TestOptions(t *testing.T) {
	for _, m := range []string{Strong, Linearizable, Weak, None} {
		if _, err := New(map[string]string{"read-mode": m}); err != nil {
			t.Errorf("read-mode=%s: %v", m, err)
		}
	}
	for _, o := range []map[string]string{{"read-mode": "eventual"}, {"isolation": "x"}} {
		if _, err := New(o); err == nil {
			t.Errorf("%v accepted", o)
		}
	}
	tg, _ := New(map[string]string{"read-mode": None})
	if _, err := tg.Client(targets.ClientConfig{ReadMode: Strong}); err == nil {
		t.Error("a --read-mode contradicting the target option was accepted")
	}
	c, err := tg.Client(targets.ClientConfig{Final: true})
	if err != nil || c.(*setupClient).client.level != Strong {
		t.Errorf("the final client must read at strong: %v", err)
	}
}

func TestRequest(t *testing.T) {
	c := &client{level: None}
	var vt vegeta.Target
	for _, c2 := range []struct {
		op         history.Event
		path, body string
	}{
		{history.Event{ID: 7, F: history.FRead, Key: "k1"}, "/db/query?level=none&op=7", `[["SELECT v FROM regs WHERE k = ?","k1"]]`},
		{history.Event{ID: 8, F: history.FWrite, Key: "k1", Value: "v\"1"}, "/db/execute?op=8", `[["INSERT OR REPLACE INTO regs (k, v) VALUES (?, ?)","k1","v\"1"]]`},
		{history.Event{ID: 9, F: history.FCAS, Key: "k1", From: "a", Value: "b"}, "/db/execute?op=9", `[["UPDATE regs SET v = ? WHERE k = ? AND v = ?","b","k1","a"]]`},
		{history.Event{ID: 10, F: history.FCAS, Key: "k1", Value: "b"}, "/db/execute?op=10", `[["INSERT OR IGNORE INTO regs (k, v) VALUES (?, ?)","k1","b"]]`},
	} {
		if err := c.Request(&c2.op, "http://127.0.0.1:1", &vt); err != nil {
			t.Fatal(err)
		}
		if vt.URL != "http://127.0.0.1:1"+c2.path || string(vt.Body) != c2.body {
			t.Errorf("%s: %s %s, want %s %s", c2.op.F, vt.URL, vt.Body, c2.path, c2.body)
		}
	}
}

func TestClassify(t *testing.T) {
	c := &client{level: Strong}
	read := &history.Event{F: history.FRead}
	cas := &history.Event{F: history.FCAS, From: "a"}
	write := &history.Event{F: history.FWrite}
	for _, c2 := range []struct {
		name string
		op   *history.Event
		res  vegeta.Result
		want history.Type
		val  string
	}{
		{"read value", read, vegeta.Result{Code: 200, Body: []byte(`{"results":[{"columns":["v"],"types":["text"],"values":[["x1"]]}],"time":0.1}`)}, history.OK, "x1"},
		{"read no row", read, vegeta.Result{Code: 200, Body: []byte(`{"results":[{"columns":["v"],"types":["text"]}]}`)}, history.OK, ""},
		{"read error in result", read, vegeta.Result{Code: 200, Body: []byte(`{"results":[{"error":"no such table: regs"}]}`)}, history.Fail, ""},
		{"read 503", read, vegeta.Result{Code: 503, Body: []byte(`leader not found`)}, history.Fail, ""},
		{"cas applied", cas, vegeta.Result{Code: 200, Body: []byte(`{"results":[{"last_insert_id":1,"rows_affected":1}]}`)}, history.OK, ""},
		{"cas compare failed", cas, vegeta.Result{Code: 200, Body: []byte(`{"results":[{}]}`)}, history.Fail, ""},
		{"write statement error", write, vegeta.Result{Code: 200, Body: []byte(`{"results":[{"error":"constraint failed"}]}`)}, history.Fail, ""},
		{"write timeout", write, vegeta.Result{Code: 0, Error: "context deadline exceeded"}, history.Info, ""},
		{"write refused", write, vegeta.Result{Code: 0, Error: "dial tcp: connect: connection refused"}, history.Fail, ""},
		{"write 503", write, vegeta.Result{Code: http.StatusServiceUnavailable, Body: []byte("leadership lost")}, history.Info, ""},
		{"write 400", write, vegeta.Result{Code: 400, Body: []byte("bad")}, history.Fail, ""},
		{"write garbage 200", write, vegeta.Result{Code: 200, Body: []byte("<html>")}, history.Info, ""},
	} {
		o := c.Classify(c2.op, &c2.res)
		if o.Type != c2.want || o.Value != c2.val {
			t.Errorf("%s: %s %q (%s), want %s %q", c2.name, o.Type, o.Value, o.Error, c2.want, c2.val)
		}
	}
}

func TestNode(t *testing.T) {
	peers := []targets.Peer{
		{Name: "n1", Host: "n1", Ports: map[string]int{"client": 4001, "raft": 4002}, DataDir: "/data"},
		{Name: "n2", Host: "n2", Ports: map[string]int{"client": 4001, "raft": 4002}, DataDir: "/data"},
	}
	args := strings.Join((&Target{}).Node(1, peers).Args, " ")
	for _, want := range []string{"-node-id n2", "-http-adv-addr n2:4001", "-raft-adv-addr n2:4002", "-bootstrap-expect 2", "-join n1:4002,n2:4002", "/data"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
}
