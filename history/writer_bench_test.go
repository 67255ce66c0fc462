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
