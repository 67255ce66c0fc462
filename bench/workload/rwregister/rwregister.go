// Package rwregister is the rw-register workload: transactions that write
// unique values to registers and read them. See bench/workload/txn for the
// operations.
package rwregister

import (
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/txn"
)

// New is the rw-register workload; its histories go to the elle checker.
func New() workload.Workload {
	return txn.NewWorkload(txn.RWRegister, "rw-register", "elle-rw-register")
}
