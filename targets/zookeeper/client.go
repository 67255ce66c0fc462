package zookeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

// sessionTimeout is the ZooKeeper session of each client connection: short,
// so that a connection to a member cut off from the quorum expires and the
// next operation reconnects.
const sessionTimeout = 4 * time.Second // 2 ticks, the least the server grants

// sessionWait bounds how long an operation waits for a new connection's
// session before it fails unsent.
const sessionWait = 2 * time.Second

// client keeps ZooKeeper connections per member endpoint, so that each
// operation is performed by the member the load chose: one session for
// writes and cas, another for reads. ZooKeeper answers a session's requests
// in order, so a read sharing a session with a write the member cannot
// commit (it is cut off from the leader) would wait behind it; a session of
// its own is what a reading client has, and plain reads on it are served by
// that member alone.
type client struct {
	sync bool
	path func(string) string

	mu    sync.Mutex
	conns map[string]*zk.Conn
}

var _ targets.Client = (*client)(nil)

func newClient(syncReads bool) *client {
	return &client{sync: syncReads, path: path, conns: map[string]*zk.Conn{}}
}

// ClientOptions configure a register client made outside this package's
// target (targets/spec).
type ClientOptions struct {
	// Sync makes a read sync + get (linearizable); without it a read is a
	// plain get from the member the load chose.
	Sync bool
	// Path maps a workload key to its znode, one level under an existing
	// parent (the root by default); nil: /faultline-<key, escaped>.
	Path func(string) string
}

// NewClient returns a register client on the members the load names.
func NewClient(o ClientOptions) targets.Client {
	c := newClient(o.Sync)
	if o.Path != nil {
		c.path = o.Path
	}
	return c
}

var quiet = zk.WithLogger(log.New(discard{}, "", 0))

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// conn returns the connection to base, made on first use. A connection that
// ended (closed, or its session expired) is replaced.
func (c *client) conn(base string, reads bool) (*zk.Conn, error) {
	key := base + " w"
	if reads {
		key = base + " r"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cn := c.conns[key]; cn != nil {
		if s := cn.State(); s != zk.StateDisconnected && s != zk.StateExpired {
			return cn, nil
		}
		cn.Close()
		delete(c.conns, key)
	}
	hp, err := hostPort(base)
	if err != nil {
		return nil, err
	}
	cn, _, err := zk.Connect([]string{hp}, sessionTimeout, quiet, zk.WithLogInfo(false))
	if err != nil {
		return nil, fmt.Errorf("zookeeper: connect %s: %w", hp, err)
	}
	c.conns[key] = cn
	return cn, nil
}

// Close ends every connection.
func (c *client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for b, cn := range c.conns {
		cn.Close()
		delete(c.conns, b)
	}
	return nil
}

// session waits (briefly) until cn has a session: an operation queued on a
// connection without one would be sent whenever it reconnects, after the
// client gave up on it.
func session(ctx context.Context, cn *zk.Conn) bool {
	deadline := time.Now().Add(sessionWait)
	for cn.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// path is the znode of a register key: one flat level under the root, the
// key's bytes escaped so that any key is a valid name.
func path(key string) string {
	var b strings.Builder
	b.WriteString("/faultline-")
	for i := 0; i < len(key); i++ {
		ch := key[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_', ch == '.':
			b.WriteByte(ch)
		default:
			fmt.Fprintf(&b, "%%%02x", ch)
		}
	}
	return b.String()
}

// version is Outcome.Version: the zxid that last modified the znode (and
// the one that created it).
func version(st *zk.Stat) json.RawMessage {
	if st == nil {
		return nil
	}
	b, _ := json.Marshal(struct {
		Mzxid int64 `json:"mzxid"`
		Czxid int64 `json:"czxid"`
	}{st.Mzxid, st.Czxid})
	return b
}

// Do performs op on the member at base. go-zookeeper's calls take no
// context, so each runs in a goroutine and Do returns when ctx ends: info
// for a write that was sent, fail for a read.
func (c *client) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	cn, err := c.conn(base, op.F == history.FRead)
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	if !session(ctx, cn) {
		return targets.Outcome{Type: history.Fail, Error: "zookeeper: not connected (no session), nothing sent"}
	}
	done := make(chan targets.Outcome, 1)
	go func() { done <- c.do(cn, op) }()
	select {
	case out := <-done:
		return out
	case <-ctx.Done():
		if op.F == history.FRead {
			return targets.Outcome{Type: history.Fail, Error: "zookeeper: read timed out: " + ctx.Err().Error()}
		}
		return targets.Outcome{Type: history.Info, Error: "zookeeper: timed out after sending: " + ctx.Err().Error()}
	}
}

func (c *client) do(cn *zk.Conn, op *history.Event) targets.Outcome {
	p := c.path(op.Key)
	switch op.F {
	case history.FRead:
		if c.sync {
			if _, err := cn.Sync(p); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return targets.Outcome{Type: history.Fail, Error: "zookeeper: sync: " + err.Error()}
			}
		}
		data, st, err := cn.Get(p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return targets.Outcome{Type: history.OK} // absent
		case err != nil:
			return targets.Outcome{Type: history.Fail, Error: "zookeeper: get: " + err.Error()}
		}
		return targets.Outcome{Type: history.OK, Value: string(data), Version: version(st)}
	case history.FWrite:
		return c.write(cn, p, []byte(op.Value))
	case history.FCAS:
		data, st, err := cn.Get(p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return targets.Outcome{Type: history.Fail, Error: "compare failed: absent"}
		case err != nil:
			return targets.Outcome{Type: history.Fail, Error: "zookeeper: cas get: " + err.Error()}
		case string(data) != op.From:
			return targets.Outcome{Type: history.Fail, Error: "compare failed", Version: version(st)}
		}
		st2, err := cn.Set(p, []byte(op.Value), st.Version)
		if err != nil {
			return writeErr("cas set", err)
		}
		return targets.Outcome{Type: history.OK, Version: version(st2)}
	}
	return targets.Outcome{Type: history.Fail, Error: fmt.Sprintf("zookeeper: unsupported operation %q", op.F)}
}

// write sets the znode whatever its version, creating it when absent (and
// setting it after all if another client created it meanwhile).
func (c *client) write(cn *zk.Conn, p string, v []byte) targets.Outcome {
	for range 3 {
		st, err := cn.Set(p, v, -1)
		if err == nil {
			return targets.Outcome{Type: history.OK, Version: version(st)}
		}
		if !errors.Is(err, zk.ErrNoNode) {
			return writeErr("set", err)
		}
		_, err = cn.Create(p, v, 0, zk.WorldACL(zk.PermAll))
		if err == nil {
			return targets.Outcome{Type: history.OK}
		}
		if !errors.Is(err, zk.ErrNodeExists) {
			return writeErr("create", err)
		}
	}
	return targets.Outcome{Type: history.Fail, Error: "zookeeper: write: the znode kept being created and deleted"}
}

// writeErr classifies the error of a write that was sent: a version
// conflict or a refusal applied nothing (fail); a lost connection or an
// expired session may have come after the server applied it (info).
func writeErr(what string, err error) targets.Outcome {
	msg := "zookeeper: " + what + ": " + err.Error()
	switch {
	case errors.Is(err, zk.ErrBadVersion):
		return targets.Outcome{Type: history.Fail, Error: "compare failed: " + msg}
	case errors.Is(err, zk.ErrNoNode), errors.Is(err, zk.ErrNodeExists), errors.Is(err, zk.ErrNoAuth),
		errors.Is(err, zk.ErrInvalidACL), errors.Is(err, zk.ErrBadArguments), errors.Is(err, zk.ErrInvalidPath):
		return targets.Outcome{Type: history.Fail, Error: msg}
	}
	return targets.Outcome{Type: history.Info, Error: msg}
}
