// Package zookeeper is the ZooKeeper 3.8 target: Debian's zookeeper package
// (and a headless JRE) in an image built FROM the debootstrapped base
// (targets/image), run by the docker runtime only. An ensemble of 3 or 5
// members (ZAB) serves the register workload on znodes: write is a Set of
// any version (a Create when absent), cas reads the znode's data and version
// and Sets at that version, and a read is sync + get (linearizable) or, with
// read-mode=plain, a plain get from whichever member the client talks to
// (sequentially consistent by design: the known-stale mode).
package zookeeper

import (
	"bufio"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/image"
)

// Version is the ZooKeeper version Debian bookworm packages.
const Version = "3.8"

const (
	clientPort   = 2181
	quorumPort   = 2888
	electionPort = 3888
	bin          = "/usr/local/bin/faultline-zookeeper"
	// tickMS is ZooKeeper's tick (its default, 2 s): a member cut off from
	// the leader keeps serving plain reads for syncLimit (5) ticks before it
	// gives up and closes its clients' connections.
	tickMS = 2000
)

// Read modes (target option read-mode).
const (
	ReadSync  = "sync"
	ReadPlain = "plain"
)

//go:embed entrypoint.sh
var entrypoint []byte

// Target is ZooKeeper.
type Target struct {
	readMode string
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.LeaderFinder = (*Target)(nil)
	_ targets.ImageNeeder  = (*Target)(nil)
	_ workload.Supporter   = (*Target)(nil)
)

// New returns the target configured by its options: read-mode (sync, the
// default: sync then get; plain: get alone, stale under partition).
func New(opts map[string]string) (*Target, error) {
	t := &Target{readMode: ReadSync}
	for k, v := range opts {
		switch k {
		case "read-mode":
			if v != ReadSync && v != ReadPlain {
				return nil, fmt.Errorf("zookeeper: --target-opt read-mode=%s: want sync or plain", v)
			}
			t.readMode = v
		default:
			return nil, fmt.Errorf("zookeeper: unknown target option %q (known: read-mode)", k)
		}
	}
	return t, nil
}

func (*Target) Name() string           { return "zookeeper" }
func (*Target) DefaultVersion() string { return Version }

// NeedsImage: nodes run from a Debian image.
func (*Target) NeedsImage() bool { return true }

// Supports the register workload's operations.
func (*Target) Supports(f string) bool {
	return f == history.FRead || f == history.FWrite || f == history.FCAS
}

func (*Target) Ports() []targets.Port {
	return []targets.Port{
		{Name: targets.ClientPort, Number: clientPort},
		{Name: "quorum", Number: quorumPort},
		{Name: "election", Number: electionPort},
	}
}

// Prepare builds (once; cached by content) the image of Debian's zookeeper
// with the start script.
func (*Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version != "" && version != Version && !strings.HasPrefix(version, Version+".") {
		return targets.Artifact{}, fmt.Errorf("zookeeper: version %s: only %s is available (Debian bookworm's zookeeper 3.8.0)", version, Version)
	}
	iopts := []image.Option{
		image.WithName("zookeeper-3.8"),
		image.WithFile(image.File{Path: bin, Data: entrypoint, Mode: 0o755}),
		image.WithEntrypoint(bin),
	}
	if opts.Log != nil {
		iopts = append(iopts, image.WithLog(opts.Log))
	}
	ref, err := image.Debian(ctx, []string{"zookeeper", "default-jre-headless"}, iopts...)
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: Version, Image: ref.Tag}, nil
}

// Node: member i+1 of the ensemble, with a server.N line per peer.
func (*Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	args := []string{self.DataDir, strconv.Itoa(i + 1), strconv.Itoa(self.Ports[targets.ClientPort]), strconv.Itoa(tickMS)}
	for j, p := range peers {
		args = append(args, fmt.Sprintf("%d=%s:%d:%d", j+1, p.Host, p.Ports["quorum"], p.Ports["election"]))
	}
	return targets.NodeSpec{Args: args}
}

// hostPort is the host:port of an endpoint (scheme://host:port).
func hostPort(base string) (string, error) {
	if !strings.Contains(base, "://") {
		return base, nil
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("zookeeper: endpoint %q has no host:port", base)
	}
	return u.Host, nil
}

// askTimeout bounds one four-letter word.
const askTimeout = 2 * time.Second

// fourLetter sends a four-letter word (srvr, ruok) and returns the answer.
func fourLetter(ctx context.Context, base, word string) (string, error) {
	hp, err := hostPort(base)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", hp)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, word); err != nil {
		return "", err
	}
	b, err := io.ReadAll(bufio.NewReader(c))
	if err != nil && len(b) == 0 {
		return "", err
	}
	return string(b), nil
}

// mode is srvr's "Mode:" line: leader, follower or standalone; a member
// not in a quorum answers that it is not currently serving requests.
func mode(ctx context.Context, base string) (string, error) {
	out, err := fourLetter(ctx, base, "srvr")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if m, ok := strings.CutPrefix(l, "Mode: "); ok {
			return strings.TrimSpace(m), nil
		}
	}
	return "", fmt.Errorf("zookeeper: %s: %s", base, strings.TrimSpace(out))
}

// Healthy: the member serves (srvr names its mode: it is in a quorum).
func (*Target) Healthy(ctx context.Context, _ *http.Client, base string) error {
	_, err := mode(ctx, base)
	return err
}

// Leader is the member whose srvr says Mode: leader.
func (*Target) Leader(ctx context.Context, _ *http.Client, bases []string) (int, error) {
	modes, errs := targets.AskAll(ctx, bases, mode)
	for i, m := range modes {
		if errs[i] == nil && (m == "leader" || m == "standalone") {
			return i, nil
		}
	}
	return -1, fmt.Errorf("zookeeper: no member says it leads: %w", errors.Join(errs...))
}

// Client returns the register client; the final phase's client always
// syncs before reading.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	mode := t.readMode
	switch cfg.ReadMode {
	case "":
	case ReadSync, ReadPlain:
		mode = cfg.ReadMode
	default:
		return nil, fmt.Errorf("zookeeper: --read-mode %s: want sync or plain", cfg.ReadMode)
	}
	if cfg.Final {
		mode = ReadSync
	}
	return newClient(mode == ReadSync), nil
}
