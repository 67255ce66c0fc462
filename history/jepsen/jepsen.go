// Package jepsen reads histories written by Jepsen and its checkers (Knossos,
// Elle, elle-cli) and turns them into Faultline events, so that a history
// Jepsen checked can be checked again by Faultline's checkers and the
// verdicts compared.
//
// Three formats: EDN (history.edn: one op map per line, or one vector of op
// maps; Knossos' and Elle's test histories), JSON (history.json: an array of
// op objects, or one per line) and jepsen.log's "jepsen.util - PROCESS TYPE F
// VALUE" lines (porcupine's test data). Three workloads: cas-register (:read,
// :write, :cas [from to], optionally keyed by jepsen.independent's [k v]
// tuples), list-append and rw-register (:txn with [[:append k v] [:r k
// [...]]] or [[:w k v] [:r k v]]). Import writes a run directory that
// faultline.Check checks with the workload's checkers.
package jepsen

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/faultline/faultline/bench/workload/txn"
	"github.com/faultline/faultline/history"
)

// Workload is the data model of a history, named as Faultline's workloads
// are (scenario.json's load.workload): it picks the checkers.
type Workload string

const (
	// WorkloadAuto tells the workload from the operations.
	WorkloadAuto Workload = ""
	// Register is Knossos' cas-register: :read, :write, :cas.
	Register Workload = "register"
	// ListAppend is Elle's list-append.
	ListAppend Workload = "list-append"
	// RWRegister is Elle's rw-register.
	RWRegister Workload = "rw-register"
)

// ParseWorkload accepts cas-register (or register), list-append (or
// append) and rw-register (or wr-register), and auto or "".
func ParseWorkload(s string) (Workload, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return WorkloadAuto, nil
	case "cas-register", "register":
		return Register, nil
	case "list-append", "append":
		return ListAppend, nil
	case "rw-register", "wr-register":
		return RWRegister, nil
	}
	return "", fmt.Errorf("jepsen workload %q: want cas-register, list-append or rw-register", s)
}

// SingleKey is the key of a register history that jepsen.independent did
// not split into keys.
const SingleKey = "r"

// Stats says what reading a history did.
type Stats struct {
	Format   Format
	Workload Workload
	// Ops are client operations (invocations); Events every event written.
	Ops    int
	Events int
	Keys   int
	// Clock is what event times come from: "time" (the ops' :time, in
	// ns), "index" or "order" (a synthetic clock, 1 ns per event, when the
	// ops carry no time), and Bumped counts the events moved 1 ns later
	// than recorded so that real-time order follows the order of events
	// (ties, or times out of order).
	Clock  string
	Bumped int
	// Unpaired counts completions with no invocation before them; each
	// was given one just before it.
	Unpaired int
	// FaultWindows counts nemesis :start/:stop pairs turned into fault
	// windows; NemesisDropped the other nemesis ops (and stops with
	// nothing to stop), left out.
	FaultWindows   int
	NemesisDropped int
}

// String is one line for a user: what was read and how.
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s history, %s workload: %d operations over %d keys, times from %s", s.Format, s.Workload, s.Ops, s.Keys, s.Clock)
	if s.Clock != "time" {
		b.WriteString(" (a synthetic 1 ns clock)")
	}
	if s.Bumped > 0 {
		fmt.Fprintf(&b, ", %d moved 1 ns to keep the order of events", s.Bumped)
	}
	if s.Unpaired > 0 {
		fmt.Fprintf(&b, ", %d completions given an invocation", s.Unpaired)
	}
	fmt.Fprintf(&b, ", %d fault windows", s.FaultWindows)
	if s.NemesisDropped > 0 {
		fmt.Fprintf(&b, ", %d other nemesis ops left out", s.NemesisDropped)
	}
	return b.String()
}

// Option configures Read and Import.
type Option func(*config)

type config struct {
	format      Format
	workload    Workload
	consistency string
	stats       *Stats
	name        string
}

// WithFormat fixes the format instead of telling it from the input.
func WithFormat(f Format) Option { return func(c *config) { c.format = f } }

// WithWorkload fixes the workload instead of telling it from the operations.
func WithWorkload(w Workload) Option { return func(c *config) { c.workload = w } }

// WithConsistency is, for Import, the model the transactional checkers hold
// the history to (scenario.json's check.consistency; Elle's default,
// strict-serializable, when empty).
func WithConsistency(model string) Option { return func(c *config) { c.consistency = model } }

// WithStats receives what reading did.
func WithStats(s *Stats) Option { return func(c *config) { c.stats = s } }

// WithName is, for Import, the run's name in scenario.json (default: the
// source file's name).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// Read reads a Jepsen history and returns its events, in order, and its
// workload. An error names the line of the op that cannot be read.
func Read(r io.Reader, opts ...Option) ([]history.Event, Workload, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	st := cfg.stats
	if st == nil {
		st = &Stats{}
	}
	*st = Stats{}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, "", fmt.Errorf("read history: %w", err)
	}
	format := cfg.format
	if format == FormatAuto {
		format = detect(b)
	}
	st.Format = format
	var raw []rawOp
	switch format {
	case FormatEDN:
		raw, err = readEDN(b)
	case FormatJSON:
		raw, err = readJSON(b)
	case FormatLog:
		raw, err = readLog(b, &st.NemesisDropped)
	default:
		return nil, "", fmt.Errorf("history format %q: want edn, json or log", format)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s history: %w", format, err)
	}
	ops, err := parseOps(raw)
	if err != nil {
		return nil, "", err
	}
	w := cfg.workload
	if w == WorkloadAuto {
		if w, err = detectWorkload(ops); err != nil {
			return nil, "", err
		}
	}
	st.Workload = w
	ops = pair(ops, st)
	clock(ops, st)
	events, err := convert(ops, w, st)
	if err != nil {
		return nil, "", err
	}
	return events, w, nil
}

// op is an op map, checked.
type op struct {
	line    int
	process history.Process
	typ     history.Type
	f       string
	value   any
	err     any
	hasErr  bool
	time    int64
	hasTime bool
	index   int64
	hasIdx  bool
	// at is the event time given by clock.
	at int64
}

func (o *op) nemesis() bool { return o.process == history.Nemesis }

func opErr(line int, format string, args ...any) error {
	return fmt.Errorf("line %d: %s", line, fmt.Sprintf(format, args...))
}

func parseOps(raw []rawOp) ([]op, error) {
	ops := make([]op, 0, len(raw))
	for _, r := range raw {
		o := op{line: r.line}
		t, ok := r.m.Get("type")
		if !ok {
			return nil, opErr(r.line, "op has no :type")
		}
		switch name(t) {
		case "invoke":
			o.typ = history.Invoke
		case "ok":
			o.typ = history.OK
		case "fail":
			o.typ = history.Fail
		case "info":
			o.typ = history.Info
		default:
			return nil, opErr(r.line, ":type %s: want :invoke, :ok, :fail or :info", String(t))
		}
		if p, ok := r.m.Get("process"); ok {
			switch x := p.(type) {
			case int64:
				if x < 0 || x > 1<<40 {
					return nil, opErr(r.line, ":process %d: out of range", x)
				}
				o.process = history.Process(x)
			case nil:
			default:
				if name(x) != "nemesis" {
					return nil, opErr(r.line, ":process %s: want an integer or :nemesis", String(p))
				}
				o.process = history.Nemesis
			}
		}
		// No :process (Elle's hand-written histories): one process, as
		// Jepsen reads a nil process.
		if f, ok := r.m.Get("f"); ok && f != nil {
			if o.f = name(f); o.f == "" {
				return nil, opErr(r.line, ":f %s: want a keyword", String(f))
			}
		}
		o.value, _ = r.m.Get("value")
		o.err, o.hasErr = r.m.Get("error")
		if v, ok := r.m.Get("time"); ok && v != nil {
			n, isInt := v.(int64)
			if !isInt {
				return nil, opErr(r.line, ":time %s: want an integer (nanoseconds)", String(v))
			}
			o.time, o.hasTime = n, true
		}
		if v, ok := r.m.Get("index"); ok && v != nil {
			n, isInt := v.(int64)
			if !isInt {
				return nil, opErr(r.line, ":index %s: want an integer", String(v))
			}
			o.index, o.hasIdx = n, true
		}
		ops = append(ops, o)
	}
	// Jepsen's order is the index's, when every op has one.
	all := len(ops) > 0
	for i := range ops {
		all = all && ops[i].hasIdx
	}
	if all {
		slices.SortStableFunc(ops, func(a, b op) int { return compareInt(a.index, b.index) })
	}
	return ops, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pair gives a completion with no invocation before it (histories of
// completed ops only, as some of Elle's tests write them) an invocation
// just before it, with the same value.
func pair(ops []op, st *Stats) []op {
	open := map[history.Process]bool{}
	res := make([]op, 0, len(ops))
	for _, o := range ops {
		if !o.nemesis() {
			switch {
			case o.typ == history.Invoke:
				open[o.process] = true
			case open[o.process]:
				delete(open, o.process)
			default:
				inv := o
				inv.typ, inv.hasErr = history.Invoke, false
				res = append(res, inv)
				st.Unpaired++
			}
		}
		res = append(res, o)
	}
	return res
}

// clock sets each op's event time: its :time when every op has one, else
// its :index, else its position; then strictly increasing, so that
// real-time order is the order of the events, as Jepsen's is.
func clock(ops []op, st *Stats) {
	hasTime, hasIdx := len(ops) > 0, len(ops) > 0
	for i := range ops {
		hasTime = hasTime && ops[i].hasTime
		hasIdx = hasIdx && ops[i].hasIdx
	}
	switch {
	case hasTime:
		st.Clock = "time"
	case hasIdx:
		st.Clock = "index"
	default:
		st.Clock = "order"
	}
	var last int64 = -1
	for i := range ops {
		var t int64
		switch st.Clock {
		case "time":
			t = ops[i].time
		case "index":
			t = ops[i].index
		default:
			t = int64(i)
		}
		if t <= last {
			if st.Clock != "order" {
				st.Bumped++
			}
			t = last + 1
		}
		ops[i].at, last = t, t
	}
}

// isTxn says whether v is a list of micro-operations [f k v].
func isTxn(v any) bool {
	mops, ok := v.([]any)
	if !ok {
		return false
	}
	for _, m := range mops {
		mv, ok := m.([]any)
		if !ok || len(mv) != 3 {
			return false
		}
		switch name(mv[0]) {
		case "append", "r", "w":
		default:
			return false
		}
	}
	return true
}

func detectWorkload(ops []op) (Workload, error) {
	var w Workload
	var wLine int
	set := func(to Workload, line int) error {
		if w != WorkloadAuto && w != to {
			return opErr(line, "a %s operation in a %s history (line %d): pass the workload explicitly", to, w, wLine)
		}
		if w == WorkloadAuto {
			w, wLine = to, line
		}
		return nil
	}
	sawTxn := 0
	for i := range ops {
		o := &ops[i]
		if o.nemesis() {
			continue
		}
		switch {
		case o.f == "txn" || o.f == "" && isTxn(o.value):
			if !isTxn(o.value) {
				if o.typ == history.Invoke || o.typ == history.OK {
					return "", opErr(o.line, ":txn value %s: want micro-operations [[:append k v] [:r k nil] ...]", clip(String(o.value)))
				}
				continue
			}
			sawTxn = o.line
			for _, m := range o.value.([]any) {
				mv := m.([]any)
				switch name(mv[0]) {
				case "append":
					if err := set(ListAppend, o.line); err != nil {
						return "", err
					}
				case "w":
					if err := set(RWRegister, o.line); err != nil {
						return "", err
					}
				case "r":
					switch mv[2].(type) {
					case []any:
						if err := set(ListAppend, o.line); err != nil {
							return "", err
						}
					case int64:
						if err := set(RWRegister, o.line); err != nil {
							return "", err
						}
					}
				}
			}
		case o.f == "read" || o.f == "write" || o.f == "cas":
			if err := set(Register, o.line); err != nil {
				return "", err
			}
		default:
			return "", opErr(o.line, "operation :f %s: not a cas-register (:read, :write, :cas) or transaction (:txn) operation", showF(o.f))
		}
	}
	if w == WorkloadAuto {
		if sawTxn > 0 {
			// Only reads of nothing: either model reads it the same.
			return ListAppend, nil
		}
		return "", fmt.Errorf("the history has no client operations to tell its workload from")
	}
	return w, nil
}

func showF(f string) string {
	if f == "" {
		return "(none)"
	}
	return ":" + f
}

// convert turns ops into events.
func convert(ops []op, w Workload, st *Stats) ([]history.Event, error) {
	c := converter{w: w, st: st, pending: map[history.Process]*pendingOp{}, open: map[string][]uint64{}, keys: map[string]bool{}}
	if w == Register {
		if err := c.keyed(ops); err != nil {
			return nil, err
		}
	}
	events := make([]history.Event, 0, len(ops))
	for i := range ops {
		o := &ops[i]
		var err error
		if o.nemesis() {
			events = c.nemesis(events, o)
			continue
		}
		switch w {
		case Register:
			events, err = c.register(events, o)
		case ListAppend, RWRegister:
			events, err = c.txn(events, o)
		default:
			return nil, fmt.Errorf("jepsen workload %q: want register, list-append or rw-register", w)
		}
		if err != nil {
			return nil, err
		}
	}
	events = c.closeNemesis(events)
	st.Events = len(events)
	st.Keys = len(c.keys)
	return events, nil
}

type pendingOp struct {
	id    uint64
	key   string
	value string
	from  string
	data  json.RawMessage
}

type converter struct {
	w       Workload
	st      *Stats
	nextID  uint64
	pending map[history.Process]*pendingOp
	// independent: register values are jepsen.independent [k v] tuples.
	independent bool
	keys        map[string]bool
	// The nemesis: its op waiting for a completion, and the fault windows
	// open by kind.
	nemOp            *op
	nemID            uint64
	nemWhat, nemKind string
	open             map[string][]uint64
	// stopping are the windows the pending stop closes.
	stopping []uint64
}

func (c *converter) id() uint64 { c.nextID++; return c.nextID }

func tuple(v any) ([]any, bool) {
	t, ok := v.([]any)
	return t, ok && len(t) == 2
}

// keyed tells whether register ops carry jepsen.independent's [k v]
// tuples: a read invoked with [k nil], a write of [k v], a cas of [k [a
// b]]. Every op must agree.
func (c *converter) keyed(ops []op) error {
	decided, firstLine := false, 0
	for i := range ops {
		o := &ops[i]
		if o.nemesis() || o.typ != history.Invoke {
			continue
		}
		var is bool
		switch o.f {
		case history.FRead, history.FWrite:
			// Knossos' reads may carry a value on the invocation (ignored);
			// only a tuple says "keyed".
			_, is = tuple(o.value)
		case history.FCAS:
			if t, ok := tuple(o.value); ok {
				_, is = tuple(t[1])
			}
		default:
			return opErr(o.line, "operation :f %s in a cas-register history: want :read, :write or :cas", showF(o.f))
		}
		if !decided {
			decided, firstLine, c.independent = true, o.line, is
			continue
		}
		if is != c.independent {
			was, is := "not keyed", "is"
			if c.independent {
				was, is = "keyed by a jepsen.independent tuple [k v]", "is not"
			}
			return opErr(o.line, "value %s: the op of line %d was %s, this one %s", clip(String(o.value)), firstLine, was, is)
		}
	}
	return nil
}

// scalar says whether v can be a register's value.
func scalar(v any) bool {
	switch v.(type) {
	case nil, int64, float64, string, Keyword, Symbol, bool, Char:
		return true
	}
	return false
}

func notRegister(o *op, v any) error {
	return opErr(o.line, ":%s value %s: not a register's value (nil, a number, a string); Faultline imports cas-register, list-append and rw-register histories", o.f, clip(String(v)))
}

// regValue is a register value as Faultline writes it: "" for nil (the
// register's initial, absent value), integers in decimal, strings as they
// are, anything else as EDN.
func regValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case string:
		return x
	}
	return String(v)
}

// keyName is a key as Faultline names keys: integers in decimal, keywords
// without the colon, strings as they are.
func keyName(v any) string {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case Keyword:
		return string(x)
	case string:
		return x
	}
	return String(v)
}

func errText(o *op) string {
	if o.hasErr && o.err != nil {
		if s, ok := o.err.(string); ok {
			return s
		}
		if l, ok := o.err.([]any); ok && len(l) == 1 {
			return String(l[0])
		}
		return String(o.err)
	}
	if o.typ != history.OK {
		if k, ok := o.value.(Keyword); ok {
			return ":" + string(k)
		}
	}
	return ""
}

func (c *converter) register(events []history.Event, o *op) ([]history.Event, error) {
	if o.f != history.FRead && o.f != history.FWrite && o.f != history.FCAS {
		return nil, opErr(o.line, "operation :f %s in a cas-register history: want :read, :write or :cas", showF(o.f))
	}
	e := history.Event{Time: o.at, Type: o.typ, Process: o.process, F: o.f}
	if o.typ == history.Invoke {
		c.st.Ops++
		p := &pendingOp{id: c.id(), key: SingleKey}
		v := o.value
		if c.independent {
			t, ok := tuple(v)
			if !ok {
				return nil, opErr(o.line, "value %s: want a jepsen.independent tuple [key value]", clip(String(v)))
			}
			p.key, v = keyName(t[0]), t[1]
		}
		switch o.f {
		case history.FWrite:
			if !scalar(v) {
				return nil, notRegister(o, v)
			}
			p.value = regValue(v)
		case history.FCAS:
			t, ok := tuple(v)
			if !ok || !scalar(t[0]) || !scalar(t[1]) {
				return nil, opErr(o.line, ":cas value %s: want [from to]", clip(String(v)))
			}
			p.from, p.value = regValue(t[0]), regValue(t[1])
		}
		c.pending[o.process] = p
		c.keys[p.key] = true
		e.ID, e.Key, e.Value, e.From = p.id, p.key, p.value, p.from
		return append(events, e), nil
	}
	p := c.pending[o.process]
	delete(c.pending, o.process)
	e.ID, e.Key, e.Value, e.From, e.Error = p.id, p.key, p.value, p.from, errText(o)
	if o.f == history.FRead {
		e.Value = ""
		if o.typ == history.OK {
			v := o.value
			if c.independent {
				t, ok := tuple(v)
				if !ok {
					return nil, opErr(o.line, "read value %s: want a jepsen.independent tuple [key value]", clip(String(v)))
				}
				v = t[1]
			}
			if !scalar(v) {
				return nil, notRegister(o, v)
			}
			e.Value = regValue(v)
		}
	}
	return append(events, e), nil
}

func (c *converter) txn(events []history.Event, o *op) ([]history.Event, error) {
	if o.f != "txn" && o.f != "" {
		return nil, opErr(o.line, "operation :f %s in a %s history: want :txn", showF(o.f), c.w)
	}
	e := history.Event{Time: o.at, Type: o.typ, Process: o.process, F: txn.F}
	var data json.RawMessage
	if isTxn(o.value) {
		var err error
		if data, err = c.mops(o); err != nil {
			return nil, err
		}
	} else if o.typ == history.Invoke || o.typ == history.OK {
		return nil, opErr(o.line, "value %s: want micro-operations [[:append k v] [:r k nil] ...]", clip(String(o.value)))
	}
	if o.typ == history.Invoke {
		c.st.Ops++
		p := &pendingOp{id: c.id(), data: data}
		c.pending[o.process] = p
		e.ID, e.Data = p.id, data
		return append(events, e), nil
	}
	p := c.pending[o.process]
	delete(c.pending, o.process)
	// A completion without micro-operations (an :info :timed-out) keeps
	// the invocation's.
	e.ID, e.Data, e.Error = p.id, data, errText(o)
	return append(events, e), nil
}

// mops renders micro-operations in Faultline's shape (txn.Decode reads
// it): [["append","k",1],["r","k",[1,2]]], keys as strings, values
// integers.
func (c *converter) mops(o *op) (json.RawMessage, error) {
	raw := o.value.([]any)
	b := make([]byte, 0, 16*len(raw))
	b = append(b, '[')
	for i, m := range raw {
		mv := m.([]any)
		f := name(mv[0])
		switch {
		case f == "append" && c.w != ListAppend, f == "w" && c.w != RWRegister:
			return nil, opErr(o.line, "micro-operation %s in a %s history", String(m), c.w)
		}
		k := keyName(mv[1])
		c.keys[k] = true
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendJSONString(b, f)
		b = append(b, ',')
		b = appendJSONString(b, k)
		b = append(b, ',')
		switch v := mv[2].(type) {
		case nil:
			b = append(b, "null"...)
		case int64:
			if f == "r" && c.w == ListAppend {
				return nil, opErr(o.line, "micro-operation %s: a list-append read returns a list", String(m))
			}
			b = strconv.AppendInt(b, v, 10)
		case []any:
			if f != "r" || c.w != ListAppend {
				return nil, opErr(o.line, "micro-operation %s: a list is only read, in list-append", String(m))
			}
			b = append(b, '[')
			for j, x := range v {
				n, ok := x.(int64)
				if !ok {
					return nil, opErr(o.line, "micro-operation %s: element %s is not an integer (Faultline's transaction checkers read integers)", clip(String(m)), String(x))
				}
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(b, n, 10)
			}
			b = append(b, ']')
		default:
			return nil, opErr(o.line, "micro-operation %s: value %s is not an integer (Faultline's transaction checkers read integers)", clip(String(m)), String(v))
		}
		b = append(b, ']')
	}
	return append(b, ']'), nil
}

// appendJSONString appends s as a JSON string: plain ASCII as it is,
// anything else through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// nemesisKind says what a nemesis op does to fault windows: "start" or
// "stop" and the kind of fault, or "" for an op that is neither (clock
// bumps, membership changes: dropped). Jepsen's nemeses name their pairs
// :start/:stop (the classic ones), :start-X/:stop-X, :kill/:start (the
// combined package restarts what it killed with :start) and
// :pause/:resume.
func (c *converter) nemesisKind(f string) (what, kind string) {
	switch {
	case f == "start" && len(c.open["kill"]) > 0:
		return "stop", "kill"
	case f == "start":
		return "start", "nemesis"
	case f == "stop":
		return "stop", "nemesis"
	case f == "kill":
		return "start", "kill"
	case f == "pause":
		return "start", "pause"
	case f == "resume":
		return "stop", "pause"
	case strings.HasPrefix(f, "start-"):
		return "start", f[len("start-"):]
	case strings.HasPrefix(f, "stop-"):
		return "stop", f[len("stop-"):]
	}
	return "", ""
}

// nemesis turns Jepsen's nemesis ops into fault windows. The nemesis is one
// process: an op and the next one with the same :f are its invocation and
// completion (Jepsen writes both as :info).
func (c *converter) nemesis(events []history.Event, o *op) []history.Event {
	if c.nemOp != nil && c.nemOp.f == o.f {
		// The completion: it does what its invocation was decided to do.
		c.nemOp = nil
		switch c.nemWhat {
		case "start":
			t := history.OK
			if o.typ == history.Fail {
				t = history.Fail
			}
			f := &history.Fault{Kind: c.nemKind, Detail: detail(o.value)}
			events = append(events, history.Event{Time: o.at, Type: t, Process: history.Nemesis, F: history.FStart, ID: c.nemID, Fault: f, Error: errText(o)})
			if t == history.Fail {
				c.st.FaultWindows--
				c.drop(c.nemKind, c.nemID)
			}
		case "stop":
			for _, id := range c.stopping {
				events = append(events, history.Event{Time: o.at, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: id,
					Fault: &history.Fault{Kind: c.nemKind, Detail: detail(o.value)}})
			}
			c.stopping = nil
		}
		return events
	}
	if c.nemOp != nil {
		// The previous op never completed: it stands alone.
		events = c.closeNemesis(events)
	}
	what, kind := c.nemesisKind(o.f)
	c.nemOp, c.nemWhat, c.nemKind = o, what, kind
	switch what {
	case "start":
		c.nemID = c.id()
		c.open[kind] = append(c.open[kind], c.nemID)
		c.st.FaultWindows++
		return append(events, history.Event{Time: o.at, Type: history.Invoke, Process: history.Nemesis, F: history.FStart, ID: c.nemID,
			Fault: &history.Fault{Kind: kind, Detail: detail(o.value)}})
	case "stop":
		ids := c.open[kind]
		delete(c.open, kind)
		c.stopping = ids
		if len(ids) == 0 {
			// Nothing to stop: dropped, with its completion.
			c.st.NemesisDropped++
			c.nemWhat = ""
		}
		for _, id := range ids {
			events = append(events, history.Event{Time: o.at, Type: history.Invoke, Process: history.Nemesis, F: history.FStop, ID: id,
				Fault: &history.Fault{Kind: kind}})
		}
		return events
	}
	c.st.NemesisDropped++
	return events
}

// closeNemesis ends a nemesis op left without a completion: a start stays
// open (to the end of the history, or its stop), a stop is taken as done.
func (c *converter) closeNemesis(events []history.Event) []history.Event {
	if c.nemOp == nil {
		return events
	}
	o := c.nemOp
	c.nemOp = nil
	if c.nemWhat == "stop" {
		for _, id := range c.stopping {
			events = append(events, history.Event{Time: o.at, Type: history.OK, Process: history.Nemesis, F: history.FStop, ID: id, Fault: &history.Fault{Kind: c.nemKind}})
		}
		c.stopping = nil
	}
	return events
}

func (c *converter) drop(kind string, id uint64) {
	ids := c.open[kind]
	if i := slices.Index(ids, id); i >= 0 {
		c.open[kind] = slices.Delete(ids, i, i+1)
	}
}

func detail(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return String(v)
}
