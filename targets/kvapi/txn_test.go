package kvapi

import (
	"encoding/json"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/faultline/faultline/history"
)

func mops(t *testing.T, s string) []Mop {
	t.Helper()
	var m []Mop
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestApplyTxn(t *testing.T) {
	data := map[string]string{}
	out, err := ApplyTxn(mops(t, `[["r","a",null],["append","a",1],["append","a",2],["r","a",null],["w","b",5],["r","b",null],["r",7,null]]`), data)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(out)
	if want := `[["r","a",null],["append","a",1],["append","a",2],["r","a",[1,2]],["w","b",5],["r","b",5],["r","7",null]]`; string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Failing half way (append to a register) changes nothing.
	if _, err := ApplyTxn(mops(t, `[["append","a",3],["append","b",1]]`), data); err == nil {
		t.Fatal("append to a register accepted")
	}
	if data["a"] != "[1,2]" || data["b"] != "5" {
		t.Fatalf("a failed transaction changed the data: %v", data)
	}
	for _, bad := range []string{`[["x","a",1]]`, `[["w","a",null]]`} {
		if _, err := ApplyTxn(mops(t, bad), data); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestClassifyTxn(t *testing.T) {
	w := history.Event{F: FTxn, Data: json.RawMessage(`[["append","a",1],["r","b",null]]`)}
	r := history.Event{F: FTxn, Data: json.RawMessage(`[["r","b",null]]`)}
	for _, c := range []struct {
		op   history.Event
		res  vegeta.Result
		want history.Type
	}{
		{w, vegeta.Result{Code: 200, Body: []byte("[[\"append\",\"a\",1],[\"r\",\"b\",[3]]]\n")}, history.OK},
		{w, vegeta.Result{Code: 200, Body: []byte(`[[`)}, history.Info},
		{w, vegeta.Result{Code: 400}, history.Fail},
		{w, vegeta.Result{Code: 504}, history.Info},
		{w, vegeta.Result{Error: "dial tcp: connection refused"}, history.Fail},
		{w, vegeta.Result{Error: "timeout"}, history.Info},
		{r, vegeta.Result{Code: 504}, history.Fail},
	} {
		out := Client{}.Classify(&c.op, &c.res)
		if out.Type != c.want {
			t.Errorf("%s -> %d %q: got %s (%s), want %s", c.op.Data, c.res.Code, c.res.Error, out.Type, out.Error, c.want)
		}
		if out.Type == history.OK && string(out.Data) != `[["append","a",1],["r","b",[3]]]` {
			t.Errorf("data %s", out.Data)
		}
	}
}
