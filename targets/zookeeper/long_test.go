//go:build long

package zookeeper_test

import "testing"

// TestSyncReadsValidLong: sync + get stays linearizable with the leader
// cut off and with members killed. Not part of `make test` (each run is
// 22-26 s): `go test -tags long -run SyncReadsValidLong ./targets/zookeeper`.
func TestSyncReadsValidLong(t *testing.T) {
	syncReadsValid(t, "partition", "kill")
}
