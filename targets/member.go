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
