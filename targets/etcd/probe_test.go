package etcd

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// On a real member: a put reports its revision, the member client's read
// the key's mod revision (marked serializable), and the probe hashes the
// key space at the member's revision.
func TestMemberReadAndProbe(t *testing.T) {
	base := startEtcd(t)
	c, err := New().Client(targets.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	put := do(t, c, base, history.Event{ID: 1, F: history.FWrite, Key: "pk", Value: "v1"})
	if put.Type != history.OK || !strings.HasPrefix(string(put.Version), `{"rev":`) {
		t.Fatalf("put: %+v", put)
	}
	mc, err := New().MemberClient()
	if err != nil {
		t.Fatal(err)
	}
	rd := do(t, mc, base, history.Event{ID: 2, F: history.FRead, Key: "pk"})
	if rd.Type != history.OK || rd.Value != "v1" || !strings.Contains(string(rd.Version), `"ser":true`) || !strings.Contains(string(rd.Version), `"mod":`) {
		t.Fatalf("member read: %+v (version %s)", rd, rd.Version)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	probes, errs := New().Probe(ctx, &http.Client{Timeout: 2 * time.Second}, []string{base})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	p := probes[0]
	if p.Revision < 2 || p.HashRevision != p.Revision || p.Hash == 0 || p.RaftIndex == 0 || !p.Applied {
		t.Fatalf("probe %+v", p)
	}
}
