//go:build long

package nats_test

import "testing"

// TestR3UnderPartitionValidLong: the log checker is valid on an R3 stream,
// and the R3 key-value bucket read from its leader is linearizable, under
// partitions. Not part of `make test` (about 19 s a run):
// `go test -tags long -run R3UnderPartitionValidLong ./targets/nats`.
func TestR3UnderPartitionValidLong(t *testing.T) {
	r3UnderPartitionValid(t, "log", "register")
}
