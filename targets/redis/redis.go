// Package redis is the Redis 7 target: Debian bookworm's redis-server and
// redis-sentinel (7.0) in an image built FROM the debootstrapped base
// (targets/image), run by the docker runtime only. Node n1 starts as the
// primary and every other node as its replica; a Sentinel runs beside each
// redis-server in the same container and fails over when the primary is
// down for down-after milliseconds. The client finds the current primary
// through the Sentinels and performs the register workload there: GET, SET,
// and cas as a Lua compare-and-set.
//
// Redis replication is asynchronous: by default (wait=0) an acknowledged
// write the old primary had not yet sent to a replica is lost when a replica
// is promoted, and writes acknowledged by a primary cut off from the others
// are discarded when it rejoins as a replica (Jepsen, "Redis-raft", and
// Kyle Kingsbury's 2013 Sentinel analysis). wait=N sends WAIT N after each
// write: fewer acknowledgements than N within the timeout make the write
// info, not ok.
package redis

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/faultline/faultline/bench/workload"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/image"
)

// Version is the Redis major version Debian bookworm packages (7.0).
const Version = "7"

const (
	clientPort   = 6379
	sentinelPort = 26379
	bin          = "/usr/local/bin/faultline-redis"
	// masterName is the set Sentinel watches.
	masterName = "faultline"
)

//go:embed entrypoint.sh
var entrypoint []byte

// Target is Redis with Sentinel.
type Target struct {
	wait        int
	waitTimeout time.Duration
	downAfter   time.Duration
	failover    time.Duration
	// nodes is the cluster's size, learned from Node: a node is healthy once
	// its Sentinel knows all the others.
	nodes atomic.Int32
	addrs *addrs
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.LeaderFinder = (*Target)(nil)
	_ targets.ImageNeeder  = (*Target)(nil)
	_ workload.Supporter   = (*Target)(nil)
)

// New returns the target configured by its options: wait (replicas each
// write waits for, default 0: none, as Redis is usually run), wait-timeout
// (default 1s), down-after (Sentinel's down-after-milliseconds, default
// 1500ms) and failover-timeout (default 3s).
func New(opts map[string]string) (*Target, error) {
	t := &Target{waitTimeout: time.Second, downAfter: 1500 * time.Millisecond, failover: 3 * time.Second, addrs: newAddrs()}
	for k, v := range opts {
		switch k {
		case "wait":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("redis: --target-opt wait=%s: want a number of replicas (0: no WAIT)", v)
			}
			t.wait = n
		case "wait-timeout", "down-after", "failover-timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d < 100*time.Millisecond {
				return nil, fmt.Errorf("redis: --target-opt %s=%s: want a duration of at least 100ms", k, v)
			}
			switch k {
			case "wait-timeout":
				t.waitTimeout = d
			case "down-after":
				t.downAfter = d
			default:
				t.failover = d
			}
		default:
			return nil, fmt.Errorf("redis: unknown target option %q (known: wait, wait-timeout, down-after, failover-timeout)", k)
		}
	}
	return t, nil
}

func (*Target) Name() string           { return "redis" }
func (*Target) DefaultVersion() string { return Version }

// NeedsImage: nodes run from a Debian image.
func (*Target) NeedsImage() bool { return true }

// Supports the register workload's operations.
func (*Target) Supports(f string) bool {
	return f == history.FRead || f == history.FWrite || f == history.FCAS
}

func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: clientPort}, {Name: "sentinel", Number: sentinelPort}}
}

// Prepare builds (once; cached by content) the image of Debian's
// redis-server and redis-sentinel with the start script.
func (*Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version != "" && version != Version && !strings.HasPrefix(version, Version+".") {
		return targets.Artifact{}, fmt.Errorf("redis: version %s: only %s is available (Debian bookworm's redis 7.0)", version, Version)
	}
	iopts := []image.Option{
		image.WithName("redis-7"),
		image.WithFile(image.File{Path: bin, Data: entrypoint, Mode: 0o755}),
		image.WithEntrypoint(bin),
	}
	if opts.Log != nil {
		iopts = append(iopts, image.WithLog(opts.Log))
	}
	ref, err := image.Debian(ctx, []string{"redis-server", "redis-sentinel"}, iopts...)
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: Version, Image: ref.Tag}, nil
}

// Node: n1 is the first primary; a majority of Sentinels must agree that it
// is down before one fails over.
func (t *Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	t.nodes.Store(int32(len(peers)))
	self := peers[i]
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	return targets.NodeSpec{Args: []string{self.DataDir, strconv.Itoa(self.Ports[targets.ClientPort]), strconv.Itoa(self.Ports["sentinel"]),
		peers[0].Host, strconv.Itoa(len(peers)/2 + 1), ms(t.downAfter), ms(t.failover)}}
}

// askTimeout bounds one health or leader question.
const askTimeout = 2 * time.Second

// Healthy: redis answers (a replica with its link to the primary up), and
// its Sentinel knows the primary, every replica and every other Sentinel:
// before that, a failover could not gather a majority.
func (t *Target) Healthy(ctx context.Context, _ *http.Client, base string) error {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	info, err := t.addrs.rdb(base).Info(ctx, "replication").Result()
	if err != nil {
		return err
	}
	if strings.Contains(info, "role:slave") && !strings.Contains(info, "master_link_status:up") {
		return errors.New("redis: replica not yet in sync with its primary")
	}
	ip, err := t.addrs.ipOf(ctx, base)
	if err != nil {
		return err
	}
	m, err := t.addrs.sentinel(ip).Master(ctx, masterName).Result()
	if err != nil {
		return fmt.Errorf("redis: sentinel at %s: %w", ip, err)
	}
	n := int(t.nodes.Load())
	others, _ := strconv.Atoi(m["num-other-sentinels"])
	replicas, _ := strconv.Atoi(m["num-slaves"])
	if n > 0 && (others < n-1 || replicas < n-1) {
		return fmt.Errorf("redis: sentinel at %s knows %d other sentinels and %d replicas of %d nodes", ip, others, replicas, n)
	}
	return nil
}

// Leader is the node the Sentinels name as primary (the answer with the
// highest configuration epoch).
func (t *Target) Leader(ctx context.Context, _ *http.Client, bases []string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	ips, errs := targets.AskAll(ctx, bases, t.addrs.ipOf)
	p, err := t.addrs.primary(ctx, true)
	if err != nil {
		return -1, errors.Join(append(errs, err)...)
	}
	for i, ip := range ips {
		if errs[i] == nil && p.ip == ip {
			return i, nil
		}
	}
	return -1, fmt.Errorf("redis: the sentinels name %s as primary, which is none of %v (%w)", p.addr(), bases, errors.Join(errs...))
}

// Client returns the register client. Every client of a Target shares what
// it learned of the nodes' addresses.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	if cfg.ReadMode != "" {
		return nil, fmt.Errorf("redis: --read-mode %s: redis has no read modes (reads go to the primary; see --target-opt wait)", cfg.ReadMode)
	}
	return newClient(sentinels{t.addrs}, ClientOptions{Wait: t.wait, WaitTimeout: t.waitTimeout}), nil
}
