// Package node is raftkv's server: a key-value map replicated with
// hashicorp/raft, served over the kvapi HTTP protocol. Writes and
// compare-and-set go through the raft log; reads are linearizable: they are
// served by the leader after a barrier (a log entry of the current term that
// commits only while the leader still holds a quorum).
//
// Bugs, each a classic, can be switched on to prove that Faultline catches them:
//
//	stale-reads        any node serves reads from its local state, no barrier
//	ack-before-commit  the leader acknowledges a write before it commits
//	non-atomic-cas     cas is a linearizable read then a separate write
//	non-atomic-txn     a transaction's micro-operations are applied one by one,
//	                   each its own log entry, so others see it half done
//	no-fsync           the raft log store never fsyncs (raft-boltdb NoSync):
//	                   writes are acknowledged before they are on disk
//	lease-reads        a node that led serves reads from its local state,
//	                   without a barrier, while its lease lasts by its own
//	                   clock: safe while clocks keep time, stale when its
//	                   clock jumps or strobes (clock faults)
//
// Transactions (POST /txn, kvapi) are one log entry each: the state machine
// applies every micro-operation in order and answers with the reads filled
// in, so they are strictly serializable.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/faultline/faultline/targets/kvapi"
)

// Bugs raftkv can be told to have.
const (
	BugStaleReads      = "stale-reads"
	BugAckBeforeCommit = "ack-before-commit"
	BugNonAtomicCAS    = "non-atomic-cas"
	BugNonAtomicTxn    = "non-atomic-txn"
	BugNoFsync         = "no-fsync"
	BugLeaseReads      = "lease-reads"
)

// Bugs lists the known bugs.
var Bugs = []string{BugStaleReads, BugAckBeforeCommit, BugNonAtomicCAS, BugNonAtomicTxn, BugNoFsync, BugLeaseReads}

// Peer is a member of the cluster.
type Peer struct {
	ID   string
	Raft string // host:port of its raft transport
	HTTP string // host:port of its HTTP API
}

// Config configures a node.
type Config struct {
	ID      string
	Peers   []Peer // all members, this node included
	DataDir string
	// RaftBind and HTTPBind are the listen addresses (e.g. 0.0.0.0:7000).
	RaftBind string
	HTTPBind string
	Bug      string
	Log      io.Writer
}

// Node is a running raftkv member.
type Node struct {
	cfg   Config
	raft  *raft.Raft
	fsm   *fsm
	http  *http.Server
	peers map[raft.ServerID]Peer
	logs  *log.Logger
	trans *raft.NetworkTransport
	store *raftboltdb.BoltStore

	// lease is until when this node may serve reads locally (lease-reads).
	leaseMu sync.Mutex
	lease   time.Time
	stop    chan struct{}
}

// ParsePeers reads "n1=host:raftport:httpport,n2=...".
func ParsePeers(s string) ([]Peer, error) {
	var out []Peer
	for _, part := range strings.Split(s, ",") {
		id, rest, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("peer %q: want id=host:raftport:httpport", part)
		}
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			return nil, fmt.Errorf("peer %q: want id=host:raftport:httpport", part)
		}
		raftAddr, httpPort := rest[:i], rest[i+1:]
		host, _, err := net.SplitHostPort(raftAddr)
		if err != nil {
			return nil, fmt.Errorf("peer %q: %w", part, err)
		}
		out = append(out, Peer{ID: id, Raft: raftAddr, HTTP: net.JoinHostPort(host, httpPort)})
	}
	return out, nil
}

// Start opens the stores, starts raft (bootstrapping the cluster on first
// start) and serves HTTP. It returns once both listen.
func Start(cfg Config) (*Node, error) {
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	switch cfg.Bug {
	case "", BugStaleReads, BugAckBeforeCommit, BugNonAtomicCAS, BugNonAtomicTxn, BugNoFsync, BugLeaseReads:
	default:
		return nil, fmt.Errorf("unknown bug %q (known: %s)", cfg.Bug, strings.Join(Bugs, ", "))
	}
	n := &Node{cfg: cfg, fsm: &fsm{data: map[string]string{}}, peers: map[raft.ServerID]Peer{}, stop: make(chan struct{}),
		logs: log.New(cfg.Log, "raftkv "+cfg.ID+" ", log.LstdFlags|log.Lmicroseconds)}
	var self *Peer
	var servers []raft.Server
	for i, p := range cfg.Peers {
		n.peers[raft.ServerID(p.ID)] = p
		servers = append(servers, raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Raft)})
		if p.ID == cfg.ID {
			self = &cfg.Peers[i]
		}
	}
	if self == nil {
		return nil, fmt.Errorf("node %s is not among the peers", cfg.ID)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = 500 * time.Millisecond
	rc.ElectionTimeout = 500 * time.Millisecond
	rc.LeaderLeaseTimeout = 250 * time.Millisecond
	rc.CommitTimeout = 20 * time.Millisecond
	rc.LogOutput = cfg.Log

	// The bug no-fsync: the log is acknowledged once written, not once on
	// disk; a crash that loses the page cache loses committed entries.
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft.db"), NoSync: cfg.Bug == BugNoFsync})
	if err != nil {
		return nil, fmt.Errorf("open raft store: %w", err)
	}
	n.store = store
	snaps, err := raft.NewFileSnapshotStore(cfg.DataDir, 2, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("open snapshot store: %w", err)
	}
	adv, err := resolve(self.Raft, 30*time.Second)
	if err != nil {
		return nil, err
	}
	trans, err := raft.NewTCPTransport(cfg.RaftBind, adv, 3, 5*time.Second, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("raft transport: %w", err)
	}
	n.trans = trans
	exists, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		return nil, err
	}
	r, err := raft.NewRaft(rc, n.fsm, store, store, snaps, trans)
	if err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	n.raft = r
	if !exists {
		// Every member bootstraps with the same configuration; raft accepts
		// that and the first election decides.
		if err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return nil, fmt.Errorf("bootstrap: %w", err)
		}
	}
	ln, err := net.Listen("tcp", cfg.HTTPBind)
	if err != nil {
		return nil, fmt.Errorf("listen http: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/kv/", n.handleKV)
	mux.HandleFunc("/txn", n.handleTxn)
	mux.HandleFunc("/health", n.handleHealth)
	mux.HandleFunc("/status", n.handleStatus)
	n.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.logs.Printf("http: %v", err)
		}
	}()
	if cfg.Bug == BugLeaseReads {
		go n.renewLease()
	}
	n.logs.Printf("started: raft %s, http %s, bug %q, existing state %v", self.Raft, cfg.HTTPBind, cfg.Bug, exists)
	return n, nil
}

// resolve waits for a peer name to resolve (container DNS may lag start-up).
func resolve(addr string, patience time.Duration) (*net.TCPAddr, error) {
	deadline := time.Now().Add(patience)
	for {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err == nil {
			return a, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("resolve %s: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Close stops serving and shuts raft down.
func (n *Node) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	close(n.stop)
	return errors.Join(n.http.Shutdown(ctx), n.raft.Shutdown().Error(), n.trans.Close(), n.store.Close())
}

// applyTimeout bounds how long a write waits to be committed; past it the
// answer is 504: the write may or may not commit later.
const applyTimeout = 5 * time.Second

func (n *Node) handleHealth(w http.ResponseWriter, _ *http.Request) {
	if addr, _ := n.raft.LeaderWithID(); addr == "" {
		http.Error(w, "no leader", http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

func (n *Node) handleStatus(w http.ResponseWriter, _ *http.Request) {
	_, id := n.raft.LeaderWithID()
	json.NewEncoder(w).Encode(kvapi.Status{ID: n.cfg.ID, Leader: string(id)})
}

func (n *Node) handleKV(w http.ResponseWriter, r *http.Request) {
	key, ok := kvapi.Key(r)
	if !ok {
		http.Error(w, "bad key", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		if n.cfg.Bug == BugStaleReads || n.cfg.Bug == BugLeaseReads && n.leased() {
			n.readLocal(w, key)
			return
		}
		if n.forward(w, r) {
			return
		}
		if err := n.raft.Barrier(applyTimeout).Error(); err != nil {
			http.Error(w, "read barrier: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		n.readLocal(w, key)
	case http.MethodPut:
		if n.forward(w, r) {
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c := command{Op: "put", Key: key, Value: string(body)}
		if from, ok := r.URL.Query()["if"]; ok {
			c.Op, c.From = "cas", from[0]
			if n.cfg.Bug == BugNonAtomicCAS {
				n.casNonAtomic(w, c)
				return
			}
		}
		n.apply(w, c)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// leaseTime is how long a lease lasts from the moment before the barrier
// that granted it: shorter than the shortest time the followers wait
// without hearing from a leader before electing another (HeartbeatTimeout,
// 500 ms), so that with clocks that keep time no other leader can commit
// while the lease lasts.
const leaseTime = 300 * time.Millisecond

// renewLease is the lease-reads bug's leader lease: every 50 ms the leader
// commits a barrier (a quorum heard from it, and its state machine is up to
// date) and takes a lease from the moment before it, by its own clock.
func (n *Node) renewLease() {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if n.raft.State() != raft.Leader {
			continue
		}
		start := time.Now()
		if n.raft.Barrier(leaseTime).Error() == nil {
			// A lease is only ever extended.
			n.leaseMu.Lock()
			if l := start.Add(leaseTime); l.After(n.lease) {
				n.lease = l
			}
			n.leaseMu.Unlock()
		}
	}
}

// leased says whether the lease lasts, by this node's clock. The bug: the
// node trusts it even once it no longer leads, and its clock may be wrong.
func (n *Node) leased() bool {
	n.leaseMu.Lock()
	defer n.leaseMu.Unlock()
	return time.Now().Before(n.lease)
}

func (n *Node) readLocal(w http.ResponseWriter, key string) {
	v, ok := n.fsm.get(key)
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	io.WriteString(w, v)
}

func (n *Node) apply(w http.ResponseWriter, c command) {
	b, _ := json.Marshal(c)
	f := n.raft.Apply(b, applyTimeout)
	if n.cfg.Bug == BugAckBeforeCommit && c.Op == "put" {
		// The bug: the entry is only in the leader's log; if the leader is
		// cut off or dies now, the acknowledged write is lost.
		go f.Error()
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := f.Error(); err != nil {
		code := http.StatusGatewayTimeout // submitted: it may still commit
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrEnqueueTimeout) {
			code = http.StatusServiceUnavailable
		}
		http.Error(w, "apply: "+err.Error(), code)
		return
	}
	if ok, _ := f.Response().(bool); !ok {
		http.Error(w, "compare failed", http.StatusPreconditionFailed)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// casNonAtomic is the bug: the comparison and the write are two steps, and
// another write can slip in between.
func (n *Node) casNonAtomic(w http.ResponseWriter, c command) {
	if err := n.raft.Barrier(applyTimeout).Error(); err != nil {
		http.Error(w, "read barrier: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	if v, _ := n.fsm.get(c.Key); v != c.From {
		http.Error(w, "compare failed", http.StatusPreconditionFailed)
		return
	}
	time.Sleep(5 * time.Millisecond) // the window the bug lives in
	n.apply(w, command{Op: "put", Key: c.Key, Value: c.Value})
}

// handleTxn performs a transaction: one log entry applied atomically by the
// state machine (or, with the non-atomic-txn bug, one entry per
// micro-operation; with stale-reads, a read-only transaction is served from
// the local state by any node).
func (n *Node) handleTxn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var mops []kvapi.Mop
	if err == nil {
		err = json.Unmarshal(body, &mops)
	}
	if err != nil || len(mops) == 0 {
		http.Error(w, fmt.Sprintf("bad transaction: %v", err), http.StatusBadRequest)
		return
	}
	if n.cfg.Bug == BugStaleReads && kvapi.ReadOnly(mops) {
		f := n.fsm
		f.mu.RLock()
		out, err := kvapi.ApplyTxn(mops, f.data)
		f.mu.RUnlock()
		writeTxn(w, out, err)
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	if n.forward(w, r) {
		return
	}
	if n.cfg.Bug == BugNonAtomicTxn {
		var done []kvapi.Mop
		for i := range mops {
			out, code, err := n.applyTxn(mops[i : i+1])
			if err != nil {
				http.Error(w, err.Error(), code)
				return
			}
			done = append(done, out...)
			time.Sleep(2 * time.Millisecond) // the window the bug lives in
		}
		writeTxn(w, done, nil)
		return
	}
	out, code, err := n.applyTxn(mops)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	writeTxn(w, out, nil)
}

func (n *Node) applyTxn(mops []kvapi.Mop) ([]kvapi.Mop, int, error) {
	b, _ := json.Marshal(command{Op: "txn", Txn: mops})
	f := n.raft.Apply(b, applyTimeout)
	if err := f.Error(); err != nil {
		code := http.StatusGatewayTimeout // submitted: it may still commit
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrEnqueueTimeout) {
			code = http.StatusServiceUnavailable
		}
		return nil, code, fmt.Errorf("apply: %w", err)
	}
	switch v := f.Response().(type) {
	case []kvapi.Mop:
		return v, http.StatusOK, nil
	case error:
		return nil, http.StatusBadRequest, v
	}
	return nil, http.StatusInternalServerError, errors.New("apply: no answer")
}

func writeTxn(w http.ResponseWriter, out []kvapi.Mop, err error) {
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// forward proxies the request to the leader when this node does not lead; it
// reports whether it handled the request.
func (n *Node) forward(w http.ResponseWriter, r *http.Request) bool {
	if n.raft.State() == raft.Leader {
		return false
	}
	_, id := n.raft.LeaderWithID()
	p, ok := n.peers[id]
	if id == "" || !ok {
		http.Error(w, "no leader", http.StatusServiceUnavailable)
		return true
	}
	target := &url.URL{Scheme: "http", Host: p.HTTP}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = forwardTransport
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		// The request may have reached the leader: 502 keeps a write unknown.
		http.Error(w, "forward to "+string(id)+": "+err.Error(), http.StatusBadGateway)
	}
	proxy.ServeHTTP(w, r)
	return true
}

var forwardTransport = &http.Transport{
	DialContext:           (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
	ResponseHeaderTimeout: 8 * time.Second,
	MaxIdleConnsPerHost:   64,
}

// command is one raft log entry.
type command struct {
	Op    string `json:"op"`
	Key   string `json:"key"`
	Value string `json:"value"`
	From  string `json:"from,omitempty"`
	// Txn is a transaction's micro-operations (Op "txn").
	Txn []kvapi.Mop `json:"txn,omitempty"`
}

type fsm struct {
	mu   sync.RWMutex
	data map[string]string
}

func (f *fsm) get(k string) (string, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	v, ok := f.data[k]
	return v, ok
}

// Apply returns true when the command took effect (a cas whose comparison
// failed returns false).
func (f *fsm) Apply(l *raft.Log) interface{} {
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch c.Op {
	case "put":
		f.data[c.Key] = c.Value
		return true
	case "cas":
		if f.data[c.Key] != c.From {
			return false
		}
		f.data[c.Key] = c.Value
		return true
	case "txn":
		out, err := kvapi.ApplyTxn(c.Txn, f.data)
		if err != nil {
			return err
		}
		return out
	}
	return false
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := json.Marshal(f.data)
	return snapshot(b), err
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data := map[string]string{}
	if err := json.NewDecoder(rc).Decode(&data); err != nil {
		return err
	}
	f.mu.Lock()
	f.data = data
	f.mu.Unlock()
	return nil
}

type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (snapshot) Release() {}
