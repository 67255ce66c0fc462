package history

import (
	"path/filepath"
	"testing"
)

func BenchmarkWriterAppend(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "h.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := Event{Type: Invoke, F: FWrite, Key: "k3.17", Value: "123456", Node: "n2", Process: 3}
		for pb.Next() {
			e.ID++
			e.Time = w.Now()
			w.Append(e)
		}
	})
}

func BenchmarkWriterAppendSerial(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "h.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ReportAllocs()
	e := Event{Type: Invoke, F: FWrite, Key: "k3.17", Value: "123456", Node: "n2", Process: 3, Intended: 12345678}
	for i := 0; i < b.N; i++ {
		e.ID++
		e.Time = w.Now()
		w.Append(e)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e := Event{Type: Invoke, F: FWrite, Key: "k3.17", Value: "123456", Node: "n2", Process: 3, Intended: 12345678, Time: 23456789, ID: 123456}
	buf := make([]byte, 0, 512)
	for i := 0; i < b.N; i++ {
		buf = AppendJSON(buf[:0], &e)
	}
}
