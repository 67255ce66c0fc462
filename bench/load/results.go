package load

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"io"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// NewResultsEncoder writes vegeta results in vegeta's own encoding (gob, what
// `vegeta attack` writes and `vegeta report` reads), byte for byte what
// vegeta.NewEncoder writes, at a fraction of its cost: gob's reflection was
// the largest part of what recording adds per request (bench-load).
//
// The first result goes through encoding/gob, which sends the type
// definitions; later ones are encoded by hand in gob's wire format, as gob's
// message for a Result (the type id learnt from gob itself). A result with
// a body or headers, which a run does not write, goes through gob again:
// gob messages may follow one another in any mix, the type being sent.
func NewResultsEncoder(w io.Writer) vegeta.Encoder {
	e := &resultsEncoder{w: w, gob: gob.NewEncoder(w)}
	return e.encode
}

type resultsEncoder struct {
	w      io.Writer
	gob    *gob.Encoder
	typeID int64 // of Result in this process's gob; 0 until learnt
	msg    []byte
	body   []byte
}

// Result's fields, numbered as gob numbers them (its exported fields in
// order).
const (
	fieldAttack = iota
	fieldSeq
	fieldCode
	fieldTimestamp
	fieldLatency
	fieldBytesOut
	fieldBytesIn
	fieldError
	fieldBody
	fieldMethod
	fieldURL
	fieldHeaders
)

func (e *resultsEncoder) encode(r *vegeta.Result) error {
	if e.typeID == 0 || r.Body != nil || r.Headers != nil {
		if e.typeID == 0 {
			id, err := resultTypeID(r)
			if err != nil {
				return err
			}
			e.typeID = id
		}
		return e.gob.Encode(r)
	}
	b := e.body[:0]
	b = appendGobInt(b, e.typeID)
	last := -1
	field := func(n int) {
		b = appendGobUint(b, uint64(n-last))
		last = n
	}
	if r.Attack != "" {
		field(fieldAttack)
		b = appendGobString(b, r.Attack)
	}
	if r.Seq != 0 {
		field(fieldSeq)
		b = appendGobUint(b, r.Seq)
	}
	if r.Code != 0 {
		field(fieldCode)
		b = appendGobUint(b, uint64(r.Code))
	}
	if r.Timestamp != (time.Time{}) {
		field(fieldTimestamp)
		// time.Time is a GobEncoder: its MarshalBinary bytes, as a byte
		// slice. They are 15 or 16 bytes, so the length is one byte.
		n := len(b)
		b = append(b, 0)
		var err error
		if b, err = r.Timestamp.AppendBinary(b); err != nil {
			return fmt.Errorf("encode result timestamp: %w", err)
		}
		b[n] = byte(len(b) - n - 1)
	}
	if r.Latency != 0 {
		field(fieldLatency)
		b = appendGobInt(b, int64(r.Latency))
	}
	if r.BytesOut != 0 {
		field(fieldBytesOut)
		b = appendGobUint(b, r.BytesOut)
	}
	if r.BytesIn != 0 {
		field(fieldBytesIn)
		b = appendGobUint(b, r.BytesIn)
	}
	if r.Error != "" {
		field(fieldError)
		b = appendGobString(b, r.Error)
	}
	if r.Method != "" {
		field(fieldMethod)
		b = appendGobString(b, r.Method)
	}
	if r.URL != "" {
		field(fieldURL)
		b = appendGobString(b, r.URL)
	}
	b = append(b, 0) // end of struct
	e.body = b
	// A message is its length, then itself, in one write as gob does.
	e.msg = append(appendGobUint(e.msg[:0], uint64(len(b))), b...)
	_, err := e.w.Write(e.msg)
	return err
}

// resultTypeID is the gob type id this process gives vegeta.Result: gob's
// second message of a stream of results starts with it (the first carries
// the type definitions too).
func resultTypeID(r *vegeta.Result) (int64, error) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	probe := vegeta.Result{Attack: r.Attack}
	if err := enc.Encode(&probe); err != nil {
		return 0, fmt.Errorf("encode a result: %w", err)
	}
	buf.Reset()
	if err := enc.Encode(&probe); err != nil {
		return 0, fmt.Errorf("encode a result: %w", err)
	}
	msg := buf.Bytes()
	if _, n, ok := readGobUint(msg); ok {
		if u, _, ok := readGobUint(msg[n:]); ok {
			return gobIntFromUint(u), nil
		}
	}
	return 0, fmt.Errorf("encode a result: unexpected gob message % x", msg)
}

// appendGobUint appends x as gob encodes an unsigned integer: below 128 one
// byte; else the negated byte count, then the bytes, big-endian.
func appendGobUint(b []byte, x uint64) []byte {
	if x < 0x80 {
		return append(b, byte(x))
	}
	n := 0
	for y := x; y > 0; y >>= 8 {
		n++
	}
	b = append(b, byte(-n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(x>>(8*i)))
	}
	return b
}

// appendGobInt appends i as gob encodes a signed integer: its sign in the
// low bit of an unsigned one.
func appendGobInt(b []byte, i int64) []byte {
	var u uint64
	if i < 0 {
		u = uint64(^i)<<1 | 1
	} else {
		u = uint64(i) << 1
	}
	return appendGobUint(b, u)
}

func appendGobString(b []byte, s string) []byte {
	return append(appendGobUint(b, uint64(len(s))), s...)
}

func readGobUint(b []byte) (uint64, int, bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] < 0x80 {
		return uint64(b[0]), 1, true
	}
	n := -int(int8(b[0]))
	if n > 8 || len(b) < 1+n {
		return 0, 0, false
	}
	var x uint64
	for _, c := range b[1 : 1+n] {
		x = x<<8 | uint64(c)
	}
	return x, 1 + n, true
}

func gobIntFromUint(u uint64) int64 {
	if u&1 == 1 {
		return int64(^(u >> 1))
	}
	return int64(u >> 1)
}
