package spec

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
	"github.com/faultline/faultline/targets/nats"
	"github.com/faultline/faultline/targets/postgres"
	"github.com/faultline/faultline/targets/redis"
	"github.com/faultline/faultline/targets/zookeeper"
)

// Protocol is a built-in protocol client a spec can name (client.protocol).
// Each reuses the client of the built-in target of the same name; what
// differs is how the cluster is found: the spec's nodes, started as its args
// say.
type Protocol struct {
	// Options are the client options it knows, each with its meaning.
	Options map[string]string
	// Key says what client.key names; empty: the protocol takes no key
	// mapping.
	Key string
	// Ops are the operations it performs (the workloads it serves).
	Ops []string
	// HealthPort, when set, is the port its health check asks (else the
	// client port); the spec must declare it.
	HealthPort string
	// make checks the rendered options and returns the connection to the
	// cluster.
	make func(opts map[string]string, key func(string) string) (conn, error)
	// checkKey checks one rendered key.
	checkKey func(string) error
}

// conn is a protocol's view of one cluster: health, leader and clients.
type conn interface {
	healthy(ctx context.Context, hc *http.Client, base string) error
	leader(ctx context.Context, hc *http.Client, bases []string) (int, error)
	client(cfg targets.ClientConfig) (targets.Client, error)
}

var registerOps = []string{history.FRead, history.FWrite, history.FCAS}

// Protocols are the built-in protocol clients, by client.protocol.
var Protocols = map[string]*Protocol{
	"redis": {
		Options: map[string]string{
			"wait":         "replicas each write waits for with WAIT (default 0: none, as Redis is usually run)",
			"wait-timeout": "how long WAIT waits (default 1s)",
			"reads":        "primary (default) or node: a read goes to the node the load chose, replica or not",
		},
		Key: "the Redis key (default: the workload's key)",
		Ops: registerOps,
		make: func(o map[string]string, key func(string) string) (conn, error) {
			c := &redisConn{d: redis.NewDirect(), o: redis.ClientOptions{Key: key}}
			if v, ok := o["wait"]; ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("wait %q: want a number of replicas (0: no WAIT)", v)
				}
				c.o.Wait = n
			}
			if v, ok := o["wait-timeout"]; ok {
				d, err := time.ParseDuration(v)
				if err != nil || d < 10*time.Millisecond {
					return nil, fmt.Errorf("wait-timeout %q: want a duration of at least 10ms", v)
				}
				c.o.WaitTimeout = d
			}
			switch v := o["reads"]; v {
			case "", "primary":
			case "node":
				c.o.ReadNode = true
			default:
				return nil, fmt.Errorf("reads %q: want primary or node", v)
			}
			return c, nil
		},
		checkKey: func(k string) error {
			if k == "" {
				return fmt.Errorf("renders an empty key")
			}
			return nil
		},
	},
	"zookeeper": {
		Options: map[string]string{
			"read-mode": "sync (default: sync then get, linearizable) or plain (a get from the member the load chose: stale under partition)",
		},
		Key: "the znode path, one level under the root, e.g. /app-{{.Key}} (default /faultline-<key>)",
		Ops: registerOps,
		make: func(o map[string]string, key func(string) string) (conn, error) {
			zt, err := zookeeper.New(o)
			if err != nil {
				return nil, err
			}
			sync := o["read-mode"] != zookeeper.ReadPlain
			return &zkConn{t: zt, sync: sync, path: key}, nil
		},
		checkKey: func(p string) error {
			if !strings.HasPrefix(p, "/") || strings.Count(p, "/") != 1 || len(p) < 2 || p == "/zookeeper" {
				return fmt.Errorf("renders %q: want a znode one level under the root, like /app-k1", p)
			}
			return nil
		},
	},
	"postgres": {
		Options: map[string]string{
			"isolation":     "read-committed, repeatable-read or serializable (default)",
			"replica-reads": "true sends read-only transactions to a replica (asynchronous: stale)",
			"schema":        "the schema holding the tables lists and regs, created before the load (default public)",
		},
		Ops: []string{"txn"},
		make: func(o map[string]string, _ func(string) string) (conn, error) {
			pt, err := postgres.New(o)
			if err != nil {
				return nil, err
			}
			return targetConn{pt}, nil
		},
	},
	"nats": {
		Options: map[string]string{
			"replicas": "replicas of the key-value bucket and of every stream (1 to 5, default 3)",
			"storage":  "file (default) or memory",
			"kv-read":  "leader (default) or direct: any replica answers a get",
			"bucket":   "the key-value bucket (default faultline)",
		},
		Key:        "the key-value key (default: the workload's key)",
		Ops:        append(append([]string(nil), registerOps...), "enqueue", "dequeue", "drain", "send", "poll", "read-all"),
		HealthPort: nats.MonitorPort,
		make: func(o map[string]string, key func(string) string) (conn, error) {
			nt, err := nats.New(o)
			if err != nil {
				return nil, err
			}
			return keyedConn{targetConn{nt}, key}, nil
		},
		checkKey: func(k string) error {
			if !kvKeyRE.MatchString(k) || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") {
				return fmt.Errorf("renders %q: a key-value key is letters, digits and - _ / = . (not first or last)", k)
			}
			return nil
		},
	},
}

var kvKeyRE = regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`)

func protocolNames() string {
	names := make([]string, 0, len(Protocols))
	for n := range Protocols {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// targetConn is a built-in target used for its health, leader and client
// (their nodes are found the same way whoever started them).
type targetConn struct {
	t interface {
		targets.Target
		targets.LeaderFinder
	}
}

func (c targetConn) healthy(ctx context.Context, hc *http.Client, base string) error {
	return c.t.Healthy(ctx, hc, base)
}

func (c targetConn) leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	return c.t.Leader(ctx, hc, bases)
}

func (c targetConn) client(cfg targets.ClientConfig) (targets.Client, error) {
	return c.t.Client(cfg)
}

// keyedConn maps keys before its clients see them.
type keyedConn struct {
	targetConn
	key func(string) string
}

func (c keyedConn) client(cfg targets.ClientConfig) (targets.Client, error) {
	cl, err := c.targetConn.client(cfg)
	if err != nil || c.key == nil {
		return cl, err
	}
	return &keyed{Client: cl, key: c.key}, nil
}

// keyed is a client whose operations' keys are mapped (client.key); the
// history keeps the workload's keys.
type keyed struct {
	targets.Client
	key func(string) string
}

var (
	_ targets.Setupper = (*keyed)(nil)
	_ io.Closer        = (*keyed)(nil)
)

func (k *keyed) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	o := *op
	o.Key = k.key(op.Key)
	return k.Client.Do(ctx, &o, base)
}

func (k *keyed) Setup(ctx context.Context, bases []string) error {
	if s, ok := k.Client.(targets.Setupper); ok {
		return s.Setup(ctx, bases)
	}
	return nil
}

func (k *keyed) Close() error {
	if c, ok := k.Client.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Supports is the inner client's, when it says.
func (k *keyed) Supports(f string) bool {
	if s, ok := k.Client.(interface{ Supports(string) bool }); ok {
		return s.Supports(f)
	}
	return true
}

type redisConn struct {
	d *redis.Direct
	o redis.ClientOptions
}

func (c *redisConn) healthy(ctx context.Context, _ *http.Client, base string) error {
	return c.d.Healthy(ctx, base)
}

func (c *redisConn) leader(ctx context.Context, _ *http.Client, bases []string) (int, error) {
	return c.d.Leader(ctx, bases)
}

// client: the final phase reads from the primary.
func (c *redisConn) client(cfg targets.ClientConfig) (targets.Client, error) {
	o := c.o
	switch cfg.ReadMode {
	case "":
	case "primary", "node":
		o.ReadNode = cfg.ReadMode == "node"
	default:
		return nil, fmt.Errorf("read mode %q: the redis client reads from the primary or the node (client.options.reads)", cfg.ReadMode)
	}
	if cfg.Final {
		o.ReadNode = false
	}
	return c.d.Client(o), nil
}

type zkConn struct {
	t    *zookeeper.Target
	sync bool
	path func(string) string
}

func (c *zkConn) healthy(ctx context.Context, hc *http.Client, base string) error {
	return c.t.Healthy(ctx, hc, base)
}

func (c *zkConn) leader(ctx context.Context, hc *http.Client, bases []string) (int, error) {
	return c.t.Leader(ctx, hc, bases)
}

// client: the final phase syncs before reading.
func (c *zkConn) client(cfg targets.ClientConfig) (targets.Client, error) {
	sync := c.sync
	switch cfg.ReadMode {
	case "":
	case zookeeper.ReadSync, zookeeper.ReadPlain:
		sync = cfg.ReadMode == zookeeper.ReadSync
	default:
		return nil, fmt.Errorf("read mode %q: want sync or plain", cfg.ReadMode)
	}
	return zookeeper.NewClient(zookeeper.ClientOptions{Sync: sync || cfg.Final, Path: c.path}), nil
}
