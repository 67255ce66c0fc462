// Package rabbitmq is the RabbitMQ target: Debian's rabbitmq-server in an
// image built by targets/image, a cluster formed by classic_config peer
// discovery with a shared Erlang cookie, driven over AMQP 0-9-1 by
// github.com/rabbitmq/amqp091-go for the queue workload.
//
// The queue type is a target option: queue-type=quorum (the default, Raft
// replicated, durable, persistent messages, publisher confirms) is expected
// to lose nothing under partitions and kills; queue-type=classic is the
// known-bad mode, a classic queue on one node with transient messages, whose
// acknowledged messages are gone when that node is killed.
package rabbitmq

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/image"
)

// Queue types.
const (
	Quorum  = "quorum"
	Classic = "classic"
)

const (
	amqpPort = 5672
	mgmtPort = 15672
	distPort = 25672
	epmdPort = 4369
	// cookie is the Erlang cookie every node shares: nodes of one cluster
	// only talk to each other with the same one.
	cookie = "faultline-rabbitmq-cookie"
)

// Target is RabbitMQ.
type Target struct {
	queueType string
	// partitionHandling is RabbitMQ's cluster_partition_handling.
	partitionHandling string
	// netTicktime is Erlang's net_ticktime in seconds (0: its default, 60):
	// how long a silent peer takes to be declared down, so how long a
	// partition must last before RabbitMQ's partition handling sees it.
	netTicktime int
	// size is the cluster's, learnt from Node: a node is healthy once it
	// runs in a cluster of that many running nodes.
	size atomic.Int32
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.HealthPorter = (*Target)(nil)
)

// New returns the target configured by its target options: queue-type
// (quorum or classic), partition-handling (pause_minority, autoheal or
// ignore; default pause_minority) and net-ticktime (seconds; Erlang's
// default is 60).
func New(opts map[string]string) (*Target, error) {
	t := &Target{queueType: Quorum, partitionHandling: "pause_minority"}
	for k, v := range opts {
		switch k {
		case "queue-type":
			if v != Quorum && v != Classic {
				return nil, fmt.Errorf("rabbitmq: --target-opt queue-type=%s: want quorum or classic", v)
			}
			t.queueType = v
		case "partition-handling":
			if v != "pause_minority" && v != "autoheal" && v != "ignore" {
				return nil, fmt.Errorf("rabbitmq: --target-opt partition-handling=%s: want pause_minority, autoheal or ignore", v)
			}
			t.partitionHandling = v
		case "net-ticktime":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 600 {
				return nil, fmt.Errorf("rabbitmq: --target-opt net-ticktime=%s: want seconds from 1 to 600", v)
			}
			t.netTicktime = n
		default:
			return nil, fmt.Errorf("rabbitmq: unknown target option %q (known: queue-type, partition-handling, net-ticktime)", k)
		}
	}
	return t, nil
}

func (*Target) Name() string { return "rabbitmq" }

// DefaultVersion: the version is Debian's (bookworm: 3.10.8).
func (*Target) DefaultVersion() string { return "debian" }

func (*Target) Ports() []targets.Port {
	return []targets.Port{{Name: targets.ClientPort, Number: amqpPort}, {Name: MgmtPort, Number: mgmtPort},
		{Name: "dist", Number: distPort}, {Name: "epmd", Number: epmdPort}}
}

// MgmtPort names the management plugin's HTTP port, where health is asked.
const MgmtPort = "management"

// HealthPort: health is the management API's view of the cluster.
func (*Target) HealthPort() string { return MgmtPort }

// entrypoint writes the node's configuration (peers from its arguments)
// and the cookie, then runs the server as root (Debian's wrapper would
// switch users with tools the minimal base lacks).
const entrypoint = `#!/bin/sh
set -e
handling=$1; ticktime=$2; shift 2
mkdir -p /etc/rabbitmq "$RABBITMQ_MNESIA_BASE"
{
  echo "loopback_users = none"
  echo "management.tcp.port = 15672"
  echo "listeners.tcp.default = 5672"
  echo "cluster_partition_handling = $handling"
  echo "cluster_formation.peer_discovery_backend = classic_config"
  i=1
  for p in "$@"; do echo "cluster_formation.classic_config.nodes.$i = rabbit@$p"; i=$((i+1)); done
} > /etc/rabbitmq/rabbitmq.conf
echo "[rabbitmq_management]." > /etc/rabbitmq/enabled_plugins
if [ "$ticktime" != 0 ]; then
  echo "[{kernel, [{net_ticktime, $ticktime}]}]." > /etc/rabbitmq/advanced.config
fi
export HOME=/var/lib/rabbitmq
mkdir -p "$HOME"
rm -f "$HOME/.erlang.cookie"
printf '%s' "$FAULTLINE_COOKIE" > "$HOME/.erlang.cookie"
chmod 400 "$HOME/.erlang.cookie"
exec /usr/lib/rabbitmq/bin/rabbitmq-server
`

// Prepare builds (or finds) the image of Debian's rabbitmq-server.
func (*Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version != "" && version != "debian" {
		return targets.Artifact{}, fmt.Errorf("rabbitmq: version %q: only Debian's package (\"debian\") can be built here", version)
	}
	iopts := []image.Option{
		image.WithName("rabbitmq-server"),
		image.WithFile(image.File{Path: "/usr/local/bin/faultline-rabbitmq", Data: []byte(entrypoint), Mode: 0o755}),
		image.WithEntrypoint("/usr/local/bin/faultline-rabbitmq"),
	}
	if opts.CacheDir != "" {
		iopts = append(iopts, image.WithCacheDir(opts.CacheDir))
	}
	if opts.Log != nil {
		iopts = append(iopts, image.WithLog(opts.Log))
	}
	ref, err := image.Debian(ctx, []string{"rabbitmq-server"}, iopts...)
	if err != nil {
		return targets.Artifact{}, fmt.Errorf("rabbitmq: %w", err)
	}
	return targets.Artifact{Version: "debian", Image: ref.Tag}, nil
}

// Node runs node i as rabbit@<its host>, every peer listed for
// classic_config discovery.
func (t *Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	t.size.Store(int32(len(peers)))
	args := []string{t.partitionHandling, strconv.Itoa(t.netTicktime)}
	for _, p := range peers {
		args = append(args, p.Host)
	}
	return targets.NodeSpec{Args: args, Env: []string{
		"RABBITMQ_NODENAME=rabbit@" + self.Host,
		"RABBITMQ_MNESIA_BASE=" + self.DataDir,
		"RABBITMQ_LOGS=-",
		"FAULTLINE_COOKIE=" + cookie,
	}}
}

// Healthy asks the management API which nodes the node's cluster has: it
// is healthy once it sees every node of the cluster running (classic_config
// discovery joined them all), so queues declared next span them all.
func (t *Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/nodes?columns=name,running", nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth("guest", "guest")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("management api: %s", resp.Status)
	}
	var nodes []struct {
		Name    string `json:"name"`
		Running bool   `json:"running"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&nodes); err != nil {
		return fmt.Errorf("management api: %w", err)
	}
	running := 0
	for _, n := range nodes {
		if n.Running {
			running++
		}
	}
	if want := int(t.size.Load()); running < want {
		return fmt.Errorf("%d of %d nodes running in its cluster", running, want)
	}
	return nil
}

// amqpURL turns a runtime endpoint (http://host:port) into the AMQP URL.
func amqpURL(base string) string {
	if _, rest, ok := strings.Cut(base, "://"); ok {
		base = rest
	}
	return "amqp://guest:guest@" + base + "/"
}

// dial connects within ctx (at most 3 s), with heartbeats every 2 s so a
// connection cut by a partition is noticed.
func dial(ctx context.Context, base string) (*amqp.Connection, error) {
	timeout := 3 * time.Second
	if d, ok := ctx.Deadline(); ok && time.Until(d) < timeout {
		timeout = max(time.Until(d), 10*time.Millisecond)
	}
	c, err := amqp.DialConfig(amqpURL(base), amqp.Config{Heartbeat: 2 * time.Second, Dial: amqp.DefaultDial(timeout), Locale: "en_US"})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", base, err)
	}
	return c, nil
}

// Client returns the AMQP workload client.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	return newClient(t, cfg)
}
