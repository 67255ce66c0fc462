//go:build long

package usersvc_test

import "testing"

// TestTransactionalValidLong: the total also holds without a fault (the
// kill-follower run of TestTransactionalValid has the same contention).
// Not part of `make test`: `go test -tags long -run ValidLong ./targets/usersvc`.
func TestTransactionalValidLong(t *testing.T) {
	transactionalValid(t, "none")
}
