package load

import (
	"bytes"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// resultCases are results a run writes and the edge cases of gob's wire
// format: zero fields (left out), one- and multi-byte lengths and integers,
// negative latency, times with and without a zone, and the fields that send a
// result through gob itself (body, headers).
func resultCases() []vegeta.Result {
	t0 := time.Date(2026, 11, 26, 4, 5, 6, 789, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	rs := []vegeta.Result{
		{Attack: "faultline", Seq: 0, Code: 200, Timestamp: time.Now(), Latency: 1234567, BytesOut: 60, BytesIn: 180, Method: "POST", URL: "http://10.1.2.3:2379/v3/kv/put?op=1"},
		{},
		{Attack: "faultline", Seq: 1, Code: 503, Timestamp: t0, Latency: -5, Error: "503 Service Unavailable", Method: "GET", URL: "http://n1/kv/k1?op=2"},
		{Seq: math.MaxUint64, Code: math.MaxUint16, Timestamp: t0.In(time.FixedZone("x", 3600)), Latency: math.MinInt64, BytesOut: math.MaxUint64, BytesIn: 1 << 40},
		{Attack: strings.Repeat("a", 300), Error: strings.Repeat("e", 70000), URL: strings.Repeat("u", 128), Timestamp: t0.In(time.FixedZone("y", -37))},
		{Attack: "faultline", Seq: 7, Code: 200, Timestamp: t0, Body: []byte(`{"ok":true}`), Method: "PUT", URL: "http://n2/kv/k2?op=7"},
		{Attack: "faultline", Seq: 8, Code: 200, Timestamp: t0, Headers: http.Header{"Content-Type": {"application/json"}}, URL: "http://n3/"},
		{Attack: "faultline", Seq: 9, Code: 200, Timestamp: t0, Latency: time.Second, Method: "POST", URL: "http://n1/v3/kv/range?op=9"},
	}
	for i := range 500 {
		rs = append(rs, vegeta.Result{
			Attack: "faultline", Seq: uint64(10 + i), Code: uint16(rng.IntN(600)),
			Timestamp: t0.Add(time.Duration(rng.Int64N(int64(time.Hour)))), Latency: time.Duration(rng.Int64N(int64(10 * time.Second))),
			BytesOut: rng.Uint64N(1 << uint(rng.IntN(64))), BytesIn: rng.Uint64N(300),
			Error: strings.Repeat("x", rng.IntN(3)*rng.IntN(200)), Method: "POST", URL: "http://n1/v3/kv/put?op=" + strings.Repeat("9", rng.IntN(12)),
		})
	}
	return rs
}

// The hand-written encoding is byte for byte what vegeta's gob encoder writes.
func TestResultsEncoderWritesWhatGobWrites(t *testing.T) {
	var ours, theirs bytes.Buffer
	enc, ref := NewResultsEncoder(&ours), vegeta.NewEncoder(&theirs)
	for i, r := range resultCases() {
		if err := enc.Encode(&r); err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if err := ref.Encode(&r); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours.Bytes(), theirs.Bytes()) {
			t.Fatalf("result %d %+v: streams differ from byte %d:\nours   % x\ntheirs % x", i, r, commonPrefix(ours.Bytes(), theirs.Bytes()),
				tail(ours.Bytes(), 64), tail(theirs.Bytes(), 64))
		}
	}
}

// vegeta's decoder (the one `vegeta report` uses) reads every result back.
func TestResultsEncoderReadsBackWithVegeta(t *testing.T) {
	var buf bytes.Buffer
	enc := NewResultsEncoder(&buf)
	want := resultCases()
	for _, r := range want {
		if err := enc.Encode(&r); err != nil {
			t.Fatal(err)
		}
	}
	dec := vegeta.DecoderFor(&buf)
	if dec == nil {
		t.Fatal("vegeta does not recognise the encoding")
	}
	for i, w := range want {
		var got vegeta.Result
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		if !got.Timestamp.Equal(w.Timestamp) {
			t.Fatalf("result %d: timestamp %v, want %v", i, got.Timestamp, w.Timestamp)
		}
		got.Timestamp, w.Timestamp = time.Time{}, time.Time{}
		if !got.Equal(w) {
			t.Fatalf("result %d: decoded %+v, want %+v", i, got, w)
		}
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func tail(b []byte, n int) []byte { return b[max(0, len(b)-n):] }

func BenchmarkResultsEncoder(b *testing.B) {
	r := &vegeta.Result{Attack: "faultline", Code: 200, Timestamp: time.Now(), Latency: 1234567, BytesIn: 180, BytesOut: 60, Method: "POST", URL: "http://10.1.2.3:2379/v3/kv/put?op=123456"}
	for _, c := range []struct {
		name string
		mk   func(w *bytes.Buffer) vegeta.Encoder
	}{
		{"gob", func(w *bytes.Buffer) vegeta.Encoder { return vegeta.NewEncoder(w) }},
		{"faultline", func(w *bytes.Buffer) vegeta.Encoder { return NewResultsEncoder(w) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			var w bytes.Buffer
			enc := c.mk(&w)
			b.ReportAllocs()
			for i := range b.N {
				if w.Len() > 1<<20 {
					w.Reset()
				}
				r.Seq = uint64(i)
				if err := enc.Encode(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
