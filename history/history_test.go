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
		want, err := json.Marshal(e)
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
