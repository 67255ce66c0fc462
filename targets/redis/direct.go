package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// Direct is a Redis deployment without Sentinel, as a scenario's
// cluster.spec describes one (targets/spec): one primary and any number of
// replicas, started however the spec says. The primary is the node the
// harness reaches whose ROLE says master; nothing promotes a replica, so a
// primary that is down makes writes fail until it is back. Every client of
// one Direct shares the endpoints it learned.
type Direct struct {
	*addrs
	mu     sync.Mutex
	bases  []string
	prim   string // host:port of the last node that answered master
	primAt time.Time
}

// NewDirect returns a deployment that knows no node yet: each client learns
// the endpoints from Setup and from the operations the load sends.
func NewDirect() *Direct { return &Direct{addrs: newAddrs()} }

// Healthy: the node answers PING and, if it is a replica, its link to the
// primary is up (before that it serves nothing it will keep).
func (d *Direct) Healthy(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	r := d.rdb(base)
	if err := r.Ping(ctx).Err(); err != nil {
		return err
	}
	role, err := r.Do(ctx, "ROLE").Slice()
	if err != nil {
		return fmt.Errorf("redis: ROLE: %w", err)
	}
	if len(role) > 0 && role[0] == "slave" {
		if len(role) < 4 || role[3] != "connected" {
			return errors.New("redis: replica not yet in sync with its primary")
		}
	}
	return nil
}

// role asks the node at base whether it is a primary, and how many replicas
// it has.
func (d *Direct) role(ctx context.Context, base string) (bool, int, error) {
	role, err := d.rdb(base).Do(ctx, "ROLE").Slice()
	if err != nil {
		return false, 0, err
	}
	if len(role) == 0 || role[0] != "master" {
		return false, 0, nil
	}
	n := 0
	if len(role) >= 3 {
		if reps, ok := role[2].([]any); ok {
			n = len(reps)
		}
	}
	return true, n, nil
}

// Leader is the node whose ROLE is master (of several, the one with the
// most replicas).
func (d *Direct) Leader(ctx context.Context, bases []string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	type answer struct {
		master   bool
		replicas int
	}
	answers, errs := targets.AskAll(ctx, bases, func(ctx context.Context, b string) (answer, error) {
		m, n, err := d.role(ctx, b)
		return answer{m, n}, err
	})
	best := -1
	for i, a := range answers {
		if errs[i] == nil && a.master && (best < 0 || a.replicas > answers[best].replicas) {
			best = i
		}
	}
	if best < 0 {
		return -1, fmt.Errorf("redis: no node answers ROLE master: %w", errors.Join(errs...))
	}
	return best, nil
}

// learn adds endpoints to those asked for the primary.
func (d *Direct) learn(bases ...string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, b := range bases {
		if !slices.Contains(d.bases, b) {
			d.bases = append(d.bases, b)
		}
	}
}

func (d *Direct) primary(ctx context.Context, base string) (string, json.RawMessage, error) {
	d.learn(base)
	d.mu.Lock()
	if d.prim != "" && time.Since(d.primAt) < primaryTTL {
		p := d.prim
		d.mu.Unlock()
		return p, directVersion(p), nil
	}
	bases := append([]string(nil), d.bases...)
	d.mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, sentinelTimeout)
	defer cancel()
	i, err := d.Leader(sctx, bases)
	if err != nil {
		return "", nil, err
	}
	p := hostPort(bases[i])
	d.mu.Lock()
	d.prim, d.primAt = p, time.Now()
	d.mu.Unlock()
	return p, directVersion(p), nil
}

func (d *Direct) forget() {
	d.mu.Lock()
	d.primAt = time.Time{}
	d.mu.Unlock()
}

func directVersion(addr string) json.RawMessage {
	b, _ := json.Marshal(struct {
		Primary string `json:"primary"`
	}{addr})
	return b
}

// Client returns a register client on this deployment.
func (d *Direct) Client(o ClientOptions) targets.Client {
	return &directClient{client: newClient(d, o), d: d}
}

// directClient learns every node's endpoint before the load.
type directClient struct {
	*client
	d *Direct
}

var (
	_ targets.Client   = (*directClient)(nil)
	_ targets.Setupper = (*directClient)(nil)
)

func (c *directClient) Setup(_ context.Context, bases []string) error {
	c.d.learn(bases...)
	return nil
}

// Supports the register workload's operations.
func (*directClient) Supports(f string) bool {
	return f == history.FRead || f == history.FWrite || f == history.FCAS
}
