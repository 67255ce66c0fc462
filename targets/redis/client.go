package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// primaryTTL is how long the client trusts the Sentinels' answer: asking
// them costs a round trip to each, and a failover takes seconds.
const primaryTTL = 200 * time.Millisecond

// sentinelTimeout bounds asking one Sentinel.
const sentinelTimeout = 500 * time.Millisecond

// addrs is what the clients of one Target learned of the nodes: the address
// each node announces (the container's, which the harness reaches and which
// survives restarts), a connection pool per address, and the primary the
// Sentinels last named.
type addrs struct {
	mu        sync.Mutex
	ips       map[string]string // endpoint -> announced address
	known     []string          // announced addresses, in the order learned
	rdbs      map[string]*goredis.Client
	sentinels map[string]*goredis.SentinelClient
	prim      prim
	primAt    time.Time
}

// prim is a primary as the Sentinels name it.
type prim struct {
	ip    string
	port  string
	epoch int64
}

func (p prim) addr() string { return net.JoinHostPort(p.ip, p.port) }

func newAddrs() *addrs {
	return &addrs{ips: map[string]string{}, rdbs: map[string]*goredis.Client{}, sentinels: map[string]*goredis.SentinelClient{}}
}

// hostPort strips the scheme of an endpoint.
func hostPort(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

// options: no retries (a retried write could apply twice, and a retry hides
// the error the classification needs), short dials, timeouts from the
// operation's context.
func options(addr string) *goredis.Options {
	return &goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: -1, WriteTimeout: -1,
		ContextTimeoutEnabled: true, PoolSize: 32, DisableIdentity: true, Protocol: 2}
}

// rdb returns the pool of a node's redis, by endpoint or by address.
func (a *addrs) rdb(base string) *goredis.Client {
	addr := hostPort(base)
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.rdbs[addr]
	if r == nil {
		r = goredis.NewClient(options(addr))
		a.rdbs[addr] = r
	}
	return r
}

func (a *addrs) sentinel(ip string) *goredis.SentinelClient {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sentinels[ip]
	if s == nil {
		s = goredis.NewSentinelClient(options(net.JoinHostPort(ip, strconv.Itoa(sentinelPort))))
		a.sentinels[ip] = s
	}
	return s
}

// ipOf asks the node at base (once) which address it announces.
func (a *addrs) ipOf(ctx context.Context, base string) (string, error) {
	a.mu.Lock()
	ip := a.ips[base]
	a.mu.Unlock()
	if ip != "" {
		return ip, nil
	}
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	kv, err := a.rdb(base).ConfigGet(ctx, "replica-announce-ip").Result()
	if err != nil {
		return "", fmt.Errorf("redis: ask %s its address: %w", base, err)
	}
	ip = kv["replica-announce-ip"]
	if net.ParseIP(ip) == nil {
		return "", fmt.Errorf("redis: %s announces %q, not an address", base, ip)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.ips[base]; !ok {
		a.ips[base] = ip
		seen := false
		for _, k := range a.known {
			seen = seen || k == ip
		}
		if !seen {
			a.known = append(a.known, ip)
		}
	}
	return ip, nil
}

// primary asks every known Sentinel which node is the primary and takes the
// answer of the highest configuration epoch: a Sentinel cut off from the
// majority still names the old primary, with the old epoch. The answer is
// cached for primaryTTL unless fresh.
func (a *addrs) primary(ctx context.Context, fresh bool) (prim, error) {
	a.mu.Lock()
	if !fresh && a.prim.ip != "" && time.Since(a.primAt) < primaryTTL {
		p := a.prim
		a.mu.Unlock()
		return p, nil
	}
	ips := append([]string(nil), a.known...)
	a.mu.Unlock()
	if len(ips) == 0 {
		return prim{}, errors.New("redis: no sentinel known yet")
	}
	sctx, cancel := context.WithTimeout(ctx, sentinelTimeout)
	defer cancel()
	answers, errs := targets.AskAll(sctx, ips, func(ctx context.Context, ip string) (prim, error) {
		m, err := a.sentinel(ip).Master(ctx, masterName).Result()
		if err != nil {
			return prim{}, err
		}
		e, _ := strconv.ParseInt(m["config-epoch"], 10, 64)
		return prim{ip: m["ip"], port: m["port"], epoch: e}, nil
	})
	var best prim
	for i, p := range answers {
		if errs[i] == nil && p.ip != "" && (best.ip == "" || p.epoch > best.epoch) {
			best = p
		}
	}
	if best.ip == "" {
		return prim{}, fmt.Errorf("redis: no sentinel names a primary: %w", errors.Join(errs...))
	}
	a.mu.Lock()
	a.prim, a.primAt = best, time.Now()
	a.mu.Unlock()
	return best, nil
}

// forget drops the cached primary, after an operation on it failed.
func (a *addrs) forget() {
	a.mu.Lock()
	a.primAt = time.Time{}
	a.mu.Unlock()
}

// locator finds where an operation goes: the primary the Sentinels name
// (addrs), or the node whose ROLE is master (Direct).
type locator interface {
	// primary returns the address (host:port) of the primary, for an
	// operation the load sent to base, and what to record as its version.
	primary(ctx context.Context, base string) (string, json.RawMessage, error)
	// forget drops a cached primary after an operation on it failed.
	forget()
	rdb(addr string) *goredis.Client
}

func (a *addrs) primaryFor(ctx context.Context, base string) (string, json.RawMessage, error) {
	a.ipOf(ctx, base) // a node down now is learned later; the others answer
	p, err := a.primary(ctx, false)
	if err != nil {
		return "", nil, err
	}
	return p.addr(), version(p), nil
}

// sentinels is addrs as a locator.
type sentinels struct{ *addrs }

func (s sentinels) primary(ctx context.Context, base string) (string, json.RawMessage, error) {
	return s.primaryFor(ctx, base)
}

// ClientOptions configure a register client.
type ClientOptions struct {
	// Key maps a workload key to the Redis key it uses; nil keeps it.
	Key func(string) string
	// Wait is the number of replicas each write waits for (WAIT); 0 sends
	// no WAIT. WaitTimeout bounds it (default 1s).
	Wait        int
	WaitTimeout time.Duration
	// ReadNode sends reads to the node the load chose, replica or not,
	// instead of the primary: a replica answers from its own copy.
	ReadNode bool
}

// client performs the register workload on the primary its locator finds.
type client struct {
	loc locator
	ClientOptions
}

var _ targets.Client = (*client)(nil)

func newClient(loc locator, o ClientOptions) *client {
	if o.Key == nil {
		o.Key = func(k string) string { return k }
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = time.Second
	}
	return &client{loc: loc, ClientOptions: o}
}

// casScript sets KEYS[1] to ARGV[2] if it holds ARGV[1]: Lua runs
// atomically on the primary.
// (EVAL with the source each time: a few dozen bytes, and a promoted
// replica needs no SCRIPT LOAD first.)
const casScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0`

func version(p prim) json.RawMessage {
	b, _ := json.Marshal(struct {
		Primary string `json:"primary"`
		Epoch   int64  `json:"epoch"`
	}{p.addr(), p.epoch})
	return b
}

// Do performs op on the current primary, whichever node the load chose
// (a read on that node itself with ReadNode).
func (c *client) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	key := c.Key(op.Key)
	if op.F == history.FRead && c.ReadNode {
		val, err := c.loc.rdb(hostPort(base)).Get(ctx, key).Result()
		return readOutcome(val, err, nil)
	}
	addr, v, err := c.loc.primary(ctx, base)
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	r := c.loc.rdb(addr)
	switch op.F {
	case history.FRead:
		val, err := r.Get(ctx, key).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			c.loc.forget()
		}
		return readOutcome(val, err, v)
	case history.FWrite, history.FCAS:
		var wait *goredis.Cmd
		var done goredis.Cmder
		_, err := r.Pipelined(ctx, func(pl goredis.Pipeliner) error {
			if op.F == history.FWrite {
				done = pl.Set(ctx, key, op.Value, 0)
			} else {
				done = pl.Eval(ctx, casScript, []string{key}, op.From, op.Value)
			}
			if c.Wait > 0 {
				wait = pl.Do(ctx, "WAIT", c.Wait, c.WaitTimeout.Milliseconds())
			}
			return nil
		})
		_ = err // each command carries its own error
		if err := done.Err(); err != nil {
			c.loc.forget()
			return classify(op.F, err, v)
		}
		if op.F == history.FCAS {
			if n, _ := done.(*goredis.Cmd).Int(); n != 1 {
				return targets.Outcome{Type: history.Fail, Error: "compare failed", Version: v}
			}
		}
		if wait != nil {
			n, err := wait.Int()
			if err != nil {
				return targets.Outcome{Type: history.Info, Error: "redis: wait: " + err.Error(), Version: v}
			}
			if n < c.Wait {
				return targets.Outcome{Type: history.Info, Version: v,
					Error: fmt.Sprintf("redis: wait: %d of %d replicas acknowledged within %v", n, c.Wait, c.WaitTimeout)}
			}
		}
		return targets.Outcome{Type: history.OK, Version: v}
	}
	return targets.Outcome{Type: history.Fail, Error: fmt.Sprintf("redis: unsupported operation %q", op.F)}
}

// readOutcome: an absent key is ok with no value; any error fails the
// read, which changed nothing.
func readOutcome(val string, err error, v json.RawMessage) targets.Outcome {
	switch {
	case errors.Is(err, goredis.Nil):
		return targets.Outcome{Type: history.OK, Version: v}
	case err != nil:
		return targets.Outcome{Type: history.Fail, Error: "redis: get: " + err.Error(), Version: v}
	}
	return targets.Outcome{Type: history.OK, Value: val, Version: v}
}

// classify decides the outcome of a write whose command failed: a reply
// from the server refusing it (READONLY from a demoted primary, LOADING,
// MASTERDOWN) applied nothing, nor did a connection never made; a timeout
// or a connection lost after sending may have come after the primary
// applied it.
func classify(what string, err error, v json.RawMessage) targets.Outcome {
	msg := "redis: " + what + ": " + err.Error()
	var re goredis.Error
	var ne *net.OpError
	switch {
	case errors.As(err, &re):
		return targets.Outcome{Type: history.Fail, Error: msg, Version: v}
	case errors.As(err, &ne) && ne.Op == "dial", errors.Is(err, goredis.ErrPoolTimeout), errors.Is(err, goredis.ErrClosed):
		return targets.Outcome{Type: history.Fail, Error: msg, Version: v}
	}
	return targets.Outcome{Type: history.Info, Error: msg, Version: v}
}
