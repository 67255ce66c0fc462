package history

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	events := []Event{
		{Time: 1, Type: Invoke, Process: 3, F: FWrite, ID: 7, Key: "k1", Value: "v-7", Node: "n1"},
		{Time: 2, Type: Info, Process: 3, F: FWrite, ID: 7, Key: "k1", Error: "503 \"unavailable\"\n<x>&\x01\u2028\xff"},
		{Time: 3, Type: OK, Process: 4, F: FRead, ID: 8, Key: "ключ", Final: true},
		{Time: 4, Type: Invoke, Process: Nemesis, F: FStart, ID: 1,
			Fault: &Fault{Kind: "partition", Nodes: []string{"n1"}, Links: []string{"n1->n2"}, Detail: "isolate", ApplyNanos: 12}},
	}
	for _, e := range events {
		want, err := json.Marshal(wire(e))
		if err != nil {
			t.Fatal(err)
		}
		got := AppendJSON(nil, &e)
		if !bytes.Equal(got, want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
		var back Event
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		if !strings.Contains(e.Error, "\xff") && !reflect.DeepEqual(back, e) {
			t.Errorf("round trip: got %+v want %+v", back, e)
		}
	}
}

// wire is Event as encoding/json would write it field by field, with "value"
// holding Value as a JSON string or Data as it is: the reference AppendJSON
// must match byte for byte.
func wire(e Event) any {
	w := struct {
		Time     int64           `json:"time"`
		Type     Type            `json:"type"`
		Process  Process         `json:"process"`
		F        string          `json:"f"`
		ID       uint64          `json:"id"`
		Key      string          `json:"key,omitempty"`
		Value    json.RawMessage `json:"value,omitempty"`
		From     string          `json:"from,omitempty"`
		Node     string          `json:"node,omitempty"`
		Error    string          `json:"error,omitempty"`
		Fault    *Fault          `json:"fault,omitempty"`
		Final    bool            `json:"final,omitempty"`
		Intended int64           `json:"intended,omitempty"`
		Version  json.RawMessage `json:"version,omitempty"`
	}{e.Time, e.Type, e.Process, e.F, e.ID, e.Key, nil, e.From, e.Node, e.Error, e.Fault, e.Final, e.Intended, e.Version}
	switch {
	case len(e.Data) > 0:
		w.Value = e.Data
	case e.Value != "":
		w.Value, _ = json.Marshal(e.Value)
	}
	return w
}

// A workload's value may be any JSON value, on invoke and completion alike,
// with an optional system-reported version; wave-1 lines (a string value)
// still decode as before.
func TestGeneralValuesRoundTrip(t *testing.T) {
	events := []Event{
		{Time: 1, Type: Invoke, Process: 1, F: "txn", ID: 2, Data: json.RawMessage(`[["append","k3",7],["r","k4",null]]`)},
		{Time: 2, Type: OK, Process: 1, F: "txn", ID: 2, Data: json.RawMessage(`[["append","k3",7],["r","k4",[1,2]]]`),
			Version: json.RawMessage(`{"rev":12,"mod":10}`)},
		{Time: 3, Type: OK, Process: 1, F: "dequeue", ID: 3, Data: json.RawMessage(`7`), Version: json.RawMessage(`41`)},
		{Time: 4, Type: OK, Process: 1, F: FRead, ID: 4, Key: "k", Value: "[not data]"},
	}
	for _, e := range events {
		got := AppendJSON(nil, &e)
		want, _ := json.Marshal(wire(e))
		if !bytes.Equal(got, want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
		var back Event
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("round trip: got %+v want %+v", back, e)
		}
	}
	// Not compact, or not JSON at all: still one line.
	e := Event{Type: OK, F: "x", Data: json.RawMessage("[1,\n 2]"), Version: json.RawMessage("nope\n")}
	line := AppendJSON(nil, &e)
	if bytes.IndexByte(line, '\n') >= 0 || !json.Valid(line) {
		t.Fatalf("not one valid line: %q", line)
	}
	ops := Operations([]Event{events[0], events[1]})
	if len(ops) != 1 || string(ops[0].Data) != string(events[1].Data) || string(ops[0].Version) != `{"rev":12,"mod":10}` {
		t.Fatalf("op %+v", ops)
	}
	info := Operations([]Event{events[0], {Time: 5, Type: Info, Process: 1, F: "txn", ID: 2}})
	if string(info[0].Data) != string(events[0].Data) {
		t.Fatalf("an info completion keeps the invoke's value: %+v", info[0])
	}
}

func TestWriterStreamsAndReadTolerateTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ {
		w.Append(Event{Time: int64(i), Type: Invoke, Process: Process(i % 5), F: FRead, ID: uint64(i), Key: "k"})
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Append(Event{}) // after Close: dropped, no panic
	evs, torn, err := ReadFile(path)
	if err != nil || torn || len(evs) != 1000 {
		t.Fatalf("read back %d events, torn=%v, err=%v", len(evs), torn, err)
	}
	// A crash mid-line leaves a torn last line: it is skipped, not fatal.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"time":5,"type":"ok","proc`)
	f.Close()
	evs, torn, err = ReadFile(path)
	if err != nil || !torn || len(evs) != 1000 {
		t.Fatalf("torn file: %d events, torn=%v, err=%v", len(evs), torn, err)
	}
}

func TestOperationsAndFaults(t *testing.T) {
	evs := []Event{
		{Time: 0, Type: Invoke, Process: 0, F: FWrite, ID: 1, Key: "a", Value: "1"},
		{Time: 1, Type: Invoke, Process: Nemesis, F: FStart, ID: 9, Fault: &Fault{Kind: "partition"}},
		{Time: 2, Type: Invoke, Process: 1, F: FRead, ID: 2, Key: "a"},
		{Time: 3, Type: OK, Process: 0, F: FWrite, ID: 1, Key: "a", Value: "1"},
		{Time: 4, Type: OK, Process: 1, F: FRead, ID: 2, Key: "a", Value: "1"},
		{Time: 5, Type: Invoke, Process: 2, F: FWrite, ID: 3, Key: "a", Value: "2"},
		{Time: 5, Type: Invoke, Process: Nemesis, F: FStop, ID: 9},
		{Time: 6, Type: OK, Process: Nemesis, F: FStop, ID: 9, Fault: &Fault{Kind: "partition"}},
		{Time: 7, Type: Invoke, Process: Nemesis, F: FStart, ID: 10, Fault: &Fault{Kind: "kill"}},
		{Time: 8, Type: Fail, Process: Nemesis, F: FStart, ID: 10, Error: "no such node"},
	}
	ops := Operations(evs)
	if len(ops) != 3 { // nemesis events are not operations
		t.Fatalf("got %d ops", len(ops))
	}
	if ops[1].Value != "1" || ops[1].Type != OK || ops[1].Return != 4 {
		t.Errorf("read op: %+v", ops[1])
	}
	if ops[2].Type != Info || ops[2].Return != -1 {
		t.Errorf("unfinished op must be info with no return: %+v", ops[2])
	}
	ws := Faults(evs)
	if len(ws) != 1 || ws[0].Start != 1 || ws[0].End != 6 || ws[0].Kind != "partition" {
		t.Errorf("windows: %+v", ws)
	}
}
