package kvapi

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Transactions of the protocol:
//
//	POST /txn   body = [["append","k1",3],["r","k2",null],["w","k3",7]]
//	            200 + the same list with every read's value filled in
//	            400 when the transaction is malformed (nothing applied)
//
// A list-append key holds a JSON list (append adds one element, r returns
// the list); an rw-register key holds one JSON value (w sets it, r returns
// it). A key never written reads as null.

// Micro-operation functions.
const (
	MopAppend = "append"
	MopRead   = "r"
	MopWrite  = "w"
)

// Mop is one micro-operation, encoded as a JSON triple [f, key, value].
type Mop struct {
	F     string
	Key   string
	Value json.RawMessage
}

func (m Mop) MarshalJSON() ([]byte, error) {
	f, _ := json.Marshal(m.F)
	k, _ := json.Marshal(m.Key)
	v := m.Value
	if len(v) == 0 {
		v = json.RawMessage("null")
	}
	b := append([]byte{'['}, f...)
	b = append(append(b, ','), k...)
	b = append(append(b, ','), v...)
	return append(b, ']'), nil
}

func (m *Mop) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if len(raw) != 3 {
		return fmt.Errorf("micro-operation %s: want [f, key, value]", b)
	}
	if err := json.Unmarshal(raw[0], &m.F); err != nil {
		return fmt.Errorf("micro-operation %s: %w", b, err)
	}
	var k any
	if err := json.Unmarshal(raw[1], &k); err != nil {
		return fmt.Errorf("micro-operation %s: %w", b, err)
	}
	switch k := k.(type) {
	case string:
		m.Key = k
	case float64:
		m.Key = string(bytes.TrimSpace(raw[1]))
	default:
		return fmt.Errorf("micro-operation %s: the key must be a string or a number", b)
	}
	m.Value = append(json.RawMessage(nil), bytes.TrimSpace(raw[2])...)
	return nil
}

// ReadOnly reports whether a transaction only reads.
func ReadOnly(mops []Mop) bool {
	for _, m := range mops {
		if m.F != MopRead {
			return false
		}
	}
	return true
}

// ApplyTxn applies mops in order to data (key -> JSON text) and returns them
// with every read filled in. A malformed transaction changes nothing.
func ApplyTxn(mops []Mop, data map[string]string) ([]Mop, error) {
	for _, m := range mops {
		switch m.F {
		case MopRead:
		case MopAppend, MopWrite:
			if !json.Valid(m.Value) || string(m.Value) == "null" {
				return nil, fmt.Errorf("%s %s: value %q is not a JSON value", m.F, m.Key, m.Value)
			}
		default:
			return nil, fmt.Errorf("unknown micro-operation %q (want append, r, w)", m.F)
		}
	}
	// Changes are staged and applied at the end, so that a transaction
	// that fails half way changes nothing.
	staged := map[string]string{}
	get := func(k string) (string, bool) {
		if v, ok := staged[k]; ok {
			return v, true
		}
		v, ok := data[k]
		return v, ok
	}
	out := make([]Mop, len(mops))
	for i, m := range mops {
		out[i] = m
		switch m.F {
		case MopRead:
			if v, ok := get(m.Key); ok {
				out[i].Value = json.RawMessage(v)
			} else {
				out[i].Value = json.RawMessage("null")
			}
		case MopWrite:
			staged[m.Key] = string(m.Value)
		case MopAppend:
			var list []json.RawMessage
			if v, ok := get(m.Key); ok {
				if err := json.Unmarshal([]byte(v), &list); err != nil {
					return nil, fmt.Errorf("append %s: the key does not hold a list", m.Key)
				}
			}
			b, _ := json.Marshal(append(list, m.Value))
			staged[m.Key] = string(b)
		}
	}
	for k, v := range staged {
		data[k] = v
	}
	return out, nil
}
