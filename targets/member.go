package targets

import (
	"context"
	"net/http"
)

// MemberChanger is a Target whose membership can change while it runs
// (etcd): a member removed, and a fresh one, with an empty data directory,
// added in its place.
type MemberChanger interface {
	Target
	// RemoveMember removes peer from the cluster, through any node at
	// bases that answers.
	RemoveMember(ctx context.Context, hc *http.Client, bases []string, peer Peer) error
	// AddMember announces peers[i] as a new member, through any node at
	// bases, and returns how to start it: with an empty data directory,
	// joining the existing cluster whose members are peers.
	AddMember(ctx context.Context, hc *http.Client, bases []string, i int, peers []Peer) (NodeSpec, error)
}

// Operation functions of per-member reads (MemberReader), recorded as final
// operations with the member in Node: checkers of the cluster's view leave
// them out, members-agree compares them.
const (
	// FMemberRead is a read of one key from one member's local state.
	FMemberRead = "member-read"
	// FMemberProbe is a member's consistency probe; its value is a
	// MemberProbe.
	FMemberProbe = "member-probe"
)

// MemberReader is a Target whose members can each be asked for their own
// view after the faults are healed: a read served by that member alone, and
// the system's own consistency probe.
type MemberReader interface {
	// MemberClient returns a client whose reads are answered by the member
	// asked, from its local state, with a Version the checkers can compare.
	MemberClient() (Client, error)
	// Probe asks every member at bases for its state and a hash of its data
	// at one revision they all have (the first revision common to all).
	Probe(ctx context.Context, hc *http.Client, bases []string) ([]MemberProbe, []error)
}

// MemberProbe is one member's consistency summary.
type MemberProbe struct {
	// Revision is the member's latest revision; RaftIndex its applied raft
	// index.
	Revision  int64  `json:"revision"`
	RaftIndex uint64 `json:"raft_index,omitempty"`
	// Applied says RaftIndex is the applied index, and the member's status
	// did not move while it was probed: two such members at one index
	// applied the same entries, so must be at the same revision.
	Applied bool `json:"applied,omitempty"`
	// Hash is the hash of the member's data at HashRevision.
	HashRevision int64  `json:"hash_revision,omitempty"`
	Hash         uint64 `json:"hash"`
	// Whole says Hash covers the member's whole backend at Revision (the
	// system has no hash at a chosen revision): comparable only between
	// members at the same Revision and RaftIndex.
	Whole bool `json:"whole,omitempty"`
	// CompactRevision is the member's compaction point, if any.
	CompactRevision int64 `json:"compact_revision,omitempty"`
}
