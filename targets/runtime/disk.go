package runtime

import (
	"context"
	"time"

	"github.com/faultline/faultline/targets"
)

// LazyDisk is a Node whose data directory is served by lazyfs (package
// chaos/lazyfs): written data stays in the harness's memory until the node
// fsyncs it. The local runtime gives one when ClusterSpec.LazyFS is set.
type LazyDisk interface {
	Node
	// LoseUnsynced throws away what the node wrote to its data directory
	// without fsync, as a power cut would, and says how much. The node must
	// be stopped (Kill first).
	LoseUnsynced(ctx context.Context) (string, error)
}

// DataDirNode is a Node whose data files the harness can reach on its own
// file system while the node is stopped (the local runtime's).
type DataDirNode interface {
	Node
	// HostDataDir is the node's data directory as the harness sees it.
	HostDataDir() string
}

// ClockNode is a Node whose clock, as its program reads it, the harness can
// shift while it runs. Only programs built with a clock hook obey it (see
// targets.ClockHooked); the local runtime gives every node the control.
type ClockNode interface {
	Node
	// SetClock makes the node's clock read real time + Offset, and, when
	// Period is positive, + Strobe more during every other Period (an
	// oscillating clock). The zero Clock is the real time.
	SetClock(ctx context.Context, c Clock) error
}

// Clock is a node's shifted clock.
type Clock struct {
	Offset time.Duration
	Strobe time.Duration
	Period time.Duration
}

// EnvClock is the environment variable that names the node's clock control
// file: three little-endian int64 (offset, strobe and period, in
// nanoseconds), read by the clock hook of targets/gobuild through a shared
// mapping on every time.Now.
const EnvClock = "FAULTLINE_CLOCK"

// FreshNode is a Node the runtime can start again as a fresh member: with
// an empty data directory and another command line (member replacement).
type FreshNode interface {
	Node
	// Peer is the node as its peers see it.
	Peer() targets.Peer
	// Wipe empties the node's data directory; the node must be stopped.
	Wipe(ctx context.Context) error
	// SetSpec sets the command line (and extra environment) the next Start
	// uses.
	SetSpec(spec targets.NodeSpec)
}

// Grower is a Node of a cluster that can grow while it runs (member-grow):
// the runtime can add one more node beside the ones it launched. The local
// runtime's nodes are; Docker's are not (yet).
type Grower interface {
	Node
	// AddNode prepares a new node, not started, with an empty data
	// directory, an address and ports of its own: its Peer says where its
	// peers reach it, and SetSpec gives it its command line. It is not one
	// of the cluster's Nodes (the load and the final reads leave it out);
	// the caller owns it and Removes it. The cluster's Close (and
	// `faultline clean`) removes it too.
	AddNode(ctx context.Context) (AddedNode, error)
}

// AddedNode is a node Grower.AddNode made.
type AddedNode interface {
	FreshNode
	// Remove kills the node and removes what was made for it (its network
	// namespace, its data directory); its log is kept with the others.
	Remove(ctx context.Context) error
}
