// Package naivepaxos is the naive-paxos target (see targets/naivepaxos/node):
// the seed design's "Paxos" taken literally, built from Faultline's own
// source. It has no quorum anywhere and must fail.
package naivepaxos

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
	"github.com/faultline/faultline/targets/kvapi"
)

const httpPort = 8080

// Target is naive-paxos.
type Target struct {
	// Dir is a directory of Faultline's source tree to build from.
	Dir string
}

// New returns naive-paxos; it takes no options.
func New(opts map[string]string) (*Target, error) {
	for k := range opts {
		return nil, fmt.Errorf("naive-paxos: unknown target option %q (it has none)", k)
	}
	return &Target{}, nil
}

func (*Target) Name() string           { return "naive-paxos" }
func (*Target) DefaultVersion() string { return "local" }
func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: httpPort}}
}

func (t *Target) Prepare(ctx context.Context, _ string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if opts.Log != nil {
		opts.Log("building naive-paxos from source")
	}
	path, err := gobuild.BuildLocal(ctx, gobuild.LocalSpec{Name: "naivepaxos",
		Package: "github.com/faultline/faultline/targets/naivepaxos/cmd/naivepaxos", Dir: t.Dir, CacheDir: opts.CacheDir})
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: gobuild.LocalVersion(path), Binary: path}, nil
}

// Node tells member i where the others are; it keeps no data on disk.
func (*Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	var others []string
	for j, p := range peers {
		if j != i {
			others = append(others, net.JoinHostPort(p.Host, strconv.Itoa(p.Ports[targets.ClientPort])))
		}
	}
	bind := self.Bind
	if bind == "" {
		bind = "0.0.0.0"
	}
	return targets.NodeSpec{Args: []string{
		"--id", self.Name,
		"--http", net.JoinHostPort(bind, strconv.Itoa(self.Ports[targets.ClientPort])),
		"--peers", strings.Join(others, ","),
	}}
}

func (*Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	return kvapi.Healthy(ctx, hc, base)
}

func (*Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	if cfg.ReadMode != "" {
		return nil, fmt.Errorf("naive-paxos has no read modes (got %q)", cfg.ReadMode)
	}
	return targets.HTTP(kvapi.Client{}), nil
}

// Supports: naive-paxos has registers only, no transactions.
func (*Target) Supports(f string) bool {
	return f == history.FRead || f == history.FWrite || f == history.FCAS
}
