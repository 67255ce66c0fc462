// Package kv is the kv workload: the register workload's reads, writes and
// compare-and-sets spread over a large key space (load.key_space) with a
// chosen key distribution (load.key_dist: uniform or zipfian[:S]). Each key
// is still bounded in operations and concurrency, so the linearizability
// check decides.
package kv

import (
	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/bench/workload/register"
)

// New is the kv workload.
func New() workload.Workload { return register.Workload{Kind: register.KindKV} }
