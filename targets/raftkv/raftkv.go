// Package raftkv is the raftkv target: a key-value service replicated with
// hashicorp/raft (see targets/raftkv/node), built from Faultline's own source.
// It is a correct system and must pass; its bugs (Option "bug") must not.
package raftkv

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
	"github.com/faultline/faultline/targets/raftkv/node"
)

const (
	httpPort = 8080
	raftPort = 7000
)

// Target is raftkv, possibly with one of node.Bugs.
type Target struct {
	bug string
	// Dir is a directory of Faultline's source tree to build from (default:
	// the working directory).
	Dir string
}

// New returns raftkv; opts may name a bug ("bug": stale-reads,
// ack-before-commit, non-atomic-cas).
func New(opts map[string]string) (*Target, error) {
	t := &Target{}
	for k, v := range opts {
		switch k {
		case "bug":
			ok := v == ""
			for _, b := range node.Bugs {
				ok = ok || v == b
			}
			if !ok {
				return nil, fmt.Errorf("raftkv: unknown bug %q (known: %s)", v, strings.Join(node.Bugs, ", "))
			}
			t.bug = v
		default:
			return nil, fmt.Errorf("raftkv: unknown target option %q (known: bug)", k)
		}
	}
	return t, nil
}

func (t *Target) Name() string {
	if t.bug != "" {
		return "raftkv-" + t.bug
	}
	return "raftkv"
}

// DefaultVersion: raftkv is built from the source tree it runs from.
func (*Target) DefaultVersion() string { return "local" }

func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: httpPort}, {Name: "raft", Number: raftPort}}
}

// Prepare builds raftkv from source; the version is the binary's content
// hash, so two source trees never share a cached binary.
func (t *Target) Prepare(ctx context.Context, _ string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if opts.Log != nil {
		opts.Log("building raftkv from source")
	}
	path, err := gobuild.BuildLocal(ctx, gobuild.LocalSpec{Name: "raftkv",
		Package: "github.com/faultline/faultline/targets/raftkv/cmd/raftkv", Dir: t.Dir, CacheDir: opts.CacheDir, ClockHook: true})
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: gobuild.LocalVersion(path), Binary: path}, nil
}

// Node gives member i every peer's raft and HTTP address.
func (t *Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	var ps []string
	for _, p := range peers {
		ps = append(ps, fmt.Sprintf("%s=%s:%d:%d", p.Name, p.Host, p.Ports["raft"], p.Ports[targets.ClientPort]))
	}
	bind := self.Bind
	if bind == "" {
		bind = "0.0.0.0"
	}
	args := []string{
		"--id", self.Name,
		"--peers", strings.Join(ps, ","),
		"--raft", net.JoinHostPort(bind, strconv.Itoa(self.Ports["raft"])),
		"--http", net.JoinHostPort(bind, strconv.Itoa(self.Ports[targets.ClientPort])),
		"--data", self.DataDir,
	}
	if t.bug != "" {
		args = append(args, "--bug", t.bug)
	}
	return targets.NodeSpec{Args: args}
}

// ClockHook: raftkv is built with Faultline's clock hook.
func (*Target) ClockHook() string { return gobuild.ClockHook }

var _ targets.ClockHooked = (*Target)(nil)

func (*Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	return kvapi.Healthy(ctx, hc, base)
}

func (*Target) Leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	return kvapi.Leader(ctx, hc, bases)
}

// Client speaks kvapi; raftkv's reads are always linearizable.
func (*Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	if cfg.ReadMode != "" && cfg.ReadMode != "linearizable" {
		return nil, fmt.Errorf("raftkv: read mode %q: reads are always linearizable (use --target-opt bug=stale-reads for stale ones)", cfg.ReadMode)
	}
	return targets.HTTP(kvapi.Client{}), nil
}

// Supports: raftkv performs the register operations and transactions.
func (*Target) Supports(f string) bool {
	switch f {
	case history.FRead, history.FWrite, history.FCAS, kvapi.FTxn:
		return true
	}
	return false
}
