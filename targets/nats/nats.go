// Package nats is the NATS JetStream target: nats-server built from
// github.com/nats-io/nats-server/v2 at any version the module proxy serves,
// run as a cluster (routes between every pair of nodes, JetStream on, its
// store in the node's data directory), driven by the nats.go client.
//
// It runs the queue workload on work-queue streams with one durable pull
// consumer each, and the log workload on limits streams read by stream
// sequence (see client.go). Stream replicas are a target option: replicas=3
// (the default) is the mode expected to lose nothing under partitions and
// kills; replicas=1 is the known-bad mode, where a stream lives on one node
// and what that node had acknowledged but not yet written is gone when it
// is killed (with storage=memory, everything it held).
//
// The register (and kv) workload runs on JetStream's key-value store (see
// kv.go).
package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/gobuild"
)

// bucketRE is a valid key-value bucket name.
var bucketRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// DefaultVersion is the nats-server release built when none is named.
const DefaultVersion = "v2.15.2"

// Ports of a node.
const (
	clientPort  = 4222
	monitorPort = 8222
	clusterPort = 6222
	// MonitorPort is the name of the HTTP monitoring port (health).
	MonitorPort = "monitor"
)

// Storage kinds of a stream.
const (
	File   = "file"
	Memory = "memory"
)

// Target is NATS JetStream.
type Target struct {
	replicas int
	storage  string
	kvRead   string
	bucket   string
}

var (
	_ targets.Target       = (*Target)(nil)
	_ targets.HealthPorter = (*Target)(nil)
	_ targets.LeaderFinder = (*Target)(nil)
)

// New returns the target configured by its target options (--target-opt,
// cluster.options): replicas (1..5, default 3) and storage (file or memory,
// default file) of every stream it creates, and kv-read (leader or direct,
// default leader): who answers the register workload's gets, and bucket
// (default faultline): the key-value bucket it uses.
func New(opts map[string]string) (*Target, error) {
	t := &Target{replicas: 3, storage: File, kvRead: ReadLeader, bucket: defaultBucket}
	for k, v := range opts {
		switch k {
		case "replicas":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 5 {
				return nil, fmt.Errorf("nats: --target-opt replicas=%s: want 1 to 5", v)
			}
			t.replicas = n
		case "storage":
			if v != File && v != Memory {
				return nil, fmt.Errorf("nats: --target-opt storage=%s: want file or memory", v)
			}
			t.storage = v
		case "kv-read":
			if v != ReadLeader && v != ReadDirect {
				return nil, fmt.Errorf("nats: --target-opt kv-read=%s: want leader or direct", v)
			}
			t.kvRead = v
		case "bucket":
			if !bucketRE.MatchString(v) {
				return nil, fmt.Errorf("nats: --target-opt bucket=%s: want letters, digits, '-' and '_'", v)
			}
			t.bucket = v
		default:
			return nil, fmt.Errorf("nats: unknown target option %q (known: replicas, storage, kv-read, bucket)", k)
		}
	}
	return t, nil
}

func (*Target) Name() string           { return "nats" }
func (*Target) DefaultVersion() string { return DefaultVersion }

func (*Target) Ports() []targets.Port {
	return []targets.Port{
		{Name: targets.ClientPort, Number: clientPort},
		{Name: MonitorPort, Number: monitorPort},
		{Name: "cluster", Number: clusterPort},
	}
}

// HealthPort: health is the monitoring port's /healthz; clients speak the
// NATS protocol on the client port.
func (*Target) HealthPort() string { return MonitorPort }

// mainSource is nats-server's own main.
const mainSource = `package main

import (
	"flag"
	"os"

	"github.com/nats-io/nats-server/v2/server"
)

func main() {
	fs := flag.NewFlagSet("nats-server", flag.ExitOnError)
	opts, err := server.ConfigureOptions(fs, os.Args[1:], server.PrintServerAndExit, fs.Usage, server.PrintTLSHelpAndDie)
	if err != nil {
		server.PrintAndDie("nats-server: " + err.Error())
	}
	s, err := server.NewServer(opts)
	if err != nil {
		server.PrintAndDie("nats-server: " + err.Error())
	}
	s.ConfigureLogger()
	if err := server.Run(s); err != nil {
		server.PrintAndDie(err.Error())
	}
	s.WaitForShutdown()
}
`

// Prepare builds a static nats-server for version.
func (*Target) Prepare(ctx context.Context, version string, opts targets.PrepareOptions) (targets.Artifact, error) {
	if version == "" {
		version = DefaultVersion
	}
	path, resolved, err := gobuild.Build(ctx, gobuild.Spec{
		Name: "nats-server", Module: "github.com/nats-io/nats-server/v2", Version: version,
		Main: mainSource, CacheDir: opts.CacheDir, Log: opts.Log,
	})
	if err != nil {
		return targets.Artifact{}, err
	}
	return targets.Artifact{Version: resolved, Binary: path}, nil
}

// Node returns the command line of server i: its name is the node's (n1,
// n2, ...), which is how Leader maps JetStream's answers to nodes.
func (*Target) Node(i int, peers []targets.Peer) targets.NodeSpec {
	self := peers[i]
	bind := self.Bind
	if bind == "" {
		bind = "0.0.0.0"
	}
	var routes []string
	for j, p := range peers {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats://%s:%d", p.Host, p.Ports["cluster"]))
		}
	}
	args := []string{
		"--name", self.Name,
		"--addr", bind,
		"--port", strconv.Itoa(self.Ports[targets.ClientPort]),
		"--http_port", strconv.Itoa(self.Ports[MonitorPort]),
		"--jetstream", "--store_dir", self.DataDir,
	}
	if len(peers) > 1 {
		args = append(args,
			"--cluster_name", "faultline",
			"--cluster", fmt.Sprintf("nats://%s:%d", bind, self.Ports["cluster"]),
			"--cluster_advertise", fmt.Sprintf("%s:%d", self.Host, self.Ports["cluster"]),
			"--routes", strings.Join(routes, ","),
		)
	}
	return targets.NodeSpec{Args: args}
}

// Healthy asks the monitoring port's /healthz, which nats-server answers
// 200 once it serves clients and its JetStream is current.
func (*Target) Healthy(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<12))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Leader is the node leading the first of Faultline's streams (by name):
// JetStream has a leader per stream (and one for its metadata); the stream
// leader is the one whose isolation tests the data path.
func (t *Target) Leader(ctx context.Context, _ *http.Client, bases []string) (int, error) {
	var errs []error
	for _, b := range bases {
		name, err := leaderVia(ctx, b, t.bucket)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := range bases {
			if fmt.Sprintf("n%d", i+1) == name {
				return i, nil
			}
		}
		errs = append(errs, fmt.Errorf("%s names leader %q, not a node", b, name))
	}
	return -1, fmt.Errorf("no node names a leader: %w", errors.Join(errs...))
}

func leaderVia(ctx context.Context, base, bucket string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	nc, err := natsgo.Connect(natsURL(base), natsgo.Timeout(time.Second), natsgo.NoReconnect(), natsgo.IgnoreDiscoveredServers())
	if err != nil {
		return "", err
	}
	defer nc.Close()
	var names struct {
		Streams []string  `json:"streams"`
		Error   *apiError `json:"error"`
	}
	if err := apiJSON(ctx, nc, "$JS.API.STREAM.NAMES", nil, &names); err != nil {
		return "", err
	}
	var ours []string
	for _, s := range names.Streams {
		if strings.HasPrefix(s, streamPrefix) || s == "KV_"+bucket {
			ours = append(ours, s)
		}
	}
	var info struct {
		Cluster struct {
			Leader string `json:"leader"`
		} `json:"cluster"`
		Error *apiError `json:"error"`
	}
	if len(ours) == 0 {
		return "", errors.New(base + ": no stream of Faultline's to ask for its leader")
	}
	slices.Sort(ours)
	subj := "$JS.API.STREAM.INFO." + ours[0]
	if err := apiJSON(ctx, nc, subj, nil, &info); err != nil {
		return "", err
	}
	if info.Cluster.Leader == "" {
		return "", errors.New(base + ": no leader")
	}
	return info.Cluster.Leader, nil
}

// apiJSON makes a JetStream API request and decodes its answer; an API
// error becomes the error.
func apiJSON(ctx context.Context, nc *natsgo.Conn, subj string, req []byte, out any) error {
	m, err := nc.RequestWithContext(ctx, subj, req)
	if err != nil {
		return err
	}
	var e struct {
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return fmt.Errorf("%s: %w", subj, err)
	}
	if e.Error != nil {
		return e.Error
	}
	return json.Unmarshal(m.Data, out)
}

// apiError is JetStream's error answer.
type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("jetstream: %s (%d, err_code %d)", e.Description, e.Code, e.ErrCode)
}

// natsURL turns a runtime endpoint (http://host:port) into the client URL.
func natsURL(base string) string {
	if _, rest, ok := strings.Cut(base, "://"); ok {
		return "nats://" + rest
	}
	return "nats://" + base
}

// Client returns the JetStream workload client.
func (t *Target) Client(cfg targets.ClientConfig) (targets.Client, error) {
	return newClient(t, cfg)
}
