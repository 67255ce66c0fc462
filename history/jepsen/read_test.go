package jepsen_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/history/jepsen"
)

func read(t *testing.T, in string, opts ...jepsen.Option) ([]history.Event, jepsen.Workload, jepsen.Stats) {
	t.Helper()
	var st jepsen.Stats
	events, w, err := jepsen.Read(strings.NewReader(in), append(opts, jepsen.WithStats(&st))...)
	if err != nil {
		t.Fatalf("%v\n%s", err, in)
	}
	return events, w, st
}

func readErr(t *testing.T, in string, opts ...jepsen.Option) error {
	t.Helper()
	_, _, err := jepsen.Read(strings.NewReader(in), opts...)
	if err == nil {
		t.Fatalf("no error for\n%s", in)
	}
	return err
}

// A jepsen.independent cas-register history.edn, with a partition.
const independentEDN = `{:index 0, :time 1000, :type :invoke, :process 0, :f :write, :value [3 1]}
{:index 1, :time 1500, :type :invoke, :process :nemesis, :f :start, :value nil}
{:index 2, :time 2000, :type :ok, :process 0, :f :write, :value [3 1]}
{:index 3, :time 2500, :type :info, :process :nemesis, :f :start, :value [:isolated {"n1" #{"n2" "n3"}}]}
{:index 4, :time 3000, :type :invoke, :process 1, :f :cas, :value [3 [1 2]]}
{:index 5, :time 3500, :type :invoke, :process 2, :f :read, :value [4 nil]}
{:index 6, :time 4000, :type :ok, :process 2, :f :read, :value [4 nil]}
{:index 7, :time 4500, :type :info, :process 1, :f :cas, :value [3 [1 2]], :error :timeout}
{:index 8, :time 5000, :type :info, :process :nemesis, :f :stop, :value nil}
{:index 9, :time 5500, :type :info, :process :nemesis, :f :stop, :value :network-healed}
{:index 10, :time 6000, :type :invoke, :process 6, :f :read, :value [3 nil]}
{:index 11, :time 6500, :type :ok, :process 6, :f :read, :value [3 2]}
{:index 12, :time 7000, :type :info, :process :nemesis, :f :kill, :value :n1}
{:index 13, :time 7500, :type :info, :process :nemesis, :f :kill, :value :killed}
{:index 14, :time 8000, :type :info, :process :nemesis, :f :join, :value :n1}
{:index 15, :time 8500, :type :info, :process :nemesis, :f :join, :value :joined}
{:index 16, :time 9000, :type :info, :process :nemesis, :f :start, :value :all}
{:index 17, :time 9500, :type :info, :process :nemesis, :f :start, :value :restarted}
`

func TestReadIndependentRegister(t *testing.T) {
	events, w, st := read(t, independentEDN)
	if w != jepsen.Register || st.Format != jepsen.FormatEDN || st.Clock != "time" || st.Keys != 2 || st.Ops != 4 {
		t.Fatalf("workload %s, stats %+v", w, st)
	}
	if st.FaultWindows != 2 || st.NemesisDropped != 1 {
		t.Fatalf("fault windows %d, dropped %d; want 2 (start/stop, kill/start) and 1 (the join)", st.FaultWindows, st.NemesisDropped)
	}
	ops := history.Operations(events)
	if len(ops) != 4 {
		t.Fatalf("%d ops: %+v", len(ops), ops)
	}
	want := []history.Op{
		{F: "write", Key: "3", Value: "1", Type: history.OK, Call: 1000, Return: 2000},
		{F: "cas", Key: "3", From: "1", Value: "2", Type: history.Info, Call: 3000, Return: 4500, Error: ":timeout"},
		{F: "read", Key: "4", Value: "", Type: history.OK, Call: 3500, Return: 4000},
		{F: "read", Key: "3", Value: "2", Type: history.OK, Call: 6000, Return: 6500},
	}
	for i, o := range ops {
		w := want[i]
		if o.F != w.F || o.Key != w.Key || o.Value != w.Value || o.From != w.From || o.Type != w.Type || o.Call != w.Call || o.Return != w.Return || o.Error != w.Error {
			t.Errorf("op %d: got %+v, want %+v", i, o, w)
		}
	}
	if got, want := st.String(), "edn history, register workload: 4 operations over 2 keys, times from time, 2 fault windows, 1 other nemesis ops left out"; got != want {
		t.Errorf("stats: %q, want %q", got, want)
	}
	wins := history.Faults(events)
	if len(wins) != 2 || wins[0].Start != 1500 || wins[0].End != 5500 || wins[0].Kind != "nemesis" ||
		wins[1].Start != 7000 || wins[1].End != 9500 || wins[1].Kind != "kill" {
		t.Fatalf("fault windows %+v", wins)
	}
	if d := wins[0].Fault.Detail; d != `[:isolated {"n1" #{"n2" "n3"}}]` {
		t.Errorf("fault detail %q", d)
	}
	// Events survive the history.jsonl encoding.
	for _, e := range events {
		b, _ := json.Marshal(e)
		var back history.Event
		if err := json.Unmarshal(b, &back); err != nil || back.Key != e.Key || back.Value != e.Value || back.Time != e.Time {
			t.Fatalf("round trip of %s: %+v, %v", b, back, err)
		}
	}
}

// Knossos histories: one list of op maps, no index and no time, a read
// invocation carrying a value (ignored), comments between ops.
func TestReadKnossosList(t *testing.T) {
	in := `; a comment
([{:process 4, :type :invoke, :f :write, :value 2}]
 {:process 4, :type :ok, :f :write, :value 2}
 ; a read whose invocation carries a value
 {:process 14, :type :invoke, :f :read, :value 4}
 {:process 14, :type :ok, :f :read, :value 2})`
	if err := readErr(t, in); !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a vector inside the list: %v (want line 2)", err)
	}
	in = strings.Replace(in, "[{:process 4, :type :invoke, :f :write, :value 2}]", "{:process 4, :type :invoke, :f :write, :value 2}", 1)
	events, w, st := read(t, in)
	if w != jepsen.Register || st.Clock != "order" || st.Keys != 1 {
		t.Fatalf("%s %+v", w, st)
	}
	ops := history.Operations(events)
	if len(ops) != 2 || ops[0].Key != jepsen.SingleKey || ops[1].Value != "2" || ops[1].Call <= ops[0].Return {
		t.Fatalf("ops %+v", ops)
	}
}

func TestReadJSONListAppend(t *testing.T) {
	in := `[{"index":0,"time":10,"process":0,"type":"invoke","f":"txn","value":[["append","x",1],["r","y",null]]},
 {"index":1,"time":10,"process":0,"type":"ok","f":"txn","value":[["append","x",1],["r","y",[1,2]]]},
 {"index":2,"time":5,"process":"nemesis","type":"info","f":"start-partition","value":"majority"},
 {"index":3,"time":20,"process":1,"type":"invoke","f":"txn","value":[["r",7,null]]},
 {"index":4,"time":30,"process":1,"type":"fail","f":"txn","value":[["r",7,null]],"error":"aborted"},
 {"index":5,"time":40,"process":"nemesis","type":"info","f":"start-partition","value":["isolated","n1"]},
 {"index":6,"time":50,"process":"nemesis","type":"info","f":"stop-partition","value":null},
 {"index":7,"time":60,"process":"nemesis","type":"info","f":"stop-partition","value":"healed"}]`
	events, w, st := read(t, in)
	if w != jepsen.ListAppend || st.Format != jepsen.FormatJSON || st.Ops != 2 || st.Keys != 3 {
		t.Fatalf("%s %+v", w, st)
	}
	// Equal and backward times are moved 1 ns on: real-time order is the
	// order of the events.
	if st.Bumped != 2 {
		t.Errorf("bumped %d, want 2", st.Bumped)
	}
	for i := 1; i < len(events); i++ {
		if events[i].Time <= events[i-1].Time {
			t.Fatalf("event %d at %d after %d", i, events[i].Time, events[i-1].Time)
		}
	}
	ops := history.Operations(events)
	if got := string(ops[0].Data); got != `[["append","x",1],["r","y",[1,2]]]` {
		t.Errorf("txn data %s", got)
	}
	if got := string(ops[1].Data); got != `[["r","7",null]]` || ops[1].Type != history.Fail || ops[1].Error != "aborted" {
		t.Errorf("failed txn %+v", ops[1])
	}
	wins := history.Faults(events)
	if len(wins) != 1 || wins[0].Kind != "partition" || wins[0].Fault.Detail != `[isolated n1]` && wins[0].Fault.Detail != `["isolated" "n1"]` {
		t.Fatalf("windows %+v", wins)
	}
}

func TestReadRWRegisterAndOverride(t *testing.T) {
	in := `{:type :invoke, :process 0, :f :txn, :value [[:w :x 1] [:r :y nil]]}
{:type :ok, :process 0, :f :txn, :value [[:w :x 1] [:r :y 2]]}
`
	events, w, _ := read(t, in)
	if w != jepsen.RWRegister {
		t.Fatalf("workload %s", w)
	}
	if got := string(history.Operations(events)[0].Data); got != `[["w","x",1],["r","y",2]]` {
		t.Fatalf("data %s", got)
	}
	// Only reads of nothing: list-append by default, rw-register on request.
	reads := `{:type :invoke, :process 0, :f :txn, :value [[:r 1 nil]]}
{:type :ok, :process 0, :f :txn, :value [[:r 1 nil]]}`
	if _, w, _ := read(t, reads); w != jepsen.ListAppend {
		t.Fatalf("reads only: %s", w)
	}
	if _, w, _ := read(t, reads, jepsen.WithWorkload(jepsen.RWRegister)); w != jepsen.RWRegister {
		t.Fatalf("override: %s", w)
	}
	if err := readErr(t, in, jepsen.WithWorkload(jepsen.Register)); !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a txn read as a register: %v", err)
	}
	if err := readErr(t, in, jepsen.WithWorkload(jepsen.ListAppend)); !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "list-append") {
		t.Fatalf("a w read as list-append: %v", err)
	}
}

// Completed ops with no invocation (as some of Elle's tests write them) get
// one just before.
func TestReadUnpaired(t *testing.T) {
	in := `{:type :ok, :process 0, :value [[:append :k 1]]}
{:type :ok, :process 1, :value [[:r :k [1]]]}`
	events, _, st := read(t, in)
	ops := history.Operations(events)
	if st.Unpaired != 2 || len(ops) != 2 || ops[0].Type != history.OK || ops[1].Type != history.OK || ops[0].Return >= ops[1].Call {
		t.Fatalf("stats %+v, ops %+v", st, ops)
	}
}

// jepsen.log lines, tab or space separated, among other log lines.
func TestReadLog(t *testing.T) {
	in := "2017-01-01 INFO  jepsen.core - Running test\n" +
		"INFO  jepsen.util - 0\t:invoke\t:read\tnil\n" +
		"INFO  jepsen.util - :nemesis\t:info\t:start\tnil\n" +
		"INFO  jepsen.util - 1  :invoke :cas    [1 4]\n" +
		"INFO  jepsen.util - 0\t:ok\t:read\t3\n" +
		"INFO  jepsen.util - :nemesis\t:info\t:start\tCut off {:n1 #{:n2}} and more text (\n" +
		"INFO  jepsen.util - 1  :info   :cas    :timed-out\n" +
		"INFO  jepsen.util - 2\t:invoke\t:read\tnil\n" +
		"INFO  jepsen.util - 2\t:fail\t:read\t:timed-out\n"
	events, w, st := read(t, in)
	if w != jepsen.Register || st.Format != jepsen.FormatLog || st.Ops != 3 {
		t.Fatalf("%s %+v", w, st)
	}
	ops := history.Operations(events)
	if ops[0].Value != "3" || ops[1].F != "cas" || ops[1].From != "1" || ops[1].Value != "4" || ops[1].Type != history.Info || ops[1].Error != ":timed-out" || ops[2].Type != history.Fail {
		t.Fatalf("ops %+v", ops)
	}
	// The nemesis start whose completion is free text: its invocation
	// opens a window, the text line is dropped.
	if st.NemesisDropped != 1 || len(history.Faults(events)) != 1 {
		t.Fatalf("stats %+v, windows %+v", st, history.Faults(events))
	}
	if err := readErr(t, "INFO  jepsen.util - 0\t:invoke\t:read\t[1\n"); !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a torn log line: %v", err)
	}
}

// Newer jepsen.log lines carry a timestamp: ops get their time from it.
func TestReadTimedLog(t *testing.T) {
	in := "INFO [2019-04-01 11:25:23,791] jepsen test runner - jepsen.core Relative time begins now\n" +
		"INFO [2019-04-01 11:25:23,791] jepsen worker 1 - jepsen.util 1\t:invoke\t:read\t[0 nil]\n" +
		"INFO [2019-04-01 11:25:23,794] jepsen worker 1 - jepsen.util 1\t:ok\t:read\t[0 2]\n" +
		"INFO [2019-04-01 11:25:24,038] jepsen worker 0 - jepsen.util 0\t:invoke\t:cas\t[0 [4 0]]\n" +
		"INFO [2019-04-01 11:25:24,038] jepsen worker 0 - jepsen.util 0\t:fail\t:cas\t[0 [4 0]]\n"
	events, w, st := read(t, in, jepsen.WithWorkload(jepsen.Register))
	if w != jepsen.Register || st.Clock != "time" || st.Bumped != 1 {
		t.Fatalf("%s %+v", w, st)
	}
	ops := history.Operations(events)
	if len(ops) != 2 || ops[0].Value != "2" || ops[0].Call != 0 || ops[0].Return != 3_000_000 || ops[1].Call != 247_000_000 || ops[1].Key != "0" || ops[1].From != "4" {
		t.Fatalf("ops %+v", ops)
	}
}

// Errors name the line of the op that cannot be read.
func TestReadErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"{:type :invoke, :f :read, :value nil}\n{:type :okay, :f :read}", "line 2: :type :okay"},
		{"{:type :invoke, :f :read}\n\n{:f :read}", "line 3: op has no :type"},
		{"{:type :invoke, :f :cas, :value 3}", "line 1: :cas value 3: want [from to]"},
		{"{:type :invoke, :f :add, :value 3}", "line 1: operation :f :add"},
		{"{:type :invoke, :process \"p\", :f :read}", `line 1: :process "p"`},
		{"{:type :invoke, :f :read, :time 1.5}", "line 1: :time 1.5"},
		{"[{:type :invoke, :f :txn, :value [[:append 1 2]]}\n {:type :ok, :f :txn, :value [[:append 1 :two]]}]", "line 2: micro-operation"},
		{"{:type :invoke, :f :txn, :value [[:append 1 2]]}\n{:type :invoke, :f :txn, :value [[:w 1 2]]}", "line 2: a rw-register operation in a list-append history"},
		{"{:type :invoke, :f :write, :value [1 2]}\n{:type :invoke, :f :write, :value 3}", "line 2: value 3"},
		{"{:type :invoke :f}", "line 1: map with an odd number"},
		{"[{\"type\":\"invoke\",\"f\":\"read\"},\n {\"type\": invoke}]", "line 2"},
		{"[{\"type\":\"invoke\",\"f\":\"read\"}", "unexpected end of JSON"},
		{"{\"type\":\"invoke\",\"f\":\"read\"}\n[1]", "line 2: want an op object"},
		{"17", "line 1: want an op map"},
		// Jepsen's bank and long-fork reads are not register reads.
		{"{:type :invoke, :f :read, :process 0}\n{:type :ok, :f :read, :process 0, :value {0 10, 1 10}}", "line 2: :read value {0 10, 1 10}: not a register's value"},
		{"{:type :invoke, :f :read, :value [[:r 0 nil] [:r 1 nil] [:r 2 nil]]}\n{:type :ok, :f :read, :value [[:r 0 1] [:r 1 1] [:r 2 nil]]}", "line 2: :read value"},
		{"{:type :invoke, :f :write, :value #{1}}", "line 1: :write value #{1}"},
		{"{:type :invoke, :f :transfer, :value {:from 1}}", "line 1: operation :f :transfer: not a cas-register"},
	} {
		err := readErr(t, c.in)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %q, want %q", c.in, err, c.want)
		}
	}
}

func TestParseNames(t *testing.T) {
	for in, want := range map[string]jepsen.Workload{"cas-register": jepsen.Register, "list-append": jepsen.ListAppend, "rw-register": jepsen.RWRegister, "": jepsen.WorkloadAuto} {
		if w, err := jepsen.ParseWorkload(in); err != nil || w != want {
			t.Errorf("ParseWorkload(%q) = %q, %v", in, w, err)
		}
	}
	if _, err := jepsen.ParseWorkload("bank"); err == nil {
		t.Error("ParseWorkload(bank): no error")
	}
	for in, want := range map[string]jepsen.Format{"edn": jepsen.FormatEDN, "json": jepsen.FormatJSON, "log": jepsen.FormatLog, "auto": jepsen.FormatAuto} {
		if f, err := jepsen.ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, f, err)
		}
	}
}

// Jepsen 0.3 writes ops as records: #jepsen.history.Op{...}.
func TestReadTaggedOps(t *testing.T) {
	in := `#jepsen.history.Op{:index 0, :time 12, :type :invoke, :process 0, :f :txn, :value [[:append 9 1] [:r 8 nil]]}
#jepsen.history.Op{:index 1, :time 20, :type :info, :process :nemesis, :f :start-partition, :value :majority} ; comment
#_ {:ignored true}
#jepsen.history.Op{:index 2, :time 30, :type :ok, :process 0, :f :txn, :value [[:append 9 1] [:r 8 [3]]], :error nil}
`
	events, w, st := read(t, in)
	ops := history.Operations(events)
	if w != jepsen.ListAppend || len(ops) != 1 || string(ops[0].Data) != `[["append","9",1],["r","8",[3]]]` || st.FaultWindows != 1 {
		t.Fatalf("%s %+v %+v", w, st, ops)
	}
}
