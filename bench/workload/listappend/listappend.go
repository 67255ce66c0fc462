// Package listappend is the list-append workload (Elle's most powerful
// shape): transactions that append unique elements to lists and read whole
// lists, so every read reveals the order of the appends before it. See
// bench/workload/txn for the operations.
package listappend

import (
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/txn"
)

// New is the list-append workload; its histories go to the elle checker.
func New() workload.Workload {
	return txn.NewWorkload(txn.ListAppend, "list-append", "elle-list-append")
}
