package runtime

import (
	"context"
	"errors"
	"os"
)

// Limits cap a node's resources (cgroup settings). Zero fields lift the
// limit.
type Limits struct {
	// CPUPercent is the CPU time the node may use, in percent of one CPU
	// (cpu.max, or cpu.cfs_quota_us on cgroup v1).
	CPUPercent int
	// IOBytesPerSec caps reads and writes of the node's data device
	// (io.max; cgroup v2 only).
	IOBytesPerSec int64
}

// Throttler is a node whose CPU and I/O can be capped for a while (the
// slow-cpu and slow-io faults). Throttle(ctx, Limits{}) lifts every limit.
// It returns how the limit was set, for the fault's detail.
type Throttler interface {
	Throttle(ctx context.Context, l Limits) (how string, err error)
}

// CgroupV2 reports whether the host runs the unified cgroup hierarchy
// (cgroup v2), which io.max needs: cgroup v1's blkio throttle misses
// buffered writes, so a slow disk cannot be had there.
func CgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// ErrNoIOLimit says why slow-io cannot work on this host.
var ErrNoIOLimit = errors.New("slow-io needs cgroup v2 (io.max); this host has cgroup v1, whose blkio throttle misses buffered writes")
