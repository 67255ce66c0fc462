// Package builtin registers the workloads that ship with Faultline. Adding
// one is a folder under bench/workload and a line here.
package builtin

import (
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/bank"
	"github.com/faultline/faultline/bench/workload/kv"
	"github.com/faultline/faultline/bench/workload/listappend"
	logwl "github.com/faultline/faultline/bench/workload/log"
	"github.com/faultline/faultline/bench/workload/queue"
	"github.com/faultline/faultline/bench/workload/register"
	"github.com/faultline/faultline/bench/workload/rwregister"
)

func init() {
	workload.Register(register.New())
	workload.Register(kv.New())
	workload.Register(listappend.New())
	workload.Register(rwregister.New())
	workload.Register(queue.Workload{})
	workload.Register(logwl.Workload{})
	workload.Register(bank.Workload{})
}
