// Package history holds the operation history of a run: the events every other
// package exchanges, and their JSON Lines encoding.
//
// The vocabulary is Jepsen's: an operation has an invoke event and one
// completion event of type ok (it happened), fail (it certainly did not happen)
// or info (unknown: it may or may not have happened). Faults are events of the
// nemesis process.
package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Type is the kind of an event.
type Type uint8

const (
	Invoke Type = iota + 1
	OK
	Fail
	Info
)

var typeNames = [...]string{"", "invoke", "ok", "fail", "info"}

func (t Type) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType is the inverse of Type.String.
func ParseType(s string) (Type, error) {
	for i, n := range typeNames {
		if i > 0 && n == s {
			return Type(i), nil
		}
	}
	return 0, fmt.Errorf("unknown event type %q", s)
}

func (t Type) MarshalJSON() ([]byte, error) { return []byte(`"` + t.String() + `"`), nil }

func (t *Type) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseType(s)
	*t = v
	return err
}

// Process identifies a logical client. Nemesis is the fault injector.
type Process int

// Nemesis is the process of fault events.
const Nemesis Process = -1

func (p Process) String() string {
	if p == Nemesis {
		return "nemesis"
	}
	return strconv.Itoa(int(p))
}

func (p Process) MarshalJSON() ([]byte, error) {
	if p == Nemesis {
		return []byte(`"nemesis"`), nil
	}
	return []byte(strconv.Itoa(int(p))), nil
}

func (p *Process) UnmarshalJSON(b []byte) error {
	if string(b) == `"nemesis"` {
		*p = Nemesis
		return nil
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("process %s: want an integer or \"nemesis\"", b)
	}
	*p = Process(n)
	return nil
}

// Operation functions of the register workloads.
const (
	FRead  = "read"
	FWrite = "write"
	FCAS   = "cas"
)

// Nemesis functions: a fault window opens with start and closes with stop.
const (
	FStart = "start"
	FStop  = "stop"
)

// Event is one line of history.jsonl.
//
// Time is nanoseconds since the run's load started (a monotonic clock); the
// wall-clock origin is in scenario.json. An invoke and its completion share ID.
//
// An operation's value is the workload's to define, on the invoke and the
// completion alike. It is one JSON field, "value", held in Go two ways so
// that the register workloads (a string per operation, a million a run) pay
// nothing for the generality: a JSON string is Value, any other JSON value
// (a transaction's micro-operations, a queue's batch, a number) is Data.
// The register workloads write unique values, so a read names the write it
// observed; an empty Value on a read means the key had no value.
type Event struct {
	Time    int64   `json:"time"`
	Type    Type    `json:"type"`
	Process Process `json:"process"`
	F       string  `json:"f"`
	ID      uint64  `json:"id"`
	Key     string  `json:"key,omitempty"`
	Value   string  `json:"value,omitempty"`
	// Data is a value that is not a JSON string, as compact JSON (encoded
	// under "value"; set at most one of Value and Data).
	Data json.RawMessage `json:"-"`
	// From is the expected value of a compare-and-set.
	From  string `json:"from,omitempty"`
	Node  string `json:"node,omitempty"`
	Error string `json:"error,omitempty"`
	// Fault describes a nemesis event.
	Fault *Fault `json:"fault,omitempty"`
	// Final marks the reads made after the last fault was healed and the
	// cluster had a quiet period: what the cluster ended up holding.
	Final bool `json:"final,omitempty"`
	// Intended is, on the invoke of an open-loop operation, when the pacer's
	// schedule meant the request to leave (same clock as Time, never after
	// it). Latency measured from it is free of coordinated omission: a
	// generator held up by a slow target does not hide the wait. 0 means no
	// schedule (closed loop).
	Intended int64 `json:"intended,omitempty"`
	// Version is what the system reported with the operation, for checkers
	// that use it: a revision, a zxid, an offset, as compact JSON the target
	// defines (etcd: {"rev":12,"mod":10}). Empty when the system says
	// nothing.
	Version json.RawMessage `json:"version,omitempty"`
}

// MarshalJSON encodes e as the recorder writes it (AppendJSON).
func (e Event) MarshalJSON() ([]byte, error) { return AppendJSON(nil, &e), nil }

// UnmarshalJSON decodes one history line; "value" goes to Value when it is a
// JSON string and to Data otherwise.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event // no methods: no recursion
	var w struct {
		plain
		Value json.RawMessage `json:"value,omitempty"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Event(w.plain)
	v := bytes.TrimSpace(w.Value)
	switch {
	case len(v) == 0 || string(v) == "null":
	case v[0] == '"':
		if err := json.Unmarshal(v, &e.Value); err != nil {
			return fmt.Errorf("value: %w", err)
		}
	default:
		e.Data = append(json.RawMessage(nil), v...)
	}
	if len(e.Version) > 0 {
		e.Version = append(json.RawMessage(nil), e.Version...)
	}
	return nil
}

// LateAfter is how far behind its intended time a request may be sent before
// it counts as late: the generator could not keep up.
const LateAfter = 10 * time.Millisecond

// Fault is what a nemesis did: its kind, the nodes it touched and, for network
// faults, the exact links cut.
type Fault struct {
	Kind  string   `json:"kind"`
	Nodes []string `json:"nodes,omitempty"`
	// Links are directed "from->to" pairs whose traffic is dropped.
	Links []string `json:"links,omitempty"`
	// Detail is free text: what was done and how long it took to take effect.
	Detail string `json:"detail,omitempty"`
	// ApplyNanos is the time from "inject" to "in place".
	ApplyNanos int64 `json:"apply_ns,omitempty"`
}

// IsNemesis reports whether the event belongs to the fault injector.
func (e *Event) IsNemesis() bool { return e.Process == Nemesis }
