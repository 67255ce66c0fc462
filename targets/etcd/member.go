package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/faultline/faultline/targets"
)

var _ targets.MemberChanger = (*Target)(nil)

type member struct {
	ID       string   `json:"ID"`
	Name     string   `json:"name"`
	PeerURLs []string `json:"peerURLs"`
}

func peerURL(p targets.Peer) string { return fmt.Sprintf("http://%s:%d", p.Host, p.Ports["peer"]) }

// call posts body to path on the first node of bases that answers 200, and
// decodes the answer into out. Membership changes go to the leader, which
// may be changing: every node is tried, a few rounds.
func call(ctx context.Context, hc *http.Client, bases []string, path string, body, out any) error {
	b, _ := json.Marshal(body)
	var errs []error
	for round := 0; round < 5; round++ {
		for _, base := range bases {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
			if err != nil {
				return err
			}
			resp, err := hc.Do(req)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs = append(errs, fmt.Errorf("%s %s: %s: %s", base, path, resp.Status, strings.TrimSpace(string(rb))))
				continue
			}
			if out == nil {
				return nil
			}
			return json.Unmarshal(rb, out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("etcd %s: %w", path, errors.Join(errs[max(0, len(errs)-3):]...))
}

// RemoveMember removes the member with peer's peer URL.
func (*Target) RemoveMember(ctx context.Context, hc *http.Client, bases []string, peer targets.Peer) error {
	var list struct {
		Members []member `json:"members"`
	}
	if err := call(ctx, hc, bases, "/v3/cluster/member/list", struct{}{}, &list); err != nil {
		return err
	}
	want := peerURL(peer)
	for _, m := range list.Members {
		for _, u := range m.PeerURLs {
			if u == want {
				return call(ctx, hc, bases, "/v3/cluster/member/remove", map[string]string{"ID": m.ID}, nil)
			}
		}
	}
	return fmt.Errorf("etcd: no member has peer URL %s", want)
}

// AddMember announces peers[i] and returns its command line: member i of a
// cluster that exists, with an empty data directory.
func (t *Target) AddMember(ctx context.Context, hc *http.Client, bases []string, i int, peers []targets.Peer) (targets.NodeSpec, error) {
	// etcd refuses an add ("unhealthy cluster") until its leader has been
	// connected to a quorum for its health interval (5 s), which a member
	// removed moments ago (member-shrink's heal) has not given it yet: keep
	// asking for longer than call's own rounds.
	add := func() error {
		return call(ctx, hc, bases, "/v3/cluster/member/add", map[string][]string{"peerURLs": {peerURL(peers[i])}}, nil)
	}
	err := add()
	for deadline := time.Now().Add(20 * time.Second); err != nil && strings.Contains(err.Error(), "unhealthy cluster") && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return targets.NodeSpec{}, ctx.Err()
		case <-time.After(time.Second):
		}
		err = add()
	}
	if err != nil {
		return targets.NodeSpec{}, err
	}
	spec := t.Node(i, peers)
	for k, a := range spec.Args {
		if a == "--initial-cluster-state" && k+1 < len(spec.Args) {
			spec.Args[k+1] = "existing"
		}
	}
	return spec, nil
}
