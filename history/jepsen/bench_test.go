package jepsen_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/faultline/faultline/history/jepsen"
)

// BenchmarkRead reads a 100,000-transaction list-append history.edn, one op
// map per line as Jepsen writes it (about 22 MB).
func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	const n = 100_000
	for i := range n {
		k := i % 1000
		fmt.Fprintf(&buf, "{:index %d, :time %d, :type :invoke, :process %d, :f :txn, :value [[:append %d %d] [:r %d nil]]}\n", 2*i, 1000*i, i%20, k, i, k+1)
		fmt.Fprintf(&buf, "{:index %d, :time %d, :type :ok, :process %d, :f :txn, :value [[:append %d %d] [:r %d [%d %d %d]]]}\n", 2*i+1, 1000*i+500, i%20, k, i, k+1, i, i+1, i+2)
	}
	b.SetBytes(int64(buf.Len()))
	b.ResetTimer()
	for b.Loop() {
		events, _, err := jepsen.Read(bytes.NewReader(buf.Bytes()))
		if err != nil || len(events) != 2*n {
			b.Fatalf("%d events, %v", len(events), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(2*n), "ns/op-map")
}
