package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/faultline/faultline/bench/workload/txn"
	"github.com/faultline/faultline/history"
	"github.com/faultline/faultline/targets"
)

const fTxn = txn.F

// Schema: a key lives in one table for a whole run (a workload is either
// list-append or rw-register), so a read asks both and answers with
// whichever holds the key.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS lists (k text PRIMARY KEY, v bigint[] NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS regs (k text PRIMARY KEY, v bigint)`,
}

const (
	sqlAppend = `INSERT INTO lists AS l (k, v) VALUES ($1, ARRAY[$2::bigint]) ON CONFLICT (k) DO UPDATE SET v = l.v || excluded.v`
	sqlWrite  = `INSERT INTO regs AS r (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v`
	sqlRead   = `SELECT (SELECT v FROM lists WHERE k = $1), (SELECT v FROM regs WHERE k = $1)`
)

// Roles of a node, learned once per endpoint: nothing here promotes a
// replica, and a restarted node comes back at a new endpoint (its published
// port changes), which is asked again.
const (
	roleUnknown int32 = iota
	rolePrimary
	roleReplica
)

// maxConns per node: enough transactions at once for contention to show.
const maxConns = 16

// roles is what the clients of one Target learned of its nodes' roles,
// shared so that the final phase's client knows the primary the load's
// client found.
type roles struct {
	mu       sync.Mutex
	of       map[string]int32
	primary  string   // the last endpoint that answered as primary
	replicas []string // endpoints that answered as replicas
}

func newRoles() *roles { return &roles{of: map[string]int32{}} }

func (r *roles) get(base string) int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.of[base]
}

func (r *roles) set(base string, role int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.of[base] == role {
		return
	}
	r.of[base] = role
	if role == rolePrimary {
		r.primary = base
	} else {
		r.replicas = append(r.replicas, base)
	}
}

// forget drops what was learned of base, which could not be reached: a
// restarted node comes back at a new endpoint, and an unreachable one is
// asked again when the load next sends to it.
func (r *roles) forget(base string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.of, base)
	if r.primary == base {
		r.primary = ""
	}
	for i, b := range r.replicas {
		if b == base {
			r.replicas = append(r.replicas[:i:i], r.replicas[i+1:]...)
			break
		}
	}
}

// client performs transactions over one pgx pool per node endpoint. Write
// transactions (and, unless replicaReads, every transaction) go to the
// primary, whichever node the load chose; with replicaReads a read-only
// transaction goes to a replica.
type client struct {
	iso          pgx.TxIsoLevel
	replicaReads bool
	schema       string // search_path; "" keeps the server's
	roles        *roles

	mu     sync.Mutex
	pools  map[string]*pgxpool.Pool
	closed bool
	rr     atomic.Uint64
}

var (
	_ targets.Client   = (*client)(nil)
	_ targets.Setupper = (*client)(nil)
)

func newClient(iso pgx.TxIsoLevel, replicaReads bool, r *roles) *client {
	return &client{iso: iso, replicaReads: replicaReads, roles: r, pools: map[string]*pgxpool.Pool{}}
}

// pool returns the pool of base, made on first use (pgxpool connects
// lazily).
func (c *client) pool(base string) (*pgxpool.Pool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.pools[base]; p != nil {
		return p, nil
	}
	if c.closed {
		return nil, errors.New("postgres: client closed")
	}
	cs, err := connString(base)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(cs)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.MaxConns = maxConns
	cfg.MinConns = 0
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	if c.schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = c.schema
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	c.pools[base] = p
	return p, nil
}

// roleOf asks base once whether it is in recovery (a replica).
func (c *client) roleOf(ctx context.Context, base string) (int32, error) {
	if r := c.roles.get(base); r != roleUnknown {
		return r, nil
	}
	p, err := c.pool(base)
	if err != nil {
		return roleUnknown, err
	}
	rctx, cancel := context.WithTimeout(ctx, roleTimeout)
	defer cancel()
	var rec bool
	if err := p.QueryRow(rctx, "SELECT pg_is_in_recovery()").Scan(&rec); err != nil {
		return roleUnknown, err
	}
	r := rolePrimary
	if rec {
		r = roleReplica
	}
	c.roles.set(base, r)
	return r, nil
}

// route picks the endpoint that performs a transaction the load sent to
// base, and says whether it is a replica.
func (c *client) route(ctx context.Context, base string, readOnly bool) (string, bool, error) {
	r, rerr := c.roleOf(ctx, base)
	if readOnly && c.replicaReads {
		if r == roleReplica {
			return base, true, nil
		}
		c.roles.mu.Lock()
		defer c.roles.mu.Unlock()
		if n := len(c.roles.replicas); n > 0 {
			return c.roles.replicas[c.rr.Add(1)%uint64(n)], true, nil
		}
		return base, false, nil // a 1-node cluster: the primary is all there is
	}
	if r == rolePrimary {
		return base, false, nil
	}
	c.roles.mu.Lock()
	p := c.roles.primary
	c.roles.mu.Unlock()
	if p != "" {
		return p, false, nil
	}
	if rerr != nil {
		return "", false, fmt.Errorf("no primary known yet (%s: %w)", base, rerr)
	}
	return "", false, fmt.Errorf("no primary known yet (%s is a replica)", base)
}

// Setup learns every node's role and creates the schema on the primary,
// then waits until the replicas have replayed it.
func (c *client) Setup(ctx context.Context, bases []string) error {
	var prim string
	var reps []string
	for _, b := range bases {
		r, err := c.roleOf(ctx, b)
		if err != nil {
			return fmt.Errorf("postgres: ask %s whether it is the primary: %w", b, err)
		}
		if r == rolePrimary {
			prim = b
		} else {
			reps = append(reps, b)
		}
	}
	if prim == "" {
		return fmt.Errorf("postgres: no node of %v answers as primary", bases)
	}
	pp, err := c.pool(prim)
	if err != nil {
		return err
	}
	stmts := schema
	if c.schema != "" {
		stmts = append([]string{"CREATE SCHEMA IF NOT EXISTS " + c.schema}, schema...)
	}
	for _, s := range stmts {
		if _, err := pp.Exec(ctx, s); err != nil {
			return fmt.Errorf("postgres: create the schema on %s: %w", prim, err)
		}
	}
	for _, b := range reps {
		rp, err := c.pool(b)
		if err != nil {
			return err
		}
		for {
			var ok bool
			err := rp.QueryRow(ctx, `SELECT to_regclass('lists') IS NOT NULL AND to_regclass('regs') IS NOT NULL`).Scan(&ok)
			if err == nil && ok {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("postgres: replica %s has not replayed the schema: %w", b, errors.Join(err, ctx.Err()))
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Close closes every pool.
func (c *client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for _, p := range c.pools {
		p.Close()
	}
	c.pools = map[string]*pgxpool.Pool{}
	return nil
}

// mop is a decoded micro-operation with its integer value.
type mop struct {
	f, k string
	v    int64
}

// Do performs op as one SQL transaction and classifies the outcome:
//
//   - ok: committed, with every read filled in (a list as a JSON array, a
//     register as its number, an absent key as null);
//   - fail: it certainly did not commit. Everything before COMMIT is sent:
//     the pool refused or could not connect, BEGIN or a statement failed,
//     or the context ended (PostgreSQL commits only on COMMIT, and pgx
//     closes a connection whose query it abandons, which aborts the
//     transaction). A COMMIT the server answered with an error
//     (serialization_failure 40001, deadlock_detected 40P01, or a rollback
//     of an aborted transaction). Any error of a read-only transaction;
//   - info: COMMIT was sent and no answer came (timeout, connection lost):
//     it may have committed.
func (c *client) Do(ctx context.Context, op *history.Event, base string) targets.Outcome {
	if op.F != fTxn {
		return targets.Outcome{Type: history.Fail, Error: fmt.Sprintf("postgres: unsupported operation %q", op.F)}
	}
	mops, err := decode(op.Data)
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	readOnly := true
	for _, m := range mops {
		readOnly = readOnly && m.f == txn.Read
	}
	at, replica, err := c.route(ctx, base, readOnly)
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	pool, err := c.pool(at)
	if err != nil {
		return targets.Outcome{Type: history.Fail, Error: err.Error()}
	}
	version := json.RawMessage(`"primary"`) // which kind of node served it
	if replica {
		version = json.RawMessage(`"replica"`)
	}
	opts := pgx.TxOptions{IsoLevel: c.iso}
	if readOnly {
		opts.AccessMode = pgx.ReadOnly
		// A hot standby cannot run serializable transactions; its
		// snapshots are repeatable read ones of the primary's past, which
		// is exactly what replica-reads is expected to show.
		if replica && c.iso == pgx.Serializable {
			opts.IsoLevel = pgx.RepeatableRead
		}
	}
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			c.roles.forget(at)
		}
		return failed(err)
	}
	reads := make([]json.RawMessage, len(mops))
	for i, m := range mops {
		if err := perform(ctx, tx, m, &reads[i]); err != nil {
			rollback(ctx, tx)
			return failed(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		var pe *pgconn.PgError
		switch {
		case readOnly, errors.As(err, &pe), errors.Is(err, pgx.ErrTxCommitRollback):
			// Answered by the server (a rollback), or nothing to commit.
			return failed(err)
		}
		// Anything else, "safe to retry" included, may have committed: a
		// kill of the primary mid-commit once gave a G1a (an append recorded
		// as fail that a later read showed) when such errors counted as fail.
		return targets.Outcome{Type: history.Info, Error: "commit: " + err.Error(), Version: version}
	}
	return targets.Outcome{Type: history.OK, Data: encode(mops, reads), Version: version}
}

func perform(ctx context.Context, tx pgx.Tx, m mop, read *json.RawMessage) error {
	switch m.f {
	case txn.Append:
		_, err := tx.Exec(ctx, sqlAppend, m.k, m.v)
		return err
	case txn.Write:
		_, err := tx.Exec(ctx, sqlWrite, m.k, m.v)
		return err
	}
	var list []int64
	var reg *int64
	if err := tx.QueryRow(ctx, sqlRead, m.k).Scan(&list, &reg); err != nil {
		return err
	}
	switch {
	case list != nil:
		*read, _ = json.Marshal(list)
	case reg != nil:
		*read = strconv.AppendInt(nil, *reg, 10)
	default:
		*read = json.RawMessage("null")
	}
	return nil
}

// rollback ends a failed transaction; the connection is dropped when it
// cannot (pgx closes it).
func rollback(ctx context.Context, tx pgx.Tx) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_ = tx.Rollback(rctx)
}

func failed(err error) targets.Outcome {
	msg := err.Error()
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg = pe.Code + " " + pe.Message
	}
	return targets.Outcome{Type: history.Fail, Error: msg}
}

func decode(data []byte) ([]mop, error) {
	ms, err := txn.Decode(data)
	if err != nil {
		return nil, err
	}
	out := make([]mop, len(ms))
	for i, m := range ms {
		out[i] = mop{f: m.F, k: m.Key}
		switch m.F {
		case txn.Read:
		case txn.Append, txn.Write:
			v, err := strconv.ParseInt(string(m.Value), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("postgres: %s %s: value %s is not an integer", m.F, m.Key, m.Value)
			}
			out[i].v = v
		default:
			return nil, fmt.Errorf("postgres: unknown micro-operation %q (want append, r, w)", m.F)
		}
	}
	return out, nil
}

// encode is the transaction with its reads filled in.
func encode(ms []mop, reads []json.RawMessage) json.RawMessage {
	out := make([]txn.Mop, len(ms))
	for i, m := range ms {
		out[i] = txn.Mop{F: m.f, Key: m.k}
		if m.f == txn.Read {
			out[i].Value = reads[i]
		} else {
			out[i].Value = strconv.AppendInt(nil, m.v, 10)
		}
	}
	return txn.Encode(out)
}
